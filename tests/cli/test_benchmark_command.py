"""``sr-zoo benchmark``: JSON and table output, saved images, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from sr_zoo.cli import main
from sr_zoo.data import BenchmarkDataset, read_image
from sr_zoo.metrics import y_psnr, y_ssim
from sr_zoo.models import create_model


@pytest.fixture
def image_set(tmp_path: Path, rng: np.random.Generator) -> Path:
    folder = tmp_path / "Tiny"
    folder.mkdir()
    # Smooth images (a blurred random field) so that bicubic scores a realistic PSNR.
    for i, (h, w) in enumerate([(64, 70), (59, 48)]):
        img = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), 3)
        cv2.imwrite(str(folder / f"img{i}.png"), img)
    cv2.imwrite(str(folder / "gray.png"), cv2.GaussianBlur(rng.integers(0, 256, (50, 52), dtype=np.uint8), (0, 0), 3))
    return folder


def test_json_output_equals_direct_scoring(image_set: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["benchmark", "--model", "bicubic", "--scale", "2", "3", "--data", str(image_set), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(r["dataset"], r["scale"], r["images"], r["model"]) for r in out["results"]] == [
        ("Tiny", 2, 3, "bicubic"),
        ("Tiny", 3, 3, "bicubic"),
    ]
    for row in out["results"]:
        ds = BenchmarkDataset(image_set, row["scale"])
        model = create_model("bicubic", row["scale"])
        psnr = [y_psnr(model(it["lr"][None]), it["hr"][None], row["scale"]).item() for it in ds]
        ssim = [y_ssim(model(it["lr"][None]), it["hr"][None], row["scale"]).item() for it in ds]
        assert row["psnr"] == pytest.approx(np.mean(psnr), abs=1e-4)
        assert row["ssim"] == pytest.approx(np.mean(ssim), abs=1e-4)
        assert 20 < row["psnr"] < 60 and 0.5 < row["ssim"] < 1


def test_table_and_saved_images(image_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out_dir = tmp_path / "sr"
    assert main(["benchmark", "--scale", "2", "--data", str(image_set), "--save-images", str(out_dir)]) == 0
    table = capsys.readouterr().out
    assert "| Tiny" in table and "x2" in table
    saved = sorted(p.name for p in (out_dir / "Tiny" / "x2").iterdir())
    assert saved == ["gray.png", "img0.png", "img1.png"]
    ds = BenchmarkDataset(image_set, 2)
    for item in ds:
        sr = read_image(out_dir / "Tiny" / "x2" / f"{item['name']}.png")
        expected = create_model("bicubic", 2)(item["lr"][None])[0]
        assert sr.shape == item["hr"].shape
        assert (sr - expected).abs().max() <= 0.5 / 255 + 1e-6  # the 8-bit rounding of the SR image


@pytest.mark.parametrize(
    "args,message",
    [
        (["--data", "{missing}"], "no such directory"),
        (["--data", "{empty}"], "no images found"),
        (["--data", "{corrupt}"], "bad.png: not a readable image"),
        (["--data", "{small}", "--scale", "8"], "smaller than the scale x8"),
        (["--model", "nosuchnet"], "unknown model 'nosuchnet'; available: bicubic"),
        (["--ckpt", "{missing}/w.ckpt"], "checkpoint not found"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(
    args: list[str], message: str, image_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt" / "bad.png").write_bytes(b"\x89PNG garbage")
    (tmp_path / "small").mkdir()
    cv2.imwrite(str(tmp_path / "small" / "s.png"), np.zeros((6, 6), np.uint8))
    paths = {k: str(tmp_path / k) for k in ("missing", "empty", "corrupt", "small")}
    argv = ["benchmark", "--scale", "2", "--data", str(image_set)] + [a.format(**paths) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sr-zoo: error: ") and message in err and "\n" not in err


def test_console_script_prints_no_traceback(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "sr-zoo"  # the installed console script
    command = [str(script)] if script.exists() else [sys.executable, "-m", "sr_zoo"]
    proc = subprocess.run(
        [*command, "benchmark", "--scale", "2", "--data", str(tmp_path / "absent")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"sr-zoo: error: {tmp_path / 'absent'}: no such directory (nor a test set name: "
                                   "set5, set14, bsd100, urban100, manga109, bsd200, div2k-val)")
    assert proc.stdout == ""


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_gpu_pipeline_agrees_with_cpu(image_set: Path, capsys: pytest.CaptureFixture) -> None:
    rows = {}
    for device in ("cpu", "cuda"):
        main(["benchmark", "--scale", "2", "4", "--data", str(image_set), "--json", "--device", device])
        rows[device] = json.loads(capsys.readouterr().out)["results"]
    for cpu, gpu in zip(rows["cpu"], rows["cuda"]):
        assert abs(cpu["psnr"] - gpu["psnr"]) < 0.005
