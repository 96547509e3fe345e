"""Paired LR/HR folders: real low-resolution images (a camera's small shots, a sensor's raw LR, any degradation)
matched to their HR images by file name, for training, validation and ``sr-zoo benchmark``.

A pair source is ``paired:PATH`` with ``PATH/LR/`` and ``PATH/HR/`` (or ``lr/``, ``hr/``), or
``paired:LR_DIR,HR_DIR``. Files match by stem, after removing from the LR stem a scale or LR mark at its end
(``0001x4``, ``0001_x4``, ``0001-x4``, ``0001_LR`` and ``0001`` all match ``0001``; an ``_HR`` mark is removed
from HR stems likewise); extensions may differ. Every pair is checked when the source is read: each file has a
partner, each file's header reads, and the HR is ``scale`` times the LR, or at most ``scale - 1`` pixels more
(then cut at its bottom and right, as EDSR's loader and MATLAB's ``modcrop`` do). The first pair that fails
is named in one line.
"""

from __future__ import annotations

import re
from pathlib import Path

from sr_zoo.data.sources import Record
from sr_zoo.errors import DatasetError, ImageReadError
from sr_zoo.files.images import list_images, probe_image

__all__ = ["PAIRED_PREFIX", "is_paired", "paired_folders", "paired_records", "pair_stem"]

PAIRED_PREFIX = "paired:"
_LR_DIRS = ("LR", "lr", "low", "LQ", "lq")
_HR_DIRS = ("HR", "hr", "high", "GT", "gt")


def is_paired(spec: str) -> bool:
    """Whether a source or test-set spec names paired folders (``paired:...``)."""
    return spec.lower().startswith(PAIRED_PREFIX)


def pair_stem(stem: str, kind: str, scale: int) -> str:
    """The name a file is matched by: its stem without a trailing ``[_-]x<scale>``/``[_-]LR`` (LR)
    or ``[_-]HR`` (HR)."""
    marks = rf"(?:[_-]?x{scale}|[_-]lr|[_-]lq)" if kind == "lr" else r"(?:[_-]hr|[_-]gt)"
    return re.sub(rf"{marks}$", "", stem, flags=re.IGNORECASE)


def paired_folders(spec: str) -> tuple[Path, Path]:
    """``(LR folder, HR folder)`` of ``paired:PATH`` (``PATH/LR``, ``PATH/HR``) or ``paired:LR_DIR,HR_DIR``."""
    body = spec[len(PAIRED_PREFIX):]
    if not body:
        raise DatasetError(f"{spec!r}: paired needs a folder: paired:PATH (with LR/ and HR/) or paired:LR_DIR,HR_DIR")
    if "," in body:
        lr, hr = (Path(part).expanduser() for part in body.split(",", 1))
    else:
        root = Path(body).expanduser()
        if not root.is_dir():
            raise DatasetError(f"{root}: no such directory (paired:PATH needs PATH/LR/ and PATH/HR/)")
        lr = next((root / d for d in _LR_DIRS if (root / d).is_dir()), root / "LR")
        hr = next((root / d for d in _HR_DIRS if (root / d).is_dir()), root / "HR")
    for folder, kind in ((lr, "LR"), (hr, "HR")):
        if not folder.is_dir():
            raise DatasetError(f"{folder}: no such directory (the {kind} half of {spec!r})")
    return lr, hr


def paired_records(spec: str, scale: int) -> list[Record]:
    """The pairs of ``spec`` as records (HR path, its LR path), every pair checked (module docstring)."""
    lr_dir, hr_dir = paired_folders(spec)
    lrs: dict[str, Path] = {}
    for path in list_images(lr_dir):
        key = pair_stem(path.stem, "lr", scale)
        if key in lrs:
            raise DatasetError(f"{path}: matches the same HR name as {lrs[key].name} ({key!r}); one LR per HR image")
        lrs[key] = path
    records, hrs = [], set()
    for hr in list_images(hr_dir):
        key = pair_stem(hr.stem, "hr", scale)
        hrs.add(key)
        lr = lrs.get(key)
        if lr is None:
            other = next((p for k, p in lrs.items() if re.fullmatch(rf"{re.escape(key)}[_-]?x\d+", k, re.I)), None)
            hint = f"; {other.name} is named for another scale than x{scale}" if other is not None else ""
            raise DatasetError(f"{hr}: no LR partner in {lr_dir} (looked for {key}, {key}x{scale}, {key}_x{scale} "
                               f"...{hint})")
        check_pair(lr, hr, scale)
        records.append(Record(hr, lr=lr, paired=True))
    extra = sorted(set(lrs) - hrs)
    if extra:
        raise DatasetError(f"{lrs[extra[0]]}: no HR partner in {hr_dir} ({len(extra)} LR image(s) without one)")
    return records


def check_pair(lr: Path, hr: Path, scale: int) -> None:
    """One line unless ``hr`` is ``scale`` times ``lr`` (up to ``scale - 1`` more pixels) and both headers read."""
    try:
        lh, lw, _ = probe_image(lr)
        hh, hw, _ = probe_image(hr)
    except ImageReadError as exc:
        raise DatasetError(str(exc)) from None
    if not (0 <= hh - scale * lh < scale and 0 <= hw - scale * lw < scale):
        raise DatasetError(f"{hr}: {hw}x{hh} is not x{scale} of its LR {lr.name} ({lw}x{lh}; expected "
                           f"{scale * lw}x{scale * lh}, or up to {scale - 1} pixels more)")
