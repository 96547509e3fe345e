"""sr_zoo: a PyTorch Lightning model zoo for single-image super-resolution."""

from __future__ import annotations

from typing import Any

from sr_zoo.errors import DatasetError, ImageReadError, SRZooError

__version__ = "0.1.0"

__all__ = ["DatasetError", "ImageReadError", "SRZooError", "__version__", "upscale"]


def __getattr__(name: str) -> Any:
    # ``sr_zoo.upscale(model, image)`` without importing torch for ``import sr_zoo`` alone.
    if name == "upscale":
        from sr_zoo.tiling import upscale

        return upscale
    raise AttributeError(f"module 'sr_zoo' has no attribute {name!r}")
