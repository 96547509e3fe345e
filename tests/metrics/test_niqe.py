"""NIQE as the official MATLAB release computes it: the reference value of ``../shared/metrics/niqe`` (MATLAB R2021a
on baboon.png), BasicSR 1.4.2's port on Set14, a hand-computed AGGD fit, the pristine model fetched and checked,
and ``sr-zoo benchmark --metrics niqe``."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers.paths import SHARED, shared_set
from sr_zoo.data import read_image
from sr_zoo.errors import WeightsError
from sr_zoo.metrics import NIQE
from sr_zoo.ops.niqe import PRISTINE_SHA256, _aggd, gaussian_window, niqe, pristine_model

NIQE_FILES = SHARED / "metrics" / "niqe"
MATLAB_BABOON = 5.72957338  # PROVENANCE.md: the official MATLAB NIQE (R2021a) on baboon.png's Y, no crop

# BasicSR 1.4.2's calculate_niqe(img, 0, convert_to="y") on each Set14 image (its float32 arithmetic), recorded
# by running the port (pip download basicsr==1.4.2; metrics/niqe.py with its own imresize and bgr2ycbcr).
BASICSR_SET14 = {
    "baboon": 5.729564, "barbara": 4.583900, "bridge": 2.486400, "coastguard": 5.351195, "comic": 4.138840,
    "face": 8.492998, "flowers": 2.885988, "foreman": 5.935014, "lenna": 5.197119, "man": 3.662170,
    "monarch": 3.498503, "pepper": 7.063502, "ppt3": 5.447278, "zebra": 3.275901,
}
# Images of few blocks (face: 4; foreman: 9) or flat ones (ppt3), where the AGGD shape sits on the flat end of its
# search and NIQE moves with rounding: the port itself gives 8.767 / 5.805 / 5.509 when run in float64.
ILL_CONDITIONED = {"face": 0.35, "foreman": 0.15, "ppt3": 0.25}


def _pristine() -> Path:
    path = NIQE_FILES / "niqe_pris_params.npz"
    if not path.is_file():
        pytest.skip(f"NIQE's pristine model not available: {path} is absent (it lives in the project's shared/ folder)")
    return path


def _pristine_in_torch_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The pristine model placed where a user's first run caches it (torch hub's checkpoints under a temporary
    hub folder), so the code under test finds it offline; its path in ../shared."""
    model_path = _pristine()
    cache = tmp_path / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    shutil.copy(model_path, cache / "niqe_pris_params.npz")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    return model_path


def _niqe_of(path: Path, model_path: Path) -> float:
    image = read_image(path)
    metric = NIQE(model_path=str(model_path))
    metric.update(image.expand(3, -1, -1)[None] if image.shape[0] == 1 else image[None])
    return float(metric.compute())


def test_baboon_matches_the_official_matlab_value() -> None:
    model = _pristine()
    assert abs(_niqe_of(NIQE_FILES / "baboon.png", model) - MATLAB_BABOON) < 1e-3


def test_set14_agrees_with_basicsrs_port() -> None:
    model = _pristine()
    folder = shared_set("Set14")
    for name, expected in BASICSR_SET14.items():
        got = _niqe_of(next(folder.glob(f"{name}.*")), model)
        assert abs(got - expected) < ILL_CONDITIONED.get(name, 5e-4), (name, got, expected)


def test_the_window_is_the_releases() -> None:
    """``fspecial('gaussian', 7, 7/6)`` normalised, as the release's parameters file stores it."""
    with np.load(_pristine()) as arrays:
        assert np.abs(gaussian_window().numpy() - arrays["gaussian_window"]).max() < 1e-15


def test_the_aggd_fit_matches_a_hand_computed_one() -> None:
    """estimateaggdparam.m on [-2, -1, 1, 2, 3], worked in plain Python over the same 0.2:0.001:10 grid."""
    x = [-2.0, -1.0, 1.0, 2.0, 3.0]
    left = math.sqrt((4 + 1) / 2)
    right = math.sqrt((1 + 4 + 9) / 3)
    g = left / right
    r_hat = (sum(abs(v) for v in x) / 5) ** 2 / (sum(v * v for v in x) / 5)
    r_norm = r_hat * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    grid = [0.2 + 0.001 * i for i in range(9801)]
    ratio = [math.gamma(2 / a) ** 2 / (math.gamma(1 / a) * math.gamma(3 / a)) for a in grid]
    alpha = grid[min(range(len(grid)), key=lambda i: (ratio[i] - r_norm) ** 2)]
    scale = math.sqrt(math.gamma(1 / alpha) / math.gamma(3 / alpha))
    got = _aggd(torch.tensor([x], dtype=torch.float64))
    assert [float(v) for v in got] == pytest.approx([alpha, left * scale, right * scale], rel=1e-12)
    # A flat block has no fit: its scales are NaN, its shape the grid's first (MATLAB's min over NaNs).
    alpha, left, right = _aggd(torch.zeros(1, 9, dtype=torch.float64))
    assert float(alpha) == pytest.approx(0.2) and math.isnan(float(left)) and math.isnan(float(right))


def test_an_image_smaller_than_a_block_is_refused() -> None:
    model = pristine_model(_pristine())
    with pytest.raises(ValueError, match="at least 96x96 pixels, got 95x200"):
        niqe(torch.zeros(95, 200), model)


def test_the_pristine_model_is_fetched_checked_and_read_without_pickle(served: tuple[Path, str], tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import sr_zoo.ops.niqe as niqe_module

    folder, base = served
    shutil.copy(_pristine(), folder / "niqe_pris_params.npz")
    monkeypatch.setattr(niqe_module, "PRISTINE_URL", base + "niqe_pris_params.npz")
    model = pristine_model()
    cached = tmp_path / "hub" / "checkpoints" / "niqe_pris_params.npz"
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == PRISTINE_SHA256
    assert model.mean.shape == (36,) and model.cov.shape == (36, 36)
    np.savez(folder / "other.npz", mu_pris_param=np.zeros(36), cov_pris_param=np.eye(36))
    monkeypatch.setattr(niqe_module, "PRISTINE_URL", base + "other.npz")
    with pytest.raises(WeightsError, match="other.npz"):  # not the release's file: its checksum differs
        pristine_model()
    np.savez(tmp_path / "pickled.npz", mu_pris_param=np.array([object()]), cov_pris_param=np.eye(36))
    with pytest.raises(ValueError, match="pickle"):
        pristine_model(tmp_path / "pickled.npz")
    np.savez(tmp_path / "small.npz", mu_pris_param=np.zeros(3), cov_pris_param=np.eye(3))
    with pytest.raises(ValueError, match="not NIQE's pristine model"):
        pristine_model(tmp_path / "small.npz")


def test_benchmark_prints_niqe_beside_psnr_and_ssim(tmp_path: Path) -> None:
    """``sr-zoo benchmark --metrics niqe --json`` on Set5 x4 with bicubic: a NIQE per set and per image, each
    the metric's own value for the bicubic image."""
    model = _pristine()
    set5 = shared_set("Set5")
    cache = tmp_path / "torch" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    shutil.copy(model, cache / "niqe_pris_params.npz")
    env = {"TORCH_HOME": str(tmp_path / "torch"), "SR_ZOO_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "sr_zoo", "benchmark", "--model", "bicubic", "--scale", "4",
                           "--data", str(set5), "--metrics", "niqe", "--json", "--per-image"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = {row["image"]: row for row in json.loads(proc.stdout)["results"]}
    from sr_zoo.data import BenchmarkDataset
    from sr_zoo.models import create_model

    dataset = BenchmarkDataset(set5, 4)
    bicubic = create_model("bicubic", 4)
    metric = NIQE(crop_border=4, model_path=str(model))
    for index in range(len(dataset)):
        item = dataset[index]
        metric.update(bicubic(item["lr"][None]))
        assert rows[item["name"]]["niqe"] == pytest.approx(float(metric.last[0]), abs=1e-4)


def test_validation_scores_niqe_when_the_datamodule_asks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``SRDataModule(eval_metrics=["niqe"])`` (``--data.eval_metrics [niqe]``): validation logs
    ``val/<Set>/niqe``, the metric's own value for the model's output; an unknown name is one error."""
    import lightning as L

    from sr_zoo.data import BenchmarkDataset, SRDataModule
    from sr_zoo.errors import DatasetError
    from sr_zoo.models import create_model

    model_path = _pristine_in_torch_hub(tmp_path, monkeypatch)
    folder = tmp_path / "val"
    folder.mkdir()
    shutil.copy(NIQE_FILES / "baboon.png", folder / "baboon.png")
    data = SRDataModule(train=["demo"], val=[str(folder)], scale=2, eval_metrics=["niqe"], num_workers=0,
                        root=str(tmp_path / "data"))
    model = create_model("bicubic", 2)
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False)
    (scores,) = trainer.validate(model, datamodule=data, verbose=False)
    item = BenchmarkDataset(folder, 2)[0]
    expected = NIQE(crop_border=2, model_path=str(model_path))
    expected.update(model(item["lr"][None]))
    assert scores["val/val/niqe"] == pytest.approx(float(expected.compute()), abs=1e-4)
    with pytest.raises(DatasetError, match="eval_metrics: unknown 'brisque'; known: lpips, niqe"):
        SRDataModule(eval_metrics=["brisque"])


def test_compare_captions_niqe_under_each_panel_and_the_hr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture) -> None:
    """``sr-zoo compare --metrics niqe``: each panel's NIQE (border = scale) and the HR image's, the metric's own
    values, in the JSON; the figure gains a caption line for them."""
    from PIL import Image

    from sr_zoo.cli import main
    from sr_zoo.data.eval_sets import make_lr, modcrop
    from sr_zoo.models import create_model

    model_path = _pristine_in_torch_hub(tmp_path, monkeypatch)
    image = NIQE_FILES / "baboon.png"
    plain, with_niqe = tmp_path / "plain.png", tmp_path / "niqe.png"
    assert main(["compare", str(image), "--scale", "3", "--models", "bicubic", "-o", str(plain),
                 "--device", "cpu"]) == 0
    capsys.readouterr()
    assert main(["compare", str(image), "--scale", "3", "--models", "bicubic", "--metrics", "niqe", "-o",
                 str(with_niqe), "--device", "cpu"]) == 0
    report = json.loads(capsys.readouterr().out)
    hr = modcrop(read_image(image), 3)[None]
    sr = create_model("bicubic", 3)(make_lr(hr[0], 3)[None])
    for name, picture in (("bicubic", sr), ("HR", hr)):
        expected = NIQE(crop_border=3, model_path=str(model_path))
        expected.update(picture)
        got = report["scores"]["bicubic"]["niqe"] if name == "bicubic" else report["hr"]["niqe"]
        assert got == pytest.approx(float(expected.compute()), abs=1e-4), name
    assert Image.open(with_niqe).height == Image.open(plain).height + 18
