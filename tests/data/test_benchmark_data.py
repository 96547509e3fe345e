"""Benchmark folders: every image format and mode, the papers' LR/HR pairs, and clear errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from sr_zoo.data import BenchmarkDataset, modcrop, read_image
from sr_zoo.errors import DatasetError, ImageReadError
from sr_zoo.ops import imresize, quantize


def write_images(folder: Path, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A folder with one file per format and mode; returns the pixels written (RGB order)."""
    folder.mkdir(parents=True, exist_ok=True)
    images = {
        "rgb.png": rng.integers(0, 256, (37, 41, 3), dtype=np.uint8),
        "gray.bmp": rng.integers(0, 256, (30, 26), dtype=np.uint8),
        "rgba.png": rng.integers(0, 256, (25, 27, 4), dtype=np.uint8),
        "deep.png": rng.integers(0, 65536, (33, 29, 3), dtype=np.uint16),
        "deepgray.tif": rng.integers(0, 65536, (28, 31), dtype=np.uint16),
        "photo.jpg": rng.integers(0, 256, (24, 24, 3), dtype=np.uint8),
    }
    for name, array in images.items():
        to_bgr = cv2.COLOR_RGBA2BGRA if array.ndim == 3 and array.shape[2] == 4 else cv2.COLOR_RGB2BGR
        bgr = array if array.ndim == 2 else cv2.cvtColor(array, to_bgr)
        assert cv2.imwrite(str(folder / name), bgr)
    (folder / "README.txt").write_text("not an image, and not named like one: ignored")
    return images


def test_reads_every_mode_exactly(tmp_path: Path, rng: np.random.Generator) -> None:
    images = write_images(tmp_path, rng)
    for name, array in images.items():
        img = read_image(tmp_path / name)
        peak = 65535.0 if array.dtype == np.uint16 else 255.0
        expected = array[..., :3] if array.ndim == 3 else array[..., None]  # alpha dropped
        assert img.dtype == torch.float32 and img.shape == (expected.shape[2], *expected.shape[:2])
        if name.endswith(".jpg"):
            continue  # lossy: only the layout is exact
        assert torch.equal(img, torch.from_numpy(expected.transpose(2, 0, 1).astype(np.float32) / peak))


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
def test_pairs_are_modcropped_and_lr_is_matlab_bicubic(tmp_path: Path, rng: np.random.Generator, scale: int) -> None:
    write_images(tmp_path, rng)
    ds = BenchmarkDataset(tmp_path, scale)
    names = ["deep.png", "deepgray.tif", "gray.bmp", "photo.jpg", "rgb.png", "rgba.png"]
    assert [p.name for p in ds.files] == sorted(names)
    for item, path in zip(ds, ds.files):
        full = read_image(path)
        hr, lr = item["hr"], item["lr"]
        assert item["name"] == path.stem
        assert hr.shape[-2] == full.shape[-2] // scale * scale and hr.shape[-1] == full.shape[-1] // scale * scale
        assert torch.equal(hr, full[:, : hr.shape[-2], : hr.shape[-1]])
        assert lr.shape == (hr.shape[0], hr.shape[-2] // scale, hr.shape[-1] // scale)
        assert torch.allclose(lr, quantize(imresize(hr, scale=1 / scale)), atol=1e-6)
        assert torch.allclose(lr * 255, torch.round(lr * 255), atol=1e-4)  # stored as 8 bits


def test_channel_counts_are_kept(tmp_path: Path, rng: np.random.Generator) -> None:
    write_images(tmp_path, rng)
    channels = {item["name"]: item["hr"].shape[0] for item in BenchmarkDataset(tmp_path, 2)}
    assert channels == {"deep": 3, "deepgray": 1, "gray": 1, "photo": 3, "rgb": 3, "rgba": 3}


def test_modcrop() -> None:
    x = torch.arange(7 * 10).view(1, 7, 10)
    assert torch.equal(modcrop(x, 3), x[:, :6, :9])


def test_missing_and_empty_folders(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"nope: no such directory"):
        BenchmarkDataset(tmp_path / "nope", 2)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(DatasetError, match=r"empty: no images found"):
        BenchmarkDataset(tmp_path / "empty", 2)


@pytest.mark.parametrize(
    "content,reason",
    [(b"", "empty file"), (b"this is text, not a picture", "not a readable image")],
)
def test_bad_files_name_the_file(tmp_path: Path, content: bytes, reason: str) -> None:
    (tmp_path / "bad.png").write_bytes(content)
    with pytest.raises(ImageReadError, match=rf"bad\.png: {reason}"):
        BenchmarkDataset(tmp_path, 2)


def test_truncated_file_fails_when_decoded_naming_the_file(tmp_path: Path, rng: np.random.Generator) -> None:
    cv2.imwrite(str(tmp_path / "cut.bmp"), rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    data = (tmp_path / "cut.bmp").read_bytes()
    (tmp_path / "cut.bmp").write_bytes(data[: len(data) // 2])  # header intact, pixels missing
    ds = BenchmarkDataset(tmp_path, 2)
    with pytest.raises(ImageReadError, match=r"cut\.bmp: cannot decode"):
        ds[0]


def test_image_smaller_than_scale(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "tiny.png"), np.zeros((3, 5), np.uint8))
    with pytest.raises(ImageReadError, match=r"tiny\.png: image of 3x5 is smaller than the scale x4"):
        BenchmarkDataset(tmp_path, 4)


def test_a_set_in_edsrs_hr_folder_is_called_by_its_own_name(tmp_path: Path, rng: np.random.Generator) -> None:
    """EDSR's ``benchmark/Set5/HR/``: the set is "Set5" in tables and logs, not "HR"; a plain folder keeps its name."""
    write_images(tmp_path / "benchmark" / "Set5" / "HR", rng)
    write_images(tmp_path / "mine", rng)
    assert BenchmarkDataset(tmp_path / "benchmark" / "Set5" / "HR", 2).name == "Set5"
    assert BenchmarkDataset(tmp_path / "mine", 2).name == "mine"
    assert BenchmarkDataset(tmp_path / "mine", 2, name="given").name == "given"


def test_a_folder_of_only_odd_entries_is_one_error_line(tmp_path: Path) -> None:
    """A folder holding only a directory named like an image and a symlink loop: one error naming both, and no
    warning printed before it (``sr-zoo benchmark --data odd``, through the CLI)."""
    import os
    import subprocess
    import sys

    odd = tmp_path / "odd"
    (odd / "dir.png").mkdir(parents=True)
    os.symlink(odd / "loop.png", odd / "loop.png")
    proc = subprocess.run([sys.executable, "-m", "sr_zoo", "benchmark", "--model", "bicubic", "--scale", "2",
                           "--data", str(odd)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "SR_ZOO_OFFLINE": "1"})
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"sr-zoo: error: {odd}: no images found")
    assert "dir.png (a folder)" in line and "loop.png (a symlink loop)" in line
