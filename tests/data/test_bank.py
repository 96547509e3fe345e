"""The patch bank (``sr_zoo.data.bank``): the authors' sub-image grid, made once per content, served by a gather."""

from __future__ import annotations

import json
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import Callback

from helpers.standins import position_image, source_coordinates, write_images, write_rgb
from sr_zoo.data import PatchDataset, SRDataModule
from sr_zoo.data import bank as bank_module
from sr_zoo.data.bank import BankDataset, bank_rows, open_bank
from sr_zoo.data.sampling import SampleKey
from sr_zoo.data.sources import Record
from sr_zoo.errors import DatasetError
from sr_zoo.ops import imresize, quantize, rgb_to_y


def _dataset(tmp_path: Path, scale: int = 3, **kwargs: object) -> PatchDataset:
    if not (tmp_path / "img" / "pos.png").exists():
        write_rgb(tmp_path / "img" / "pos.png", position_image(101, 70))
    return PatchDataset([Record(tmp_path / "img" / "pos.png")], scale, 6 * scale, lr_from_image=True, augment=False,
                        **kwargs)


def _rows(folder: Path) -> dict[str, torch.Tensor]:
    dataset = BankDataset(folder, samples_per_epoch=1)
    return {name: torch.from_numpy(np.array(array)) for name, array in dataset.arrays.items()}


def test_the_bank_holds_the_authors_sub_images(tmp_path: Path) -> None:
    """Row by row, in the authors' loop order (each view; LR offsets 0, n, 2n ... down, then across): the f x f
    region of the whole image's MATLAB-bicubic LR (modcropped 101x70 -> 99x69 at x3) and the HR block at s times
    its offset, under the offline rotations."""
    scale, f, stride = 3, 6, 4
    dataset = _dataset(tmp_path, scale, offline_rotations=(0, 1))
    layout = bank_module.build_bank(dataset, stride, 3, tmp_path, progress=False)
    rows = _rows(tmp_path)
    image = torch.from_numpy(position_image(99, 69)).permute(2, 0, 1).float()[None] / 255
    whole_lr = quantize(imresize(image, scale=1 / scale))[0]
    expected_hr, expected_lr = [], []
    for turns in (0, 1):
        hr, lr = torch.rot90(image[0], turns, (1, 2)), torch.rot90(whole_lr, turns, (1, 2))
        for top in range(0, lr.shape[1] - f + 1, stride):  # MATLAB: for x = 1 : stride : hei - size_input + 1
            for left in range(0, lr.shape[2] - f + 1, stride):
                expected_lr.append(lr[:, top : top + f, left : left + f])
                expected_hr.append(hr[:, top * scale : (top + f) * scale, left * scale : (left + f) * scale])
    assert layout.count == len(expected_lr) == sum(bank_rows(dataset, stride)) == (7 * 5) * 2  # LR 33x23
    hr_rows = rows["hr"].permute(0, 3, 1, 2).float() / 255
    assert torch.equal(hr_rows, torch.stack(expected_hr))
    assert torch.equal(rows["lr"].permute(0, 3, 1, 2).float() / 255, torch.stack(expected_lr))
    ys, xs = source_coordinates(hr_rows[1])  # the second sub-image: one stride to the right, on the HR grid
    assert (ys.min(), xs.min()) == (0, stride * scale)


def test_a_y_bank_is_the_rounded_y_of_the_rgb_one(tmp_path: Path) -> None:
    """Y rows are MATLAB's ``rgb2ycbcr`` of the 8-bit RGB rows, rounded to 8 bits as it rounds a uint8 image."""
    dataset = _dataset(tmp_path)
    (tmp_path / "rgb").mkdir()
    (tmp_path / "y").mkdir()
    bank_module.build_bank(dataset, 5, 3, tmp_path / "rgb", progress=False)
    bank_module.build_bank(dataset, 5, 1, tmp_path / "y", progress=False)
    rgb, y = _rows(tmp_path / "rgb"), _rows(tmp_path / "y")
    for name in ("hr", "lr"):
        expected = torch.round(rgb_to_y(rgb[name].permute(0, 3, 1, 2).float() / 255) * 255)
        assert torch.equal(y[name].permute(0, 3, 1, 2).float(), expected)


def test_a_bank_is_made_once_per_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builds = []
    build = bank_module.build_bank
    monkeypatch.setattr(bank_module, "build_bank", lambda *a, **k: builds.append(1) or build(*a, **k))
    dataset = _dataset(tmp_path)
    first = open_bank(dataset, 4, 1, tmp_path / "banks", progress=False)
    assert open_bank(_dataset(tmp_path), 4, 1, tmp_path / "banks", progress=False) == first and len(builds) == 1
    assert json.loads((first / "bank.json").read_text())["count"] == sum(bank_rows(dataset, 4))
    other_stride = open_bank(dataset, 5, 1, tmp_path / "banks", progress=False)
    write_rgb(tmp_path / "img" / "pos.png", 255 - position_image(101, 70))  # same name and size, other pixels
    other_pixels = open_bank(_dataset(tmp_path), 4, 1, tmp_path / "banks", progress=False)
    assert len({first, other_stride, other_pixels}) == 3 and len(builds) == 3
    assert not list((tmp_path / "banks").glob(".*tmp*"))  # built in a temporary folder, renamed into place


def test_a_bank_cut_short_is_made_again(tmp_path: Path) -> None:
    """A bank whose array file lost its end (a disk filled by something else, a deleted file) is rebuilt, not read."""
    folder = open_bank(_dataset(tmp_path), 4, 1, tmp_path / "banks", progress=False)
    whole = (folder / "hr.u8").read_bytes()
    (folder / "hr.u8").write_bytes(whole[:100])
    assert open_bank(_dataset(tmp_path), 4, 1, tmp_path / "banks", progress=False) == folder
    assert (folder / "hr.u8").read_bytes() == whole


def test_a_bad_bank_stride_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="bank_stride must be a positive integer, got 0"):
        SRDataModule(root=str(tmp_path), bank_stride=0)


def test_an_unwritable_bank_folder_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(DatasetError, match="cannot write the patch bank"):
        open_bank(_dataset(tmp_path), 4, 1, tmp_path / "file" / "banks", progress=False)


def test_epochs_walk_the_bank_without_replacement(tmp_path: Path) -> None:
    """Epochs of 4 items over a bank of 35 rows: every 35 consecutive items of the stream are each row once,
    and the same keys give the same rows whatever batches they come in (a resumed run's)."""
    dataset = _dataset(tmp_path)
    bank_module.build_bank(dataset, 4, 1, tmp_path, progress=False)
    bank = BankDataset(tmp_path, samples_per_epoch=4)
    count = bank.layout.count
    keys = [SampleKey(7, epoch, i, i, 4) for epoch in range(3 * count // 4) for i in range(4)]
    stream = bank.rows(keys)
    for start in range(0, len(stream) - count + 1, count):
        assert sorted(stream[start : start + count]) == list(range(count))
    assert not np.array_equal(stream[:count], stream[count : 2 * count])  # a new permutation each pass
    assert np.array_equal(np.concatenate([bank.rows(keys[i : i + 3]) for i in range(0, len(keys), 3)]), stream)
    assert not np.array_equal(BankDataset(tmp_path, 4).rows([k._replace(seed=8) for k in keys]), stream)


def test_online_augmentation_is_a_symmetry_drawn_from_the_key(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path)
    bank_module.build_bank(dataset, 4, 3, tmp_path, progress=False)
    plain, augmented = BankDataset(tmp_path, 28), BankDataset(tmp_path, 28, augment=True)
    keys = [SampleKey(0, 0, i, i, 28) for i in range(28)]
    members = bank_module._d4_members(keys * 20)
    assert set(members.tolist()) == set(range(8))
    (a,), (b,), (again,) = plain.__getitems__(keys), augmented.__getitems__(keys), augmented.__getitems__(keys)
    assert torch.equal(b["hr"], again["hr"]) and b["position"] == (0, 28, 28)
    for name in ("hr", "lr"):
        for patch, turned, member in zip(a[name], b[name], bank_module._d4_members(keys)):
            expected = torch.rot90(patch, int(member) % 4, (1, 2))
            assert torch.equal(turned, expected.transpose(1, 2) if member >= 4 else expected)


class _Channels(Callback):
    def __init__(self) -> None:
        self.seen: list[tuple[int, int]] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:  # noqa: ANN001
        self.seen.append((batch["lr"].shape[1], batch["hr"].shape[1]))


def _fit(root: Path, model: L.LightningModule, ckpt: str | None = None, steps: int = 3,
         **data: object) -> tuple[SRDataModule, list]:
    datamodule = SRDataModule(train=[str(root / "train")], val=[], recipe="emtcm", scale=model.scale, batch_size=4,
                              samples_per_epoch=8, num_workers=0, root=str(root), seed=0, **data)
    channels = _Channels()
    trainer = L.Trainer(max_steps=steps, accelerator="cpu", logger=False, enable_progress_bar=False,
                        enable_model_summary=False, callbacks=[channels], default_root_dir=root / "run")
    trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt)
    return datamodule, channels.seen


def test_the_recipe_bank_serves_y_to_a_y_model_and_rgb_to_others(tmp_path: Path) -> None:
    """The EMTCM/FSRCNN recipe trains on a bank by default: Y patches for FSRCNN (which trains on Y), RGB for
    SRResNet; ``bank=False`` cuts random patches per item as before; banks live under ``ROOT/banks``."""
    from sr_zoo.models import create_model

    write_images(tmp_path / "train", n=2, size=(96, 100), blur=1.0)
    datamodule, seen = _fit(tmp_path, create_model("fsrcnn", 3))
    assert isinstance(datamodule.train_set, BankDataset) and seen == [(1, 1)] * 3
    assert datamodule.train_set.folder.parent == tmp_path / "banks"
    datamodule, seen = _fit(tmp_path, create_model("srresnet", 2, blocks=1, n=8))
    assert isinstance(datamodule.train_set, BankDataset) and seen == [(3, 3)] * 3
    datamodule, seen = _fit(tmp_path, create_model("fsrcnn", 3), bank=False)
    assert isinstance(datamodule.train_set, PatchDataset) and seen == [(3, 3)] * 3


def test_a_datamodule_without_a_trainer_serves_the_bank_it_is_asked_for(tmp_path: Path) -> None:
    """``bank_channels=1`` outside fit (a benchmark, an analysis): the Y bank a Y model's fit is served, the same file;
    without it, RGB; a channel count other than 1 or 3 is one line."""
    from sr_zoo.models import create_model

    write_images(tmp_path / "train", n=2, size=(96, 100), blur=1.0)
    fitted, _ = _fit(tmp_path, create_model("fsrcnn", 3))
    kwargs = dict(train=[str(tmp_path / "train")], val=[], scale=3, recipe="emtcm", batch_size=2, seed=0,
                  num_workers=0, root=str(tmp_path))
    y = SRDataModule(**kwargs, bank_channels=1)
    y.setup("fit")
    assert y.train_set.folder == fitted.train_set.folder  # the bank's name holds its content's hash and channels
    rgb = SRDataModule(**kwargs)
    rgb.setup("fit")
    assert rgb.train_set[0]["lr"].shape[1] == 3 and y.train_set[0]["lr"].shape[1] == 1  # (1, C, h, w): a batch of one
    with pytest.raises(DatasetError, match="bank_channels must be 1 \\(Y\\) or 3 \\(RGB\\), got 2"):
        SRDataModule(**kwargs, bank_channels=2)
    with pytest.raises(DatasetError, match="--data.bank_channels 1: SRResNet trains on RGB \\(3 channels\\)"):
        _fit(tmp_path, create_model("srresnet", 2, blocks=1, n=8), bank_channels=1)


def test_a_run_resumes_on_the_data_path_it_was_trained_on(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A checkpoint from before the bank (its datamodule state has no ``bank``) continues without one, and says so."""
    from sr_zoo.models import create_model

    write_images(tmp_path / "train", n=2, size=(96, 100), blur=1.0)
    _fit(tmp_path, create_model("fsrcnn", 3), bank=False)
    state = torch.load(next((tmp_path / "run").rglob("epoch=1-step=3.ckpt")), weights_only=True)
    key = next(k for k in state if k.endswith("SRDataModule"))
    assert state[key]["bank"] is False
    del state[key]["bank"]
    torch.save(state, tmp_path / "old.ckpt")
    with caplog.at_level("INFO"):
        datamodule, seen = _fit(tmp_path, create_model("fsrcnn", 3), ckpt=str(tmp_path / "old.ckpt"), steps=5)
    assert isinstance(datamodule.train_set, PatchDataset) and seen == [(3, 3)] * 2
    assert "trained without the patch bank" in caplog.text


def test_bank_true_on_labelled_data_is_one_line(tmp_path: Path) -> None:
    from helpers.srseg_data import coco_stuff_standin

    coco_stuff_standin(tmp_path, n=2, size=96, seed=0)
    datamodule = SRDataModule(train=["coco-stuff"], val=[], scale=4, patch_size=32, root=str(tmp_path), bank=True)
    with pytest.raises(DatasetError, match="patch bank cannot be made from this training set: its images have label"):
        datamodule.setup("fit")


def test_banks_go_to_the_users_cache_when_the_data_folder_is_read_only(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import sr_zoo.data.datamodule as datamodule

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "data").mkdir()
    assert SRDataModule(root=str(tmp_path / "data")).bank_dir == tmp_path / "data" / "banks"
    monkeypatch.setattr(datamodule.os, "access", lambda path, mode: False)  # a shared folder (tests run as root)
    assert SRDataModule(root=str(tmp_path / "data")).bank_dir == tmp_path / "cache" / "sr_zoo" / "banks"
