"""``sr-zoo upscale``, ``benchmark`` and ``compare`` stopped by SIGTERM to their process group (as a
scheduler sends it): the file being written is completed, no temporary file is left, one line, 143.
And hidden files (a temporary file, macOS's ``._x.png``) are never read as images."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from helpers.interrupt_helpers import Job
from sr_zoo.cli import main
from sr_zoo.files.images import list_images, read_image
from sr_zoo.ops import imresize


def _noise(path: Path, side: int, seed: int) -> Path:
    """A noisy RGB image: it compresses badly, so writing its upscaled version takes a while."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8))
    return path


def _hidden(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob(".*")) if folder.exists() else []


def _upscale(tmp_path: Path) -> tuple[list[str], Path]:
    for i in range(3):
        _noise(tmp_path / "lr" / f"{i}.png", 600, i)
    out = tmp_path / "out"
    return ["upscale", str(tmp_path / "lr"), "-o", str(out), "--model", "bicubic", "--scale", "4",
            "--device", "cpu"], out


def _benchmark(tmp_path: Path) -> tuple[list[str], Path]:
    for i in range(3):
        _noise(tmp_path / "hr" / f"{i}.png", 1600, i)
    out = tmp_path / "out"
    return ["benchmark", "--data", str(tmp_path / "hr"), "--scale", "2", "--save-images", str(out),
            "--device", "cpu"], out


def _compare(tmp_path: Path) -> tuple[list[str], Path]:
    out = tmp_path / "out"
    return ["compare", str(_noise(tmp_path / "hr.png", 1600, 0)), "--scale", "2", "--models", "bicubic",
            "-o", str(out / "figure.png"), "--device", "cpu"], out


@pytest.mark.parametrize("command", [_upscale, _benchmark, _compare], ids=["upscale", "benchmark", "compare"])
def test_sigterm_while_writing_completes_that_file_and_leaves_no_temporary_file(command, tmp_path: Path) -> None:
    """SIGTERM to the group the moment the output's hidden temporary file appears: that file is finished
    and renamed into place (it decodes, and holds the bicubic upscale), nothing hidden is left, status 143.
    Before, SIGTERM killed the command mid-write and left the half-written temporary file."""
    args, out = command(tmp_path)
    with Job([sys.executable, "-m", "sr_zoo", *args], tmp_path) as job:
        deadline = time.monotonic() + 120
        while not _hidden(out):
            assert job.proc.poll() is None and time.monotonic() < deadline, job.stderr[-3000:]
            time.sleep(0.002)
        job.signal(signal.SIGTERM)
        assert job.finish() == 143, job.stderr[-3000:]
    assert _hidden(out) == []
    assert "Traceback" not in job.stderr
    prefix = "sr-zoo: SIGTERM: stopped, after completing "
    assert job.messages[-1].startswith(prefix), job.stderr[-3000:]
    written = Path(job.messages[-1][len(prefix):])
    assert written.parent.is_relative_to(out) and written.is_file()
    image = read_image(written)  # complete: decodes
    if command is _upscale:  # the bicubic upscale, rounded to 8 bits
        source = read_image(tmp_path / "lr" / written.name)
        assert (image - imresize(source[None], scale=4)[0].clamp(0, 1)).abs().max() <= 0.5 / 255 + 1e-6
    elif command is _benchmark:  # the SR image of the cropped HR's bicubic LR, rounded to 8 bits
        assert image.shape == (3, 1600, 1600)


def test_hidden_files_are_not_images(tmp_path: Path) -> None:
    """A hidden file named like an image (a temporary file left by a killed writer, ``._x.png``) is not
    listed, so a benchmark of the folder scores the real images only (the truncated file would fail)."""
    folder = tmp_path / "set"
    _noise(folder / "a.png", 32, 0)
    data = (folder / "a.png").read_bytes()
    (folder / ".a.k2j4x1.png").write_bytes(data[: len(data) // 2])  # half-written
    (folder / "._a.png").write_bytes(b"\x00\x05\x16\x07")  # AppleDouble metadata
    assert list_images(folder) == [folder / "a.png"]
    assert main(["benchmark", "--data", str(folder), "--scale", "2", "--json", "--device", "cpu"]) == 0


@pytest.mark.parametrize("fmt", ["--json", pytest.param("--format=csv", marks=pytest.mark.slow)])
def test_sigterm_keeps_json_and_csv_output_whole(fmt: str, tmp_path: Path) -> None:
    """``benchmark --json`` stopped by SIGTERM while scoring its second set prints valid JSON with the first
    set's row and the reason; ``--format csv`` the rows scored so far."""
    _noise(tmp_path / "small" / "a.png", 48, 0)
    for i in range(3):
        _noise(tmp_path / "large" / f"{i}.png", 1600, i)
    out, stdout = tmp_path / "out", tmp_path / "stdout.txt"
    args = ["benchmark", "--data", str(tmp_path / "small"), str(tmp_path / "large"), "--scale", "2", fmt,
            "--save-images", str(out), "--device", "cpu"]
    with Job([sys.executable, "-m", "sr_zoo", *args], tmp_path, stdout=stdout) as job:
        deadline = time.monotonic() + 120
        while not _hidden(out / "large"):  # writing the second set's first image: the first set is scored
            assert job.proc.poll() is None and time.monotonic() < deadline, job.stderr[-3000:]
            time.sleep(0.002)
        job.signal(signal.SIGTERM)
        assert job.finish() == 143, job.stderr[-3000:]
    printed = stdout.read_text()
    if fmt == "--json":
        import json

        payload = json.loads(printed)
        assert [r["dataset"] for r in payload["results"]] == ["small"]
        assert payload["error"].startswith("SIGTERM")
    else:
        rows = printed.strip().splitlines()
        assert rows[0].startswith("model,dataset,scale") and len(rows) == 2 and ",small,2," in rows[1], printed
