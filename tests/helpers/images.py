"""Synthetic image files for tests that need a folder of images (their content does not matter, only that it is
fixed): seeded noise, blurred into something photo-like where a network must learn from it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def write_images(folder: Path, n: int = 2, size: int | tuple[int, int] = 40, ext: str = "png", seed: int = 0,
                 blur: float = 0.0) -> Path:
    """``n`` colour images ``0.<ext>``, ``1.<ext>`` ... of ``size`` (side, or height and width) in ``folder``
    (made if missing): uniform noise from ``numpy.random.default_rng(seed)``, Gaussian-blurred by ``blur``."""
    height, width = (size, size) if isinstance(size, int) else size
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        if blur:
            image = cv2.GaussianBlur(image, (0, 0), blur)
        cv2.imwrite(str(folder / f"{i}.{ext}"), image)
    return folder
