"""Synthetic texture-region data for the SRSEG tests: each class is a texture, labels are exact."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from sr_zoo.data.coco_stuff import srseg_lookup_table


def _texture(cls: int, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A ``(h, w)`` texture in [0, 1] for class ``cls`` (0-5): stripes of two orientations, checks, noise,
    flat, rings."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    if cls == 0:
        t = 0.5 + 0.4 * np.sin(x * 1.3)
    elif cls == 1:
        t = 0.5 + 0.4 * np.sin(y * 1.3)
    elif cls == 2:
        t = 0.5 + 0.4 * np.sign(np.sin(x * 0.8) * np.sin(y * 0.8))
    elif cls == 3:
        t = rng.uniform(0.1, 0.9, (h, w))
    elif cls == 4:
        t = np.full((h, w), 0.5)
    else:
        t = 0.5 + 0.4 * np.sin(np.hypot(y - h / 2, x - w / 2) * 1.1)
    return t.astype(np.float32)


def region_image(size: int, rng: np.random.Generator, classes: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """An RGB uint8 image of 4 rectangles of textured classes, and its class map."""
    label = np.zeros((size, size), np.int64)
    cy, cx = rng.integers(size // 4, 3 * size // 4, 2)
    picks = rng.choice(classes, 4, replace=classes < 4)
    for i, (ys, xs) in enumerate([(slice(0, cy), slice(0, cx)), (slice(0, cy), slice(cx, size)),
                                  (slice(cy, size), slice(0, cx)), (slice(cy, size), slice(cx, size))]):
        label[ys, xs] = picks[i]
    gray = np.zeros((size, size), np.float32)
    for c in range(classes):
        gray = np.where(label == c, _texture(c, size, size, rng), gray)
    tint = rng.uniform(0.8, 1.0, 3).astype(np.float32)
    image = (np.clip(gray[..., None] * tint, 0, 1) * 255 + 0.5).astype(np.uint8)
    return image, label


def coco_stuff_standin(root: Path, n: int = 6, size: int = 96, seed: int = 0) -> Path:
    """COCO 2017 + stuffthingmaps layout under ``root/coco-stuff`` with texture-region images."""
    table = srseg_lookup_table()
    raw_id = {c: int(np.flatnonzero(table[:182] == c)[0]) for c in range(6)}
    images = root / "coco-stuff" / "train2017"
    labels = root / "coco-stuff" / "stuffthingmaps_trainval2017" / "train2017"
    images.mkdir(parents=True, exist_ok=True)
    labels.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        image, label = region_image(size, rng)
        cv2.imwrite(str(images / f"{i:012d}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(labels / f"{i:012d}.png"), np.vectorize(raw_id.get)(label).astype(np.uint8))
    return root
