"""MATLAB-compatible bicubic ``imresize`` for batched tensors.

Hand-written because no library reproduces MATLAB: ``torch.nn.functional.interpolate`` uses
a = -0.75 without antialiasing (and with ``antialias=True`` it renormalises the kernel at the
borders instead of mirroring the image), kornia and OpenCV do not widen the kernel when
shrinking. Every published SR table was made with MATLAB's ``imresize``, so the degradation
must be MATLAB's to the last bit for the numbers here to mean what they mean in a paper.

The algorithm (MATLAB ``imresize.m``): for each output sample ``i`` (1-based) the input
coordinate is ``u = i / s + 0.5 (1 - 1/s)``; the Keys cubic kernel (a = -0.5) is evaluated at
the ``ceil(width) + 2`` nearest input samples, widened by ``1/s`` when shrinking
(antialiasing), normalised to sum to one, and indices falling outside the image are mirrored
("symmetric" padding, edge sample repeated). Dimensions are resized one at a time, the one
with the smallest scale first (height first on ties).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Sequence

import torch
from torch import Tensor

__all__ = ["cubic_kernel", "imresize", "resize_matrix"]

_KERNEL_WIDTH = 4.0


def cubic_kernel(x: Tensor) -> Tensor:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's ``cubic``)."""
    ax = x.abs()
    ax2, ax3 = ax * ax, ax * ax * ax
    near = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    far = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return near + far


@lru_cache(maxsize=512)
def _contributions(in_length: int, out_length: int, scale: float, antialias: bool) -> tuple[Tensor, Tensor]:
    """Input indices (0-based, mirrored) and float64 weights, both ``(out_length, taps)``."""
    shrink_aa = antialias and scale < 1
    width = _KERNEL_WIDTH / scale if shrink_aa else _KERNEL_WIDTH
    x = torch.arange(1, out_length + 1, dtype=torch.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = torch.floor(u - width / 2)
    taps = math.ceil(width) + 2
    indices = left[:, None] + torch.arange(taps, dtype=torch.float64)[None, :]  # 1-based
    distance = u[:, None] - indices
    weights = scale * cubic_kernel(distance * scale) if shrink_aa else cubic_kernel(distance)
    weights = weights / weights.sum(dim=1, keepdim=True)
    mirror = torch.cat([torch.arange(in_length), torch.arange(in_length - 1, -1, -1)])
    indices = mirror[(indices.long() - 1) % (2 * in_length)]
    used = (weights != 0).any(dim=0)  # MATLAB drops taps that are zero for every output
    return indices[:, used].contiguous(), weights[:, used].contiguous()


@lru_cache(maxsize=512)
def resize_matrix(in_length: int, out_length: int, scale: float, antialias: bool) -> Tensor:
    """Dense ``(out_length, in_length)`` float64 matrix of the contributions (mirrored taps summed).

    A matrix product with it is faster on CPU than gathering the taps (``benchmarks/imresize_vs_numpy.py``).
    """
    indices, weights = _contributions(in_length, out_length, scale, antialias)
    matrix = torch.zeros(out_length, in_length, dtype=torch.float64)
    return matrix.scatter_add_(1, indices, weights)


def _matrix(in_length: int, out_length: int, scale: float, antialias: bool, like: Tensor) -> Tensor:
    return resize_matrix(in_length, out_length, scale, antialias).to(device=like.device, dtype=like.dtype)


def _pair(value: float | Sequence[float] | None, name: str) -> tuple | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return (value, value)
    if len(value) != 2:
        raise ValueError(f"imresize: {name} must be a number or a (height, width) pair, got {value!r}")
    return tuple(value)


def imresize(
    x: Tensor,
    scale: float | Sequence[float] | None = None,
    size: int | Sequence[int] | None = None,
    antialias: bool = True,
) -> Tensor:
    """Resize ``x`` (``(..., H, W)`` float tensor) exactly as MATLAB's ``imresize(x, scale, 'bicubic')``.

    Args:
        x: floating-point tensor, any leading dimensions (``NCHW``, ``CHW``, ``HW``), any device.
            float16/bfloat16 are computed in float32 and returned in their own dtype. No clamping
            or rounding is applied: quantise afterwards if an 8-bit image is wanted.
        scale: factor, or ``(scale_h, scale_w)``; the output size is ``ceil(scale * input)``.
        size: output ``(height, width)`` (or one int for both). With ``scale`` omitted the scale is
            ``size / input`` per dimension, as in MATLAB; with both, ``scale`` shapes the kernel.
        antialias: widen the kernel when shrinking (MATLAB's default ``'Antialiasing', true``).
    """
    if not torch.is_floating_point(x):
        raise TypeError(f"imresize: expected a floating-point tensor, got {x.dtype}")
    if x.dim() < 2:
        raise ValueError(f"imresize: expected a tensor with at least 2 dimensions (..., H, W), "
                         f"got shape {tuple(x.shape)}")
    in_size = (x.shape[-2], x.shape[-1])
    scales, sizes = _pair(scale, "scale"), _pair(size, "size")
    if scales is None and sizes is None:
        raise ValueError("imresize: give scale or size")
    if scales is None:
        scales = tuple(o / i for o, i in zip(sizes, in_size))
    if sizes is None:
        sizes = tuple(math.ceil(s * i) for s, i in zip(scales, in_size))
    if min(scales) <= 0 or min(sizes) <= 0:
        raise ValueError(f"imresize: scale and size must be positive, got scale={scales}, size={sizes}")

    out_dtype = x.dtype
    if x.dtype in (torch.float16, torch.bfloat16):
        x = x.float()
    # MATLAB resizes the dimension with the smallest scale first; sorted() is stable, so H wins ties.
    for dim in sorted((0, 1), key=lambda d: scales[d]):
        if dim == 0:
            x = _matrix(x.shape[-2], sizes[0], float(scales[0]), antialias, x) @ x
        else:
            x = x @ _matrix(x.shape[-1], sizes[1], float(scales[1]), antialias, x).T
    return x.contiguous().to(out_dtype)
