"""Paired LR/HR folders (``sr_zoo.data.paired``): matched by name, every pair checked before training, patches
cut aligned on the given LR, scored on the given LR by validation and ``sr-zoo benchmark``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from helpers.paths import shared_set
from sr_zoo.data import BenchmarkDataset, PatchDataset, SRDataModule, read_image
from sr_zoo.data.paired import pair_stem, paired_records
from sr_zoo.errors import DatasetError
from sr_zoo.metrics import y_psnr
from sr_zoo.models import create_model
from sr_zoo.ops import imresize, quantize


def _write(path: Path, rgb: np.ndarray, *params: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), list(params))


def _jpeg_pairs(root: Path, names: list[str], scale: int = 2) -> Path:
    """Real pairs from Set14: each HR image as it is, its LR the bicubic x``scale`` saved as a quality-30 JPEG
    (a degradation no model here was trained on), named ``<name>_x<scale>.jpg`` beside ``<name>.png``."""
    folder = shared_set("Set14")
    for name in names:
        hr = cv2.cvtColor(cv2.imread(str(next(folder.glob(f"{name}.*")))), cv2.COLOR_BGR2RGB)
        hr = hr[: hr.shape[0] - hr.shape[0] % scale, : hr.shape[1] - hr.shape[1] % scale]  # modcrop, then the LR
        lr = quantize(imresize(torch.from_numpy(hr).permute(2, 0, 1).float()[None] / 255, scale=1 / scale))[0]
        _write(root / "HR" / f"{name}.png", hr)
        _write(root / "LR" / f"{name}_x{scale}.jpg", (lr.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8),
               cv2.IMWRITE_JPEG_QUALITY, 30)
    return root


def test_names_match_without_their_scale_or_lr_mark() -> None:
    for stem in ("0001x4", "0001_x4", "0001-X4", "0001_LR", "0001"):
        assert pair_stem(stem, "lr", 4) == "0001"
    assert pair_stem("0001x2", "lr", 4) == "0001x2"  # another scale's mark is part of the name
    assert pair_stem("0001_HR", "hr", 4) == pair_stem("0001", "hr", 4) == "0001"


def test_every_pair_is_checked_before_training(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    image = lambda h, w: rng.integers(0, 256, (h, w, 3), dtype=np.uint8)  # noqa: E731
    _write(tmp_path / "ok" / "HR" / "a.png", image(33, 41))  # 1 pixel more than x2 (16x20): cut, accepted
    _write(tmp_path / "ok" / "LR" / "ax2.png", image(16, 20))
    (record,) = paired_records(f"paired:{tmp_path / 'ok'}", 2)
    assert record.paired and record.lr.name == "ax2.png"
    _write(tmp_path / "size" / "HR" / "a.png", image(40, 40))
    _write(tmp_path / "size" / "LR" / "a_x2.png", image(16, 20))
    with pytest.raises(DatasetError, match=r"a.png: 40x40 is not x2 of its LR a_x2.png \(20x16; expected 40x32"):
        paired_records(f"paired:{tmp_path / 'size'}", 2)
    _write(tmp_path / "alone" / "HR" / "a.png", image(32, 40))
    _write(tmp_path / "alone" / "LR" / "b_x2.png", image(16, 20))
    with pytest.raises(DatasetError, match=r"HR/a.png: no LR partner in .*LR \(looked for a, ax2, a_x2"):
        paired_records(f"paired:{tmp_path / 'alone'}", 2)
    _write(tmp_path / "alone" / "LR" / "a_x2.png", image(16, 20))
    with pytest.raises(DatasetError, match=r"LR/b_x2.png: no HR partner in .*HR \(1 LR image\(s\) without one\)"):
        paired_records(f"paired:{tmp_path / 'alone'}", 2)
    _write(tmp_path / "bad" / "HR" / "a.png", image(32, 40))
    (tmp_path / "bad" / "LR").mkdir()
    (tmp_path / "bad" / "LR" / "a_x2.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match=r"LR/a_x2.png"):
        paired_records(f"paired:{tmp_path / 'bad'}", 2)
    with pytest.raises(DatasetError, match="no such directory"):
        paired_records(f"paired:{tmp_path / 'nowhere'}", 2)


def test_patches_are_cut_aligned_from_the_given_lr(tmp_path: Path) -> None:
    """A pair whose LR is not any degradation of the HR (each LR pixel holds its own block's position): every
    patch's LR is the LR of exactly its HR block, under the recipe's offline rotations and online flips; the
    recipe's downscaled versions are skipped (a real pair has no LR for them)."""
    h, w, s = 30, 40, 2
    y, x = np.mgrid[0:h, 0:w]
    lr = np.stack([y, x, np.full_like(y, 7)], -1).astype(np.uint8)
    hr = np.repeat(np.repeat(lr, s, 0), s, 1)  # HR pixel (Y, X) holds its LR pixel's (Y // 2, X // 2)
    _write(tmp_path / "HR" / "p.png", np.pad(hr, ((0, 1), (0, 1), (0, 0))))  # 1 pixel more, cut
    _write(tmp_path / "LR" / "p_x2.png", lr)
    records = paired_records(f"paired:{tmp_path}", s)
    ds = PatchDataset(records, s, 16, offline_scales=(1.0, 0.7), offline_rotations=(0, 1, 2, 3), augment=True,
                      degradation="gaussian-bicubic", crops_per_image=4)
    assert {v.scale_index for v in ds.views} == {0} and len(ds.views) == 4
    for i in range(8):
        item = ds[i]
        got = item["lr"]
        expected = item["hr"][:, :, ::s, ::s]  # the HR's own block values are the LR's
        assert torch.equal(got, expected)


def test_a_fit_on_real_pairs_and_benchmark_scores_the_given_lr(tmp_path: Path) -> None:
    """``sr-zoo fit`` trains a few steps on Set14 pairs with JPEG-compressed LR and validates on them; ``sr-zoo
    benchmark --data paired:DIR`` scores bicubic on those LR images: the PSNR of upscaling each JPEG LR, not a
    clean bicubic LR (independently computed here)."""
    pairs = _jpeg_pairs(tmp_path / "pairs", ["baboon", "comic", "lenna"])
    run = dict(capture_output=True, text=True, timeout=600, cwd=tmp_path,
               env={"PATH": "/usr/bin:/bin", "WANDB_MODE": "disabled", "SR_ZOO_OFFLINE": "1", "HOME": str(tmp_path)})
    fit = subprocess.run([sys.executable, "-m", "sr_zoo", "fit", "--model", "fsrcnn", "--scale", "2",
                          "--data.train", f"[paired:{pairs}]", "--data.val", f"[paired:{pairs}]",
                          "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2",
                          "--trainer.logger", "false",
                          "--data.batch_size", "4",
                          "--trainer.enable_progress_bar", "false"], **run)
    assert fit.returncode == 0, fit.stderr[-2000:]
    assert "pairs: best" in fit.stdout  # the validation set is named by its folder
    bench = subprocess.run([sys.executable, "-m", "sr_zoo", "benchmark", "--model", "bicubic", "--scale", "2",
                            "--data", f"paired:{pairs}", "--json", "--per-image"], **run)
    assert bench.returncode == 0, bench.stderr[-2000:]
    rows = {r["image"]: r for r in json.loads(bench.stdout)["results"]}
    for name in ("baboon", "comic", "lenna"):
        lr = read_image(pairs / "LR" / f"{name}_x2.jpg")[None]
        hr = read_image(pairs / "HR" / f"{name}.png")[None]
        hr = hr[..., : lr.shape[-2] * 2, : lr.shape[-1] * 2]
        expected = float(y_psnr(create_model("bicubic", 2)(lr), hr, crop_border=2))
        assert rows[name]["psnr"] == pytest.approx(expected, abs=1e-4)
        clean = BenchmarkDataset(pairs / "HR", 2)[["baboon", "comic", "lenna"].index(name)]
        assert float(y_psnr(create_model("bicubic", 2)(clean["lr"][None]), clean["hr"][None], 2)) > expected + 0.2
    with pytest.raises(ValueError, match="paired data has the scale of its files"):
        BenchmarkDataset.paired(f"paired:{pairs}", 2).set_scale(4)
    wrong = subprocess.run([sys.executable, "-m", "sr_zoo", "benchmark", "--model", "bicubic", "--scale", "3",
                            "--data", f"paired:{pairs}"], **run)
    assert wrong.returncode == 2 and len(wrong.stderr.strip().splitlines()) == 1
    assert "baboon_x2.jpg is named for another scale than x3" in wrong.stderr


def test_the_datamodule_serves_pairs(tmp_path: Path) -> None:
    pairs = _jpeg_pairs(tmp_path / "pairs", ["baboon", "comic"])
    dm = SRDataModule(train=[f"paired:{pairs}"], val=[f"paired:{pairs}"], scale=2, batch_size=4, num_workers=0,
                      root=str(tmp_path))
    dm.setup("fit")
    assert len(dm.train_set.records) == 2 and all(r.paired for r in dm.train_set.records)
    batch = next(iter(dm.train_dataloader()))
    assert batch["lr"].shape[-1] * 2 == batch["hr"].shape[-1]
    assert dm.val_names == ["pairs"] and dm.val_sets[0].lr_files is not None
