"""ITU-R BT.601 studio-swing colour conversion, as MATLAB's ``rgb2ycbcr`` / ``ycbcr2rgb``.

Hand-written because kornia's ``rgb_to_ycbcr`` is the full-range JPEG variant (Y = 0.299 R + ...),
while every SR table is scored on MATLAB's Y = 16 + 65.481 R + 128.553 G + 24.966 B (R, G, B in
[0, 1], Y in [0, 255]). All tensors here are ``(N, 3, H, W)`` (or ``(3, H, W)``) in [0, 1].
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["rgb_to_y", "rgb_to_ycbcr", "ycbcr_to_rgb"]

# Rows give Y, Cb, Cr in 0..255 units for R, G, B in [0, 1] (MATLAB rgb2ycbcr, T and offset).
_RGB_TO_YCBCR = torch.tensor(
    [
        [65.481, 128.553, 24.966],
        [-37.797, -74.203, 112.0],
        [112.0, -93.786, -18.214],
    ],
    dtype=torch.float64,
)
_OFFSET = torch.tensor([16.0, 128.0, 128.0], dtype=torch.float64)


def _check_rgb(x: Tensor) -> None:
    if x.dim() < 3 or x.shape[-3] != 3:
        raise ValueError(f"expected an RGB tensor (..., 3, H, W), got shape {tuple(x.shape)}")


def _apply(matrix: Tensor, x: Tensor) -> Tensor:
    m = matrix.to(device=x.device, dtype=x.dtype)
    return torch.einsum("ij,...jhw->...ihw", m, x)


def rgb_to_ycbcr(x: Tensor) -> Tensor:
    """RGB in [0, 1] to YCbCr in [0, 1] (Y in [16/255, 235/255], MATLAB ``rgb2ycbcr`` divided by 255)."""
    _check_rgb(x)
    offset = _OFFSET.to(device=x.device, dtype=x.dtype)[:, None, None]
    return (_apply(_RGB_TO_YCBCR, x) + offset) / 255.0


def ycbcr_to_rgb(x: Tensor) -> Tensor:
    """Inverse of :func:`rgb_to_ycbcr` (MATLAB ``ycbcr2rgb``); the result is not clamped."""
    _check_rgb(x)
    offset = _OFFSET.to(device=x.device, dtype=x.dtype)[:, None, None]
    inverse = torch.linalg.inv(_RGB_TO_YCBCR)
    return _apply(inverse, x * 255.0 - offset)


def rgb_to_y(x: Tensor) -> Tensor:
    """Luma of MATLAB ``rgb2ycbcr`` in [0, 1] units, keeping a channel dimension of size 1."""
    return rgb_to_ycbcr(x)[..., :1, :, :]
