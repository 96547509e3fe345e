"""Training losses shared by the zoo's models.

EMTCM's multi-task loss (papers/emtcm.txt 3.2, eq. 6-8) is built from two reusable parts: an SSIM
loss on kornia's differentiable SSIM, and a cross-entropy between the intensity distributions of the
SR and HR images.
"""

from __future__ import annotations

from typing import Literal

import torch
from kornia.metrics import ssim as kornia_ssim
from torch import Tensor, nn

__all__ = ["DistributionCrossEntropy", "MultiTaskLoss", "SSIMLoss"]

Reduction = Literal["sum", "mean"]


def _reduce(per_image: Tensor, reduction: Reduction) -> Tensor:
    return per_image.sum() if reduction == "sum" else per_image.mean()


class SSIMLoss(nn.Module):
    """``sum_n (1 - SSIM(X_n, X^_n))`` (eq. 6): kornia's SSIM (11x11 Gaussian window, sigma 1.5),
    averaged over each image's valid windows; images in [0, 1]."""

    def __init__(self, window_size: int = 11, reduction: Reduction = "sum") -> None:
        super().__init__()
        self.window_size, self.reduction = window_size, reduction

    def forward(self, sr: Tensor, hr: Tensor) -> Tensor:
        ssim_map = kornia_ssim(sr, hr, self.window_size, max_val=1.0, padding="valid")
        return _reduce(1.0 - ssim_map.flatten(1).mean(dim=1), self.reduction)


class DistributionCrossEntropy(nn.Module):
    """``-sum_n sum_i p_n(i) log p^_n(i)`` (eq. 7) between the intensity distributions of HR and SR.

    The paper calls ``p_X`` "the ground-truth probability distribution of image X" without defining
    it. The reading used here: each image is a distribution over its pixels, ``p(i) = x_i / sum_j x_j``
    (intensities normalised to sum to one; ``eps`` keeps the logarithm finite). It is the reading that
    fits eq. 7 as written (one distribution per image, summed over the batch ``n``), needs nothing the
    network does not output, and is minimised exactly when the SR image's normalised intensities
    equal the HR image's, i.e. it "fits the ground-truth data distribution" up to a global brightness
    factor, which the SSIM term fixes. Its minimum is the entropy of ``p``, not zero.
    """

    def __init__(self, eps: float = 1e-8, reduction: Reduction = "sum") -> None:
        super().__init__()
        self.eps, self.reduction = eps, reduction

    def forward(self, sr: Tensor, hr: Tensor) -> Tensor:
        p = hr.flatten(1).clamp_min(0) + self.eps
        q = sr.flatten(1).clamp_min(0) + self.eps
        p = p / p.sum(dim=1, keepdim=True)
        log_q = torch.log(q) - torch.log(q.sum(dim=1, keepdim=True))
        return _reduce(-(p * log_q).sum(dim=1), self.reduction)


class MultiTaskLoss(nn.Module):
    """EMTCM's multi-task co-optimisation, ``L = L_HVS + beta * L_FD`` (eq. 8, beta = 1e-4)."""

    def __init__(self, beta: float = 1e-4, reduction: Reduction = "sum") -> None:
        super().__init__()
        self.beta = beta
        self.ssim = SSIMLoss(reduction=reduction)
        self.cross_entropy = DistributionCrossEntropy(reduction=reduction)

    def forward(self, sr: Tensor, hr: Tensor) -> Tensor:
        return self.ssim(sr, hr) + self.beta * self.cross_entropy(sr, hr)
