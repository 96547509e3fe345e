"""Bicubic interpolation (MATLAB ``imresize``): the baseline row of every paper's table."""

from __future__ import annotations

from torch import Tensor, nn

from sr_zoo.models._registry import register_model
from sr_zoo.ops import imresize

__all__ = ["Bicubic"]


class Bicubic(nn.Module):
    """Upscale by ``scale`` with MATLAB's bicubic kernel; no parameters."""

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, lr: Tensor) -> Tensor:
        return imresize(lr, scale=self.scale).clamp(0.0, 1.0)


@register_model("bicubic", paper="MATLAB imresize (baseline in all four papers)")
def bicubic(scale: int) -> Bicubic:
    return Bicubic(scale)
