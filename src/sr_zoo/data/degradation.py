"""How LR training patches are made from HR ones: MATLAB bicubic, or Gaussian blur then bicubic."""

from __future__ import annotations

import math
from functools import lru_cache

import torch
from torch import Tensor

from sr_zoo.ops import quantize
from sr_zoo.ops.imresize import resize_matrix

__all__ = ["DEGRADATIONS", "degrade", "gaussian_blur_matrix"]

DEGRADATIONS = ("bicubic", "gaussian-bicubic")


@lru_cache(maxsize=64)
def gaussian_blur_matrix(length: int, sigma: float) -> Tensor:
    """``(length, length)`` float64 matrix of a 1-D Gaussian blur with replicated borders.

    The kernel is ``2 ceil(3 sigma) + 1`` taps, normalised (as kornia's and MATLAB's ``fspecial``);
    samples beyond the edge repeat the edge (MATLAB ``imfilter(..., 'replicate')``).
    """
    radius = math.ceil(3 * sigma)
    taps = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-(taps**2) / (2 * sigma**2))
    kernel /= kernel.sum()
    rows = torch.arange(length)[:, None].expand(length, 2 * radius + 1)
    cols = (rows + torch.arange(-radius, radius + 1)[None, :]).clamp(0, length - 1)
    matrix = torch.zeros(length, length, dtype=torch.float64)
    return matrix.index_put_((rows, cols), kernel.expand(length, -1), accumulate=True)


@lru_cache(maxsize=64)
def _degradation_matrix(in_length: int, scale: int, sigma: float | None) -> Tensor:
    resize = resize_matrix(in_length, in_length // scale, 1.0 / scale, True)
    return resize if sigma is None else resize @ gaussian_blur_matrix(in_length, sigma)


def degrade(
    hr: Tensor, scale: int, kind: str = "bicubic", blur_sigma: float = 1.0, quantize_8bit: bool = True
) -> Tensor:
    """LR of ``hr`` (``(..., C, H, W)`` in [0, 1], H and W multiples of ``scale``).

    ``bicubic``: MATLAB ``imresize(hr, 1/scale)``. ``gaussian-bicubic`` (MSFM GAN paper, Sec. 4.1): a
    Gaussian blur of standard deviation ``blur_sigma`` with replicated borders before the bicubic
    resize. Both are separable linear maps, so each runs as one matrix product per axis (blur and
    resize fused), cheaper on CPU than a depthwise blur convolution followed by the resize. The
    LR is rounded to 8 bits by default, as the papers stored it.
    """
    if kind not in DEGRADATIONS:
        raise ValueError(f"degradation must be one of {', '.join(DEGRADATIONS)}, got {kind!r}")
    sigma = blur_sigma if kind == "gaussian-bicubic" else None
    dtype = torch.float32 if hr.dtype in (torch.float16, torch.bfloat16) else hr.dtype
    rows = _degradation_matrix(hr.shape[-2], scale, sigma).to(hr.device, dtype)
    cols = _degradation_matrix(hr.shape[-1], scale, sigma).to(hr.device, dtype)
    with torch.no_grad():
        lr = (rows @ hr.to(dtype) @ cols.T).to(hr.dtype)
    return quantize(lr) if quantize_8bit else lr.clamp(0, 1)
