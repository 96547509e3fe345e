"""Image files as users have them, for ``sr-zoo upscale``: 8/16-bit, gray or colour, alpha, EXIF orientation.

``load_image_file`` reads the pixels with OpenCV (which keeps 16 bits) and applies the EXIF orientation
that Pillow reads from the header (``IMREAD_UNCHANGED`` ignores it); ``save_image_file`` writes the same
kind of file atomically (temporary file, rename), so an interrupted run never leaves half an image.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from PIL import Image

from sr_zoo.errors import ImageReadError, SRZooError
from sr_zoo.interrupts import deferred_signals

__all__ = ["ImageFile", "load_image_file", "output_path", "save_image_file"]

_KEEPS_ALPHA = (".png", ".tif", ".tiff", ".webp")
_KEEPS_16_BIT = (".png", ".tif", ".tiff")
_WRITABLE = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


@dataclass
class ImageFile:
    """Pixels ``(H, W, C)`` (C = 1 or 3, RGB order) and ``alpha`` ``(H, W)`` or None, both uint8 or
    uint16 as in the file, already turned upright."""

    pixels: np.ndarray
    alpha: np.ndarray | None
    path: Path

    @property
    def peak(self) -> int:
        return 65535 if self.pixels.dtype == np.uint16 else 255


def _exif_orientation(path: Path) -> int:
    try:
        with Image.open(path) as im:
            return int(im.getexif().get(0x0112, 1))
    except Exception:  # no EXIF, or a format Pillow cannot parse: upright as stored
        return 1


def _is_gray_alpha(path: Path, data: np.ndarray) -> bool:
    """Whether the file is gray + alpha (PNG colour type 4, any depth; Pillow's LA elsewhere), which
    OpenCV decodes as BGRA with three equal channels."""
    if data[:8].tobytes() == b"\x89PNG\r\n\x1a\n" and data.size > 25:
        return int(data[25]) == 4  # IHDR colour type
    try:
        with Image.open(path) as im:
            return im.mode in ("LA", "La")
    except Exception:
        return False


def _orient(array: np.ndarray, orientation: int) -> np.ndarray:
    """Apply EXIF orientation 1-8 the way Pillow's ``ImageOps.exif_transpose`` does."""
    if orientation == 2:
        array = array[:, ::-1]
    elif orientation == 3:
        array = array[::-1, ::-1]
    elif orientation == 4:
        array = array[::-1]
    elif orientation == 5:
        array = array.swapaxes(0, 1)
    elif orientation == 6:
        array = np.rot90(array, -1)
    elif orientation == 7:
        array = array.swapaxes(0, 1)[::-1, ::-1]
    elif orientation == 8:
        array = np.rot90(array, 1)
    return np.ascontiguousarray(array)


def load_image_file(path: str | os.PathLike) -> ImageFile:
    """Read ``path`` upright, splitting off alpha; one ``ImageReadError`` line for anything unreadable."""
    from sr_zoo.data.io import _check_declared_size, _imdecode

    path = Path(path)
    if path.is_file():
        _check_declared_size(path, path)  # a declared size past the limit: one line before decoding
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read ({exc.strerror})") from None
    array = _imdecode(data, path)
    if array is None:
        raise ImageReadError(f"{path}: cannot decode (corrupt, truncated or not an image)")
    if array.dtype not in (np.uint8, np.uint16):
        raise ImageReadError(f"{path}: unsupported pixel type {array.dtype} (8- or 16-bit images only)")
    array = array[:, :, None] if array.ndim == 2 else array
    alpha = None
    if array.shape[2] in (2, 4):
        alpha, array = array[:, :, -1], array[:, :, :-1]
    if array.shape[2] == 3 and alpha is not None and _is_gray_alpha(path, data):
        array = array[:, :, :1]  # gray + alpha stays gray + alpha
    if array.shape[2] == 3:
        array = array[:, :, ::-1]  # BGR -> RGB
    orientation = _exif_orientation(path)
    return ImageFile(_orient(array, orientation), None if alpha is None else _orient(alpha, orientation), path)


def output_path(source: Path, out_dir: Path) -> Path:
    """``out_dir/<stem><ext>``: the input's format where it can be written, else PNG."""
    ext = source.suffix.lower()
    return out_dir / f"{source.stem}{source.suffix if ext in _WRITABLE else '.png'}"


def save_image_file(path: Path, pixels: np.ndarray, alpha: np.ndarray | None = None) -> None:
    """Write ``pixels`` ``(H, W, C)`` RGB(A) uint8/uint16 atomically (a stop signal waits until the file
    is complete: ``sr_zoo.interrupts.deferred_signals``); 16 bits and alpha where the format
    keeps them (PNG, TIFF; alpha also WebP), else 8 bits without alpha. Gray + alpha is an 8-bit gray +
    alpha PNG again; 16-bit (or TIFF/WebP) gray + alpha is written as RGBA with three equal channels."""
    ext = path.suffix.lower()
    if pixels.dtype == np.uint16 and ext not in _KEEPS_16_BIT:
        pixels = (pixels.astype(np.uint32) * 255 + 32767) // 65535
        pixels = pixels.astype(np.uint8)
        alpha = None if alpha is None else ((alpha.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    array = pixels[:, :, ::-1] if pixels.shape[2] == 3 else pixels
    gray_alpha = None  # an 8-bit gray + alpha PNG is written as one (Pillow's LA); OpenCV writes no 2-channel files
    if alpha is not None and ext in _KEEPS_ALPHA:
        if array.shape[2] == 1 and ext == ".png" and array.dtype == np.uint8:
            gray_alpha = Image.fromarray(np.ascontiguousarray(np.concatenate([array, alpha[:, :, None]], axis=2)), "LA")
        elif array.shape[2] == 1:  # 16-bit, TIFF, WebP: RGBA with three equal channels
            array = np.repeat(array, 3, axis=2)
        array = np.concatenate([array, alpha[:, :, None].astype(array.dtype)], axis=2)
    def write(tmp: str) -> None:
        if gray_alpha is not None:
            gray_alpha.save(tmp, format="PNG")
        elif not cv2.imwrite(tmp, np.ascontiguousarray(array)):
            raise OSError(f"OpenCV could not write {path.suffix} files")

    write_atomically(path, write, lambda reason: f"{path}: cannot write the image ({reason})")


def write_atomically(path: Path, write: Callable[[str], None], error: Callable[[str], str]) -> None:
    """``write(temporary path)`` beside ``path``, then rename it over ``path`` with the usual permissions.
    A failure (full disk) is one ``SRZooError`` line, ``error(reason)``, and leaves an earlier ``path`` as
    it was; a stop signal waits until the file is complete (``deferred_signals``), no temporary file is left."""
    with deferred_signals(path):
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
        os.close(fd)
        try:
            write(tmp)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, path)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise SRZooError(error(str(exc.strerror or exc))) from None
            raise
