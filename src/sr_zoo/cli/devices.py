"""``--device`` for the commands that run a model outside Lightning (benchmark, upscale)."""

from __future__ import annotations

import torch

from sr_zoo.errors import SRZooError

__all__ = ["resolve_device"]


def resolve_device(name: str) -> torch.device:
    """``auto`` (CUDA when available, else CPU) or a torch device name; one line if it cannot be used."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise SRZooError(f"--device: unknown device {name!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SRZooError(f"--device: {name} requested but no CUDA device is available")
    return device
