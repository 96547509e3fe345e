"""sr_zoo: a PyTorch Lightning model zoo for single-image super-resolution.

The packages, lowest layer first (each imports only from those before it):
``errors``/``interrupts`` (one-line errors, signals), ``files`` (downloads, checksums, atomic writes,
image files), ``ops`` (MATLAB-exact numerics), ``data``, ``losses``/``metrics``, ``training`` (schedule
mechanism and schedules, checkpoints, loggers), ``models`` (one file per paper, the registry, the zoo's
weights), ``inference`` (tiling, scoring, figures), ``cli`` (the ``sr-zoo`` command).
"""

from __future__ import annotations

import os
from typing import Any

# albumentations asks PyPI for its latest version when imported (a network call, and a 2-second stall
# offline); sr_zoo imports it for its D4 transform and never wants that. The user can still set it.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from sr_zoo import _compat  # noqa: E402
from sr_zoo.errors import DatasetError, ImageReadError, SRZooError  # noqa: E402

_compat.install()

__version__ = "0.1.0"

__all__ = ["DatasetError", "ImageReadError", "SRZooError", "__version__", "upscale"]


def __getattr__(name: str) -> Any:
    # ``sr_zoo.upscale(model, image)`` without importing torch for ``import sr_zoo`` alone.
    if name == "upscale":
        from sr_zoo.inference.tiling import upscale

        return upscale
    raise AttributeError(f"module 'sr_zoo' has no attribute {name!r}")
