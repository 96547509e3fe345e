"""The papers' test protocols: BSD200 by name (EMTCM 4.1) in its own archive layout, and the MSFM GAN's
choice of evaluation degradation (plain bicubic as its tables; the training blur as an option)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from helpers.standins import write_images
from sr_zoo.data import SRDataModule
from sr_zoo.data.degradation import degrade
from sr_zoo.data.eval_sets import make_lr, modcrop
from sr_zoo.data.sources import resolve_benchmark
from sr_zoo.errors import DatasetError
from sr_zoo.files.images import read_image


def test_bsd200_by_name_in_the_bsds500_layout(tmp_path: Path) -> None:
    write_images(tmp_path / "BSR" / "BSDS500" / "data" / "images" / "test", ext="jpg", size=(40, 44))
    assert resolve_benchmark("bsd200", tmp_path) == tmp_path / "BSR" / "BSDS500" / "data" / "images" / "test"
    write_images(tmp_path / "plain" / "BSD200", size=(40, 44))
    assert resolve_benchmark("bsd200", tmp_path / "plain") == tmp_path / "plain" / "BSD200"
    with pytest.raises(DatasetError, match=r"^test set 'bsd200': .*nowhere/bsds500: dataset 'bsds500' not found and "
                                           r"could not be downloaded \(downloading is turned off\)"):
        resolve_benchmark("bsd200", tmp_path / "nowhere", download=False)  # missing: fetched, or an error


def _val_lr(tmp_path: Path, **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
    dm = SRDataModule(train=["demo"], val=[str(tmp_path / "Set5")], scale=4, recipe="msfmgan", num_workers=0,
                      root=str(tmp_path), **kwargs)
    dm.setup("validate")
    item = dm.val_sets[0][0]
    return item["lr"], item["hr"]


def test_msfmgan_scores_on_plain_bicubic_unless_told_otherwise(tmp_path: Path) -> None:
    write_images(tmp_path / "Set5", n=1, size=(40, 44))
    hr = modcrop(read_image(tmp_path / "Set5" / "0.png"), 4)
    lr, served_hr = _val_lr(tmp_path)
    assert torch.equal(served_hr, hr)
    assert torch.equal(lr, make_lr(hr, 4))  # the tables' protocol, whatever the training blur
    blurred, _ = _val_lr(tmp_path, eval_degradation="train")
    assert torch.equal(blurred, degrade(hr, 4, "gaussian-bicubic", 1.0))  # the recipe's sigma 1.0 blur
    assert (blurred - lr).abs().max() > 0.01
