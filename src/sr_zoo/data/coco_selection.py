"""SRSEG's choice of COCO-Stuff images (SRSEG, section 3.4): images of the five background classes.

3.4: "a random sample of 60 thousand images", "only ... images from five main background classes",
"more than 12 thousand images from each category". Our reading: an image belongs to the background
class covering most of its labelled pixels, if the five background classes together cover at least
``min_background`` of them; each class keeps at most ``per_class`` images, drawn at random with the
data seed. The per-image class fractions are computed once (every label map is read) and cached next
to the label maps (``srseg_class_fractions.npz``), so a selection with another cap, threshold or seed
is instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
from tqdm.auto import tqdm

from sr_zoo.data.coco_stuff import SRSEG_CLASSES, srseg_lookup_table
from sr_zoo.data.sources import Record
from sr_zoo.errors import ImageReadError
from sr_zoo.files.atomic import write_atomically

__all__ = ["CACHE_NAME", "class_fractions", "select_background_images"]

CACHE_NAME = "srseg_class_fractions.npz"
BACKGROUND = tuple(range(5))  # sky, ground, buildings, plants, water; 5 is "other"


def _fractions_of(label_path: Path, lut: np.ndarray) -> np.ndarray:
    raw = cv2.imread(str(label_path), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.ndim != 2:
        raise ImageReadError(f"{label_path}: not a readable single-channel label map")
    counts = np.bincount(lut[raw].ravel(), minlength=256)[: len(SRSEG_CLASSES)].astype(np.float64)
    total = counts.sum()  # unlabelled pixels (IGNORE_INDEX, 255) fall outside the six classes: not counted
    return counts / total if total else counts


def class_fractions(records: Sequence[Record], cache_dir: Path, progress: bool = True) -> np.ndarray:
    """``(len(records), 6)`` fractions of each SRSEG class among an image's labelled pixels, from the
    cache in ``cache_dir`` where it has them, else read from the label maps and added to the cache."""
    cache = cache_dir / CACHE_NAME
    known: dict[str, np.ndarray] = {}
    if cache.is_file():
        try:
            with np.load(cache) as saved:
                known = dict(zip(saved["names"].tolist(), saved["fractions"]))
        except (OSError, ValueError, KeyError):
            known = {}  # a damaged cache is rebuilt
    lut = srseg_lookup_table()
    missing = [r for r in records if r.label is not None and r.label.name not in known]
    for record in tqdm(missing, desc="SRSEG selection: reading COCO-Stuff labels", unit="map",
                       disable=not progress or len(missing) < 100):
        known[record.label.name] = _fractions_of(record.label, lut)
    if missing:
        _save(cache, known)
    return np.stack([known[r.label.name] for r in records]) if records else np.zeros((0, len(SRSEG_CLASSES)))


def _save(cache: Path, known: dict[str, np.ndarray]) -> None:
    """Write the cache atomically (a temporary file renamed into place); an unwritable folder only
    means the next run reads the labels again."""
    names = sorted(known)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, names=np.array(names), fractions=np.stack([known[n] for n in names]))

    try:
        write_atomically(cache, write)
    except OSError:
        pass


def select_background_images(records: Sequence[Record], cache_dir: Path, per_class: int, seed: int,
                             min_background: float = 0.5, progress: bool = True) -> tuple[list[Record], dict[str, int]]:
    """The records SRSEG trains on (3.4) and how many each background class got.

    Each labelled image goes to its largest background class when the five cover at least
    ``min_background`` of its labelled pixels; ``per_class`` images per class are kept, a random draw
    from ``seed`` (the same seed, the same images). Returned in file order.
    """
    if per_class < 1:
        raise ValueError(f"per_class must be at least 1, got {per_class}")
    fractions = class_fractions(records, cache_dir, progress)
    background = fractions[:, list(BACKGROUND)]
    eligible = background.sum(axis=1) >= min_background
    category = background.argmax(axis=1)
    rng = np.random.default_rng(seed)
    keep: list[int] = []
    counts: dict[str, int] = {}
    for cls in BACKGROUND:
        members = np.flatnonzero(eligible & (category == cls))
        chosen = rng.permutation(members)[:per_class]
        counts[SRSEG_CLASSES[cls]] = len(chosen)
        keep.extend(chosen.tolist())
    return [records[i] for i in sorted(keep)], counts
