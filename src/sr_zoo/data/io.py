"""Reading image files into float tensors, with one-line errors that name the file.

OpenCV decodes (it keeps 16-bit PNG/TIFF exact, which Pillow reduces to 8 bits for RGB); Pillow
reads headers only, to list sizes without decoding. Both come with torchvision/albumentations.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image
from torch import Tensor

from sr_zoo.errors import DatasetError, ImageReadError, SRZooError

__all__ = ["IMAGE_EXTENSIONS", "decode_image", "list_images", "probe_image", "read_image", "write_image"]

IMAGE_EXTENSIONS = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")

cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # OpenCV would print its own error lines; ours name the file instead.

_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name; a missing or empty folder is an error."""
    folder = Path(folder)
    if not folder.exists():
        raise DatasetError(f"{folder}: no such directory")
    if not folder.is_dir():
        raise DatasetError(f"{folder}: not a directory")
    try:
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    except OSError as exc:  # no read or search permission, a vanished network mount ...
        raise DatasetError(f"{folder}: cannot list the folder ({exc.strerror or exc})") from None
    if not files:
        raise DatasetError(f"{folder}: no images found (looked for {', '.join(IMAGE_EXTENSIONS)})")
    return files


def probe_image(path: str | os.PathLike) -> tuple[int, int, int]:
    """``(height, width, channels)`` from the file header, without decoding the pixels."""
    path = Path(path)
    _check_not_empty(path)
    try:
        with Image.open(path) as im:
            width, height = im.size
            channels = 1 if im.mode in _GRAY_MODES else 3
    except Exception as exc:  # Pillow raises many types for bad files; all mean the same here
        raise ImageReadError(f"{path}: not a readable image ({_reason(exc)})") from None
    return height, width, channels


def _check_not_empty(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read ({exc.strerror})") from None
    if size == 0:
        raise ImageReadError(f"{path}: empty file (0 bytes)")


def _reason(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def decode_image(data: bytes | np.ndarray, name: str | os.PathLike = "<bytes>") -> Tensor:
    """Decode encoded image bytes into a ``(C, H, W)`` float32 tensor in [0, 1], C = 1 or 3.

    Grayscale stays 1 channel, alpha is dropped, 16-bit images are scaled by 1/65535.
    """
    buf = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes) else data
    array = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if buf.size else None
    if array is None:
        raise ImageReadError(f"{name}: cannot decode (corrupt, truncated or not an image)")
    if array.dtype == np.uint8:
        peak = 255.0
    elif array.dtype == np.uint16:
        peak = 65535.0
    else:
        raise ImageReadError(f"{name}: unsupported pixel type {array.dtype} (8- or 16-bit images only)")
    if array.ndim == 2:
        array = array[:, :, None]
    elif array.shape[2] == 4:
        array = cv2.cvtColor(array, cv2.COLOR_BGRA2RGB)
    elif array.shape[2] == 3:
        array = cv2.cvtColor(array, cv2.COLOR_BGR2RGB)
    elif array.shape[2] == 2:  # gray + alpha
        array = array[:, :, :1]
    else:
        raise ImageReadError(f"{name}: unsupported channel count {array.shape[2]}")
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1))).float().div_(peak)


def read_image(path: str | os.PathLike) -> Tensor:
    """Read an image file into a ``(C, H, W)`` float32 tensor in [0, 1] (see :func:`decode_image`)."""
    path = Path(path)
    _check_not_empty(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read ({exc.strerror})") from None
    return decode_image(data, path)


def write_image(path: str | os.PathLike, img: Tensor) -> None:
    """Write a ``(C, H, W)`` image in [0, 1] (C = 1 or 3) as an 8-bit file, rounding as MATLAB does."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    array = torch.floor(img.detach().float().clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy()
    array = array[0] if array.shape[0] == 1 else cv2.cvtColor(array.transpose(1, 2, 0), cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(path), array):
        raise ImageReadError(f"{path}: cannot write image")


def check_writable_dir(folder: str | os.PathLike, what: str) -> Path:
    """Create ``folder`` if needed and prove a file can be written in it; else one line naming ``what``."""
    import tempfile

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise SRZooError(f"{what} {folder}: not a writable folder ({exc.strerror or exc})") from None
    return folder
