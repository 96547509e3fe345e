"""NIQE (Mittal, Soundararajan and Bovik, "Making a Completely Blind Image Quality Analyzer", IEEE Signal
Processing Letters 2013), computed as the authors' MATLAB release does it (``computequality.m``), lower is better.

The Y image (0..255) is cut to whole 96x96 blocks; at two scales (the image, then MATLAB ``imresize`` by 0.5)
each pixel is normalised by a 7x7 Gaussian local mean and deviation (replicated borders), and each block
(96x96, then 48x48) gives 18 features: an asymmetric generalised Gaussian (AGGD) fitted to the block and to its
products with four shifted copies. NIQE is the distance between the multivariate Gaussian of the image's blocks
and the pristine model fitted by the authors to natural images. Hand-written because the ports that exist bring
dozens of packages (pyiqa) or run in numpy on the CPU only (BasicSR); this one runs in float64 torch on the
image's device, a bounded number of blocks at a time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from sr_zoo.ops.imresize import imresize

__all__ = ["NIQE_BLOCK", "PRISTINE_SHA256", "PRISTINE_URL", "PristineModel", "niqe", "pristine_model"]

NIQE_BLOCK = 96
"""The side of NIQE's blocks (``computequality.m``: ``blocksizerow = blocksizecol = 96``)."""

PRISTINE_URL = "https://raw.githubusercontent.com/XPixelGroup/BasicSR/v1.4.2/basicsr/metrics/niqe_pris_params.npz"
"""The pristine model of the official release (``modelparameters.mat``) as numpy, where BasicSR keeps it."""
PRISTINE_SHA256 = "2a7c182a68c9e7f1b2e2e5ec723279d6f65d912b6fcaf37eb2bf03d7367c4296"

_BLOCKS_AT_ONCE = 256  # blocks whose features are computed together: bounds memory on large images
_GAMMAS = (0.2, 10.0, 0.001)  # the AGGD shape searched over, as estimateaggdparam.m: 0.2:0.001:10


@dataclass(frozen=True)
class PristineModel:
    """The multivariate Gaussian of natural images' NIQE features: mean ``(36,)`` and covariance ``(36, 36)``."""

    mean: Tensor
    cov: Tensor

    def to(self, device: torch.device | str) -> PristineModel:
        return PristineModel(self.mean.to(device), self.cov.to(device))


def pristine_model(path: str | Path | None = None) -> PristineModel:
    """The pristine model from ``path`` (an ``.npz`` with ``mu_pris_param`` and ``cov_pris_param``), else from the
    torch cache, fetched once from ``PRISTINE_URL`` and checked against ``PRISTINE_SHA256``; read without pickle."""
    if path is None:
        from sr_zoo.files.download import cached_download

        path = cached_download(PRISTINE_URL, "NIQE's pristine model (niqe_pris_params.npz)", sha256=PRISTINE_SHA256)
    with np.load(path, allow_pickle=False) as arrays:
        mean, cov = arrays["mu_pris_param"], arrays["cov_pris_param"]
    if mean.size != 36 or cov.shape != (36, 36):
        raise ValueError(f"{path}: not NIQE's pristine model (mean {mean.shape}, covariance {cov.shape})")
    return PristineModel(torch.from_numpy(mean.reshape(36).astype(np.float64)),
                         torch.from_numpy(cov.astype(np.float64)))


def gaussian_window(device: torch.device | str = "cpu") -> Tensor:
    """MATLAB ``fspecial('gaussian', 7, 7/6)``, normalised (``computequality.m``), float64 ``(7, 7)``."""
    taps = torch.arange(-3, 4, dtype=torch.float64, device=device)
    window = torch.exp(-(taps[:, None] ** 2 + taps[None, :] ** 2) / (2 * (7 / 6) ** 2))
    return window / window.sum()


@lru_cache(maxsize=4)
def _aggd_shapes(device: str) -> tuple[Tensor, Tensor]:
    """The AGGD shapes searched and the ratio Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a)) of each (increasing)."""
    start, stop, step = _GAMMAS
    shapes = start + step * torch.arange(round((stop - start) / step) + 1, dtype=torch.float64, device=device)
    ratio = torch.exp(2 * torch.lgamma(2 / shapes) - torch.lgamma(1 / shapes) - torch.lgamma(3 / shapes))
    return shapes, ratio


def _nearest(ratio: Tensor, value: Tensor) -> Tensor:
    """``argmin((ratio - value)^2)`` per value, the first on a tie, by bisection: ``ratio`` increases strictly.
    A NaN value (a flat block: no fit) gives 0, as MATLAB's ``min`` over NaNs gives the first shape, 0.2, which
    the mean of the shape features then counts (its scales are NaN, so the block is out of the covariance)."""
    value = value.contiguous()
    upper = torch.searchsorted(ratio, value).clamp(1, len(ratio) - 1)
    below = (value - ratio[upper - 1]) ** 2 <= (ratio[upper] - value) ** 2
    return torch.where(torch.isnan(value), 0, torch.where(below, upper - 1, upper))


def _aggd(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Shape and left/right scales of an AGGD fitted to each row of ``x`` (moment matching, as
    ``estimateaggdparam.m``); a row with no negative or no positive value has NaN scales (MATLAB's empty mean)."""
    shapes, ratio = _aggd_shapes(str(x.device))
    squares = x * x
    negative, positive = x < 0, x > 0
    left = torch.sqrt((squares * negative).sum(1) / negative.sum(1))
    right = torch.sqrt((squares * positive).sum(1) / positive.sum(1))
    gamma_hat = left / right
    r_hat = x.abs().mean(1) ** 2 / squares.mean(1)
    r_norm = r_hat * (gamma_hat**3 + 1) * (gamma_hat + 1) / (gamma_hat**2 + 1) ** 2
    alpha = shapes[_nearest(ratio, r_norm)]
    scale = torch.exp(0.5 * (torch.lgamma(1 / alpha) - torch.lgamma(3 / alpha)))
    return alpha, left * scale, right * scale


def _block_features(blocks: Tensor) -> Tensor:
    """``computefeature.m``: 18 features of each block ``(B, h, w)``: the AGGD of the block (shape, mean
    scale), then of its products with the block shifted (circularly, within the block) right, down, down-right
    and up-right (shape, mean, left and right scales)."""
    alpha, left, right = _aggd(blocks.flatten(1))
    features = [alpha, (left + right) / 2]
    for shift in ((0, 1), (1, 0), (1, 1), (-1, 1)):
        alpha, left, right = _aggd((blocks * torch.roll(blocks, shift, dims=(1, 2))).flatten(1))
        mean = (right - left) * torch.exp(torch.lgamma(2 / alpha) - torch.lgamma(1 / alpha))
        features += [alpha, mean, left, right]
    return torch.stack(features, dim=1)


def _normalised(y: Tensor, window: Tensor) -> Tensor:
    """(y - local mean) / (local deviation + 1), the 7x7 Gaussian filter with replicated borders (``imfilter``)."""
    padded = F.pad(torch.stack([y, y * y])[:, None], (3, 3, 3, 3), mode="replicate")
    mean, mean_sq = F.conv2d(padded, window[None, None])[:, 0]
    return (y - mean) / (torch.sqrt((mean_sq - mean * mean).abs()) + 1)


def _features(y: Tensor, block: int, window: Tensor) -> Tensor:
    """The features of every ``block`` x ``block`` block of ``y`` (rows in block order, the same at both scales)."""
    blocks = _normalised(y, window).unfold(0, block, block).unfold(1, block, block).reshape(-1, block, block)
    return torch.cat([_block_features(part) for part in blocks.split(_BLOCKS_AT_ONCE)])


def niqe(y: Tensor, model: PristineModel) -> Tensor:
    """NIQE of one Y image ``(H, W)`` in 0..255 (MATLAB's uint8 Y: rounded), float64 scalar on ``y``'s device.

    The image is cut to whole 96x96 blocks from its top left (``computequality.m``); one smaller than a block
    in either direction is a ``ValueError``.
    """
    if y.dim() != 2:
        raise ValueError(f"NIQE scores one Y image (H, W), got shape {tuple(y.shape)}")
    height, width = (s - s % NIQE_BLOCK for s in y.shape)
    if not height or not width:
        raise ValueError(f"NIQE needs an image of at least {NIQE_BLOCK}x{NIQE_BLOCK} pixels, got "
                         f"{y.shape[0]}x{y.shape[1]}")
    y = y[:height, :width].to(torch.float64)
    window = gaussian_window(y.device)
    fine = _features(y, NIQE_BLOCK, window)
    coarse = _features(imresize(y, scale=0.5), NIQE_BLOCK // 2, window)
    features = torch.cat([fine, coarse], dim=1)
    mean = torch.nanmean(features, dim=0)
    complete = features[~torch.isnan(features).any(dim=1)]
    cov = torch.cov(complete.T) if len(complete) > 1 else torch.full_like(model.cov, math.nan)
    model = model.to(y.device)
    diff = model.mean - mean
    return torch.sqrt(diff @ torch.linalg.pinv((model.cov + cov) / 2) @ diff)
