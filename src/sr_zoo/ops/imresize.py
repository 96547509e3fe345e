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

Upscaling by an integer factor ``s`` (what every SR model and the bicubic baseline do) takes the same
weights as a polyphase convolution: output ``s*k + p`` weighs the inputs around ``k`` with a kernel that
depends only on the phase ``p``. That graph does not depend on the image size, so a model exports
(ONNX, TorchScript) with dynamic height and width, and costs ``O(taps)`` per pixel instead of a dense
``O(H)`` row of the resize matrix.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Sequence

import torch
from torch import Tensor

__all__ = ["cubic_kernel", "imresize", "resize_matrix", "upsample_integer"]

_KERNEL_WIDTH = 4.0


def cubic_kernel(x: Tensor | float) -> Tensor | float:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's ``cubic``), of a tensor or a float."""
    ax = abs(x)
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


@lru_cache(maxsize=32)
def _phase_kernel(scale: int) -> tuple[tuple[tuple[float, ...], ...], int, int]:
    """``(kernel, left, right)`` for integer upscaling: ``out[s*k + p] = sum_t kernel[p][t] * x[k - left + t]``,
    ``x`` mirrored by ``left``/``right`` samples; MATLAB's weights (``_contributions``) for output ``s*k + p``,
    which depend on the phase ``p`` alone. Plain floats, not tensors: an exporter tracing the model sees constants."""
    rows = []
    for phase in range(scale):
        u = (phase + 0.5) / scale + 0.5  # input coordinate of output s*k + phase, 1-based, relative to k
        taps = [math.floor(u - _KERNEL_WIDTH / 2) + t for t in range(math.ceil(_KERNEL_WIDTH) + 2)]
        weights = [cubic_kernel(u - j) for j in taps]
        total = sum(weights)
        rows.append({j - 1: w / total for j, w in zip(taps, weights) if w != 0})  # 0-based offset from k
    left = -min(min(row) for row in rows)
    right = max(max(row) for row in rows)
    kernel = tuple(tuple(row.get(offset, 0.0) for offset in range(-left, right + 1)) for row in rows)
    return kernel, left, right


def _upsample_dim(x: Tensor, scale: int, dim: int) -> Tensor:
    """Integer bicubic upscaling of ``x`` ``(B, 1, H, W)`` along ``dim`` (2: height, 3: width)."""
    values, left, right = _phase_kernel(scale)
    kernel = torch.tensor(values, dtype=torch.float64).to(device=x.device, dtype=x.dtype)
    # MATLAB's "symmetric" mirror (edge sample repeated) is a flipped copy of the first/last samples.
    head, tail = x.narrow(dim, 0, left).flip(dim), x.narrow(dim, x.shape[dim] - right, right).flip(dim)
    padded = torch.cat([head, x, tail], dim=dim)
    taps = kernel.shape[1]
    weight = kernel.view(scale, 1, taps, 1) if dim == 2 else kernel.view(scale, 1, 1, taps)
    phases = torch.nn.functional.conv2d(padded, weight)  # (B, scale, H, W): one channel per phase
    batch, _, height, width = phases.shape
    if dim == 2:  # interleave the phases: row k of phase p becomes row s*k + p
        return phases.permute(0, 2, 1, 3).reshape(batch, 1, height * scale, width)
    return phases.permute(0, 2, 3, 1).reshape(batch, 1, height, width * scale)


def upsample_integer(x: Tensor, scale: int) -> Tensor:
    """MATLAB's ``imresize(x, scale, 'bicubic')`` for an integer ``scale`` >= 2 and ``x`` ``(..., H, W)``
    no shorter than the kernel's reach past an edge (2 samples): the polyphase form, height first (as MATLAB
    on equal scales)."""
    lead = x.shape[:-2]
    flat = x.reshape(-1, 1, x.shape[-2], x.shape[-1])
    out = _upsample_dim(_upsample_dim(flat, scale, 2), scale, 3)
    return out.reshape(lead + out.shape[-2:])


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
    integer = scales[0] == scales[1] and float(scales[0]).is_integer() and scales[0] >= 2
    # (the polyphase form mirrors once: a side shorter than the kernel's reach goes the matrix way)
    if integer and sizes == tuple(int(scales[0]) * i for i in in_size) and min(in_size) >= max(
            _phase_kernel(int(scales[0]))[1:]):
        return upsample_integer(x, int(scales[0])).contiguous().to(out_dtype)
    # MATLAB resizes the dimension with the smallest scale first; sorted() is stable, so H wins ties.
    for dim in sorted((0, 1), key=lambda d: scales[d]):
        if dim == 0:
            x = _matrix(x.shape[-2], sizes[0], float(scales[0]), antialias, x) @ x
        else:
            x = x @ _matrix(x.shape[-1], sizes[1], float(scales[1]), antialias, x).T
    return x.contiguous().to(out_dtype)
