"""``sr-zoo upscale``: formats kept, EXIF orientation, alpha, 16 bits, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import lightning as L
import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

import sr_zoo
from sr_zoo.cli import main
from sr_zoo.files.images import load_image_file
from sr_zoo.models import create_model
from sr_zoo.ops import imresize


def _rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), 1.0)


def _checkpoint(path: Path, name: str, scale: int) -> Path:
    """A checkpoint of an untrained ``name`` x ``scale`` (seed 0), as ``sr-zoo fit`` would write it."""
    torch.manual_seed(0)
    trainer = L.Trainer(logger=False, enable_checkpointing=False, max_steps=0, enable_progress_bar=False)
    trainer.strategy.connect(create_model(name, scale))
    trainer.save_checkpoint(path)
    return path


def _expected(model_name: str, scale: int, pixels: np.ndarray, peak: int) -> np.ndarray:
    """The library's whole-image result, quantized as the command quantizes (same seed, same weights)."""
    torch.manual_seed(0)
    model = create_model(model_name, scale).eval()
    tensor = torch.from_numpy(pixels.transpose(2, 0, 1).astype(np.float32) / peak)
    out = sr_zoo.upscale(model, tensor)
    return np.floor(out.numpy().transpose(1, 2, 0) * peak + 0.5)


def test_formats_bit_depth_gray_and_alpha_are_kept(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    rgb = _rgb(30, 26)
    cv2.imwrite(str(src / "rgb.png"), rgb[:, :, ::-1])
    gray16 = (cv2.GaussianBlur(np.random.default_rng(1).random((24, 20)), (0, 0), 1.0) * 65535).astype(np.uint16)
    cv2.imwrite(str(src / "gray16.png"), gray16)
    alpha = np.tile(np.linspace(0, 255, 20, dtype=np.uint8), (22, 1))
    cv2.imwrite(str(src / "rgba.png"), np.dstack([rgb[:22, :20, ::-1], alpha]))
    cv2.imwrite(str(src / "photo.jpg"), rgb[:, :, ::-1])
    ckpt = _checkpoint(tmp_path / "fsrcnn.ckpt", "fsrcnn", 2)
    assert main(["upscale", "--model", "fsrcnn", "--scale", "2", str(src), "-o", str(tmp_path / "out"),
                 "--tile", "8", "--ckpt", str(ckpt)]) == 0
    out = {p.name: cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in (tmp_path / "out").iterdir()}
    assert sorted(out) == ["gray16.png", "photo.jpg", "rgb.png", "rgba.png"]
    # 8-bit RGB: the whole-image result (tiles with the receptive overlap agree to 1 level at most).
    assert out["rgb.png"].shape == (60, 52, 3) and out["rgb.png"].dtype == np.uint8
    assert np.abs(out["rgb.png"][:, :, ::-1] - _expected("fsrcnn", 2, rgb, 255)).max() <= 1
    # 16-bit grayscale stays 16-bit grayscale.
    assert out["gray16.png"].shape == (48, 40) and out["gray16.png"].dtype == np.uint16
    expected_gray = _expected("fsrcnn", 2, gray16[:, :, None], 65535)[:, :, 0]
    assert np.abs(out["gray16.png"].astype(float) - expected_gray).max() <= 1
    # Alpha: resized bicubically (MATLAB imresize), not super-resolved.
    assert out["rgba.png"].shape == (44, 40, 4)
    resized = imresize(torch.from_numpy(alpha / 255.0)[None, None].float(), scale=2).clamp(0, 1)[0, 0]
    expected_alpha = np.floor(resized.numpy() * 255 + 0.5)
    assert np.abs(out["rgba.png"][:, :, 3].astype(float) - expected_alpha).max() <= 1
    assert out["photo.jpg"].shape == (60, 52, 3)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path: Path, orientation: int) -> None:
    image = Image.fromarray(_rgb(12, 7, seed=orientation))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "o.png"
    image.save(path, exif=exif)
    loaded = load_image_file(path).pixels
    with Image.open(path) as im:
        reference = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    assert loaded.shape == reference.shape and np.array_equal(loaded, reference)


def test_bad_input_is_one_line_and_written_images_stay(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "a_good.png"), _rgb(16, 16))
    (src / "b_bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    code = main(["upscale", "--model", "bicubic", "--scale", "2", str(src), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith(f"sr-zoo: error: {src / 'b_bad.png'}: cannot decode") and "\n" not in err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a_good.png"]  # kept; no partial file


@pytest.mark.parametrize("case,message", [
    ("empty", "no images found"),
    ("missing", "no such file or folder"),
    ("unwritable", "-o {out}: not a writable folder"),
    ("wrong_model", "a checkpoint of 'fsrcnn', not of 'emtcm'"),
    ("wrong_scale", "trained for scale 2, not 3"),
])
def test_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture, case: str, message: str) -> None:
    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "a.png"), _rgb(16, 16))
    out = tmp_path / "out"
    args = ["upscale", str(src), "-o", str(out), "--model", "emtcm", "--scale", "3"]
    if case == "empty":
        (tmp_path / "empty").mkdir()
        args[1] = str(tmp_path / "empty")
    elif case == "missing":
        args[1] = str(tmp_path / "nothing.png")
    elif case == "unwritable":
        out.write_text("a file, not a folder")
        out = out / "sub"
        args[3] = str(out)
    else:
        name, scale = ("fsrcnn", 2) if case == "wrong_model" else ("emtcm", 2)
        args += ["--ckpt", str(_checkpoint(tmp_path / "w.ckpt", name, scale))]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sr-zoo: error: ") and message.format(out=out) in err and "\n" not in err
