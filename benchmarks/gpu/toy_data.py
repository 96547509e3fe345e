"""Stand-ins for T91, Set5 and Set14 made from scikit-image's bundled photos, for ``run.sh --dry-run``.

    python benchmarks/gpu/toy_data.py ROOT

Writes ROOT/T91 (six 96x96 BMPs), ROOT/Set5 and ROOT/Set14 (two small BMPs each): the folder names the
real sets have under ``SR_ZOO_DATA``, so the dry run takes the same code paths offline, in seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
from skimage import data

SETS = {
    "T91": (("astronaut", "coffee", "rocket", "immunohistochemistry", "brick", "coins"), (96, 96)),
    "Set5": (("chelsea", "camera"), (72, 72)),
    "Set14": (("moon", "grass"), (80, 64)),
}


def write(root: Path) -> None:
    for folder, (names, (width, height)) in SETS.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for name in names:
            image = np.ascontiguousarray(getattr(data, name)())
            if image.ndim == 3:
                image = cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2BGR)
            small = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
            if not cv2.imwrite(str(root / folder / f"{name}.bmp"), small):
                raise SystemExit(f"{root / folder}: cannot write {name}.bmp")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__.strip().splitlines()[2].strip())
    write(Path(sys.argv[1]))
