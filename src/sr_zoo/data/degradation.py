"""How LR training patches are made from HR ones: MATLAB bicubic, or Gaussian blur then bicubic."""

from __future__ import annotations

import math

import torch
from kornia.filters import gaussian_blur2d
from torch import Tensor

from sr_zoo.ops import imresize, quantize

__all__ = ["DEGRADATIONS", "degrade"]

DEGRADATIONS = ("bicubic", "gaussian-bicubic")


def degrade(
    hr: Tensor, scale: int, kind: str = "bicubic", blur_sigma: float = 1.0, quantize_8bit: bool = True
) -> Tensor:
    """LR of ``hr`` (``(..., C, H, W)`` in [0, 1], H and W multiples of ``scale``).

    ``bicubic``: MATLAB ``imresize(hr, 1/scale)``. ``gaussian-bicubic`` (papers/msfmgan.txt 4.1):
    a Gaussian blur of standard deviation ``blur_sigma`` (kernel ``2 ceil(3 sigma) + 1``, replicated
    borders as MATLAB's ``imfilter(..., 'replicate')``) before the bicubic resize. The LR is rounded to
    8 bits by default, as the papers stored it.
    """
    if kind not in DEGRADATIONS:
        raise ValueError(f"degradation must be one of {', '.join(DEGRADATIONS)}, got {kind!r}")
    x = hr if hr.dim() == 4 else hr.unsqueeze(0)
    if kind == "gaussian-bicubic":
        k = 2 * math.ceil(3 * blur_sigma) + 1
        x = gaussian_blur2d(x, (k, k), (blur_sigma, blur_sigma), border_type="replicate")
    with torch.no_grad():
        lr = imresize(x, scale=1.0 / scale, size=(x.shape[-2] // scale, x.shape[-1] // scale))
    lr = quantize(lr) if quantize_8bit else lr.clamp(0, 1)
    return lr if hr.dim() == 4 else lr.squeeze(0)
