"""Image files in and out: one extension table, 8/16-bit, gray or colour, alpha, EXIF orientation.

OpenCV decodes (it keeps 16-bit PNG/TIFF exact, which Pillow reduces to 8 bits for RGB); Pillow reads
headers only (sizes without decoding, EXIF orientation). ``read_image`` gives the float tensors that
training and scoring use; ``load_image_file``/``save_image_file`` keep what ``sr-zoo upscale`` must
give back (depth, alpha); every write is atomic (``sr_zoo.files.atomic``). Errors are one line naming
the file.
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image
from torch import Tensor

from sr_zoo.errors import DatasetError, ImageReadError, SRZooError, warn_once
from sr_zoo.files.atomic import write_atomically

__all__ = ["IMAGE_EXTENSIONS", "MAX_IMAGE_PIXELS", "ImageFile", "check_image_size", "check_writable_dir",
           "decode_image", "is_image_name", "list_images", "load_image_file", "normalise_gray", "output_path",
           "probe_image", "read_image", "save_image_file", "write_image"]

IMAGE_EXTENSIONS = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff", ".webp")
"""The files the zoo reads and writes as images (lower case); one table for folders and single files."""
_KEEPS_ALPHA = (".png", ".tif", ".tiff", ".webp")
_KEEPS_16_BIT = (".png", ".tif", ".tiff")

# The most pixels (width x height) an image may declare: checked from the header before any decoding,
# so a file declaring 100000x100000 is one line, not an allocation failure. 2**28 is 16384 x 16384.
MAX_IMAGE_PIXELS = int(os.environ.get("SR_ZOO_MAX_PIXELS", 2**28))

# OpenCV would print its own error lines; ours name the file instead.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)

_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_PILLOW_LIMIT = threading.Lock()  # _header lifts Pillow's global limit for one open at a time






def _not_a_file(path: Path) -> str:
    """Why an entry named like an image is not one: a folder, a symlink loop, a dangling symlink ..."""
    try:
        path.stat()
    except OSError as exc:
        if exc.errno == 40:  # ELOOP
            return "a symlink loop"
        if path.is_symlink():
            return "a dangling symlink"
        return exc.strerror or type(exc).__name__
    return "a folder" if path.is_dir() else "not a regular file"


def is_image_name(path: str | os.PathLike) -> bool:
    """Whether ``path`` is named as an image the zoo reads: an image extension, and not hidden (a name
    starting with '.' is a temporary file being written, e.g. ``.photo.x1y2.png``, or one left by a
    killed process, or macOS's ``._photo.png`` metadata)."""
    name = Path(path).name
    return not name.startswith(".") and Path(name).suffix.lower() in IMAGE_EXTENSIONS


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name; a missing or empty folder is an error.

    Hidden files are not images (``is_image_name``). Entries named like images that are not files (a
    folder called ``x.png``, a symlink loop, a dangling symlink) are skipped with one warning line per
    folder that names them."""
    folder = Path(folder)
    if not folder.exists():
        raise DatasetError(f"{folder}: no such directory")
    if not folder.is_dir():
        raise DatasetError(f"{folder}: not a directory")
    try:
        named = sorted(p for p in folder.iterdir() if is_image_name(p))
    except OSError as exc:  # no read or search permission, a vanished network mount ...
        raise DatasetError(f"{folder}: cannot list the folder ({exc.strerror or exc})") from None
    files = [p for p in named if p.is_file()]
    odd = [p for p in named if p not in files]
    listed = ", ".join(f"{p.name} ({_not_a_file(p)})" for p in odd[:5]) + (", ..." if len(odd) > 5 else "")
    if not files:  # one line: the error says what was skipped, no warning before it
        skipped = f"; skipped {len(odd)} named like images that are not image files: {listed}" if odd else ""
        raise DatasetError(f"{folder}: no images found (looked for {', '.join(IMAGE_EXTENSIONS)}){skipped}")
    if odd:
        warn_once(f"{folder}: skipped {len(odd)} entr{'y' if len(odd) == 1 else 'ies'} named like images "
                  f"that are not image files: {listed}")
    return files


def probe_image(path: str | os.PathLike) -> tuple[int, int, int]:
    """``(height, width, channels)`` from the file header, without decoding the pixels; an image
    declaring more than ``MAX_IMAGE_PIXELS`` pixels is an ``ImageReadError``."""
    path = Path(path)
    _check_not_empty(path)
    try:
        width, height, mode = _header(path)
    except Exception as exc:  # Pillow raises many types for bad files; all mean the same here
        raise ImageReadError(f"{path}: not a readable image ({_reason(exc)})") from None
    check_image_size(path, height, width)
    return height, width, 1 if mode in _GRAY_MODES else 3


def _header(source: str | os.PathLike | io.BytesIO) -> tuple[int, int, str]:
    """``(width, height, Pillow mode)`` from the header alone. Pillow's own decompression-bomb limit is
    lifted here: ``check_image_size`` applies the zoo's, with a message that says what to do."""
    with _PILLOW_LIMIT:
        limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            with Image.open(source) as im:
                return im.size[0], im.size[1], im.mode
        finally:
            Image.MAX_IMAGE_PIXELS = limit


def check_image_size(path: str | os.PathLike, height: int, width: int) -> None:
    """One ``ImageReadError`` line if ``height`` x ``width`` exceeds the limit (``SR_ZOO_MAX_PIXELS``, read
    at each call, else ``MAX_IMAGE_PIXELS``), before decoding."""
    try:
        limit = int(os.environ.get("SR_ZOO_MAX_PIXELS", MAX_IMAGE_PIXELS))
    except ValueError:
        value = os.environ["SR_ZOO_MAX_PIXELS"]
        raise SRZooError(f"SR_ZOO_MAX_PIXELS={value!r}: expected a number of pixels") from None
    if height * width > limit:
        raise ImageReadError(
            f"{path}: {width}x{height} pixels ({height * width / 1e6:.0f} megapixels) exceeds the limit of "
            f"{limit / 1e6:.0f} megapixels decoded per image (set SR_ZOO_MAX_PIXELS to raise it)")


def _check_declared_size(source: str | os.PathLike | io.BytesIO, name: str | os.PathLike) -> None:
    """The size limit from the header where Pillow can read it (where it cannot, OpenCV decides)."""
    try:
        width, height, _ = _header(source)
    except Exception:
        return
    check_image_size(name, height, width)


def _imdecode(buf: np.ndarray, name: str | os.PathLike) -> np.ndarray | None:
    """``cv2.imdecode`` (unchanged), OpenCV's own refusals (its pixel limit, a bad header) as one line."""
    try:
        return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if buf.size else None
    except cv2.error as exc:
        detail = _reason(exc).split("error: ")[-1].strip() or "OpenCV error"
        raise ImageReadError(f"{name}: cannot decode (OpenCV refused it: {detail})") from None


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
    if buf.size:
        _check_declared_size(io.BytesIO(buf), name)
    return _decode(buf, name)


def _decode(buf: np.ndarray, name: str | os.PathLike) -> Tensor:
    array = _imdecode(buf, name)
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
    _check_declared_size(path, path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read ({exc.strerror})") from None
    return _decode(data, path)


def write_image(path: str | os.PathLike, img: Tensor) -> None:
    """Write a ``(C, H, W)`` image in [0, 1] (C = 1 or 3) as an 8-bit file, rounding as MATLAB does.

    Atomically (``save_image_file``: a hidden temporary file, renamed), so that an interrupted or
    failed write leaves no partial image for a later run to read."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    array = torch.floor(img.detach().float().clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy()
    save_image_file(path, np.ascontiguousarray(array.transpose(1, 2, 0)))


def normalise_gray(path: Path) -> bool:
    """Rewrite ``path`` as a single-channel image if its three channels are equal (an originally gray image
    stored as RGB); returns whether it did. Scores then use its one channel, as the published tables do."""
    array = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if array is None or array.ndim != 3 or array.shape[2] != 3:
        return False
    if not (np.array_equal(array[:, :, 0], array[:, :, 1]) and np.array_equal(array[:, :, 1], array[:, :, 2])):
        return False
    write_atomically(path, lambda tmp: _imwrite(tmp, array[:, :, 0]))
    return True


def _imwrite(path: str, array: np.ndarray) -> None:
    if not cv2.imwrite(path, np.ascontiguousarray(array)):
        raise OSError(f"OpenCV could not write {Path(path).suffix} files")


def check_writable_dir(folder: str | os.PathLike, what: str) -> Path:
    """Create ``folder`` if needed and prove a file can be written in it; else one line naming ``what``."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise SRZooError(f"{what} {folder}: not a writable folder ({exc.strerror or exc})") from None
    return folder

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
    return out_dir / f"{source.stem}{source.suffix if ext in IMAGE_EXTENSIONS else '.png'}"


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
        else:
            _imwrite(tmp, array)

    write_atomically(path, write, lambda reason: SRZooError(f"{path}: cannot write the image ({reason})"))

