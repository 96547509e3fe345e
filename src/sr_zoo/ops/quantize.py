"""Rounding to 8 bits, as MATLAB does when it stores a double image as uint8."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["quantize"]


def quantize(x: Tensor, levels: int = 255) -> Tensor:
    """Clamp ``x`` to [0, 1] and round to ``levels`` steps, halves away from zero (MATLAB ``uint8``).

    ``torch.round`` rounds halves to even, which differs from MATLAB on exact ``.5`` values.
    """
    return torch.floor(x.clamp(0.0, 1.0) * levels + 0.5) / levels
