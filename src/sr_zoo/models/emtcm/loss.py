"""EMTCM's multi-task loss (EMTCM paper, Sec. 3.2, eq. 6-8): the SSIM task and a cross-entropy between the
intensity distributions of the SR and HR images, weighted by beta.

Reductions: each task is first reduced to one number per image, and both are averages over the image (SSIM
over its valid windows, the per-pixel cross-entropy over its pixels; the image reading's distribution sums to
1 already); eq. 6 and 7 then sum over the images of the batch. The literal-minded alternative, the pixel
cross-entropy summed over pixels (``ce_pixels="sum"``), weighs it by beta x (pixels per patch).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from sr_zoo.losses.pixel import Reduction, SSIMLoss, reduce_images

__all__ = ["DistributionCrossEntropy", "MultiTaskLoss"]


class DistributionCrossEntropy(nn.Module):
    """``-sum_n p_n log p^_n`` (eq. 7) between the "ground-truth probability distribution" of the HR
    image and the one the network outputs. The paper does not define the distribution; two readings:

    * ``pixel`` (default): every pixel's intensity ``y`` in [0, 1] is a Bernoulli probability, so
      ``p = (y, 1 - y)`` and the loss is ``-sum [y log y^ + (1 - y) log(1 - y^)]`` over pixels and images
      (SR clamped to [eps, 1 - eps]). It is minimal exactly where SR equals HR, pixel by pixel, so it
      pins absolute intensities; that is what the paper's Table 6 needs (dropping the CE task costs
      0.3 dB of PSNR, 33.73 -> 33.43, which a loss blind to brightness could not cost).
    * ``image``: each image is one distribution over its pixels, ``p(i) = y_i / sum_j y_j``. Minimal
      when SR's normalised intensities equal HR's: blind to a global brightness factor. Trained with
      the SSIM task it let PSNR drift down on Set5 (README, EMTCM).

    The minimum of either is the entropy of ``p``, not zero. Per image, the pixel reading is averaged
    over pixels (``pixels="mean"``, so its scale does not grow with the patch) or summed
    (``pixels="sum"``); ``reduction`` then sums (eq. 7) or averages over the batch.
    """

    def __init__(self, reading: Literal["pixel", "image"] = "pixel", eps: float = 1e-6, reduction: Reduction = "sum",
                 pixels: Reduction = "mean") -> None:
        super().__init__()
        if reading not in ("pixel", "image"):
            raise ValueError(f"reading must be 'pixel' or 'image', got {reading!r}")
        if pixels not in ("mean", "sum"):
            raise ValueError(f"pixels must be 'mean' or 'sum', got {pixels!r}")
        self.reading, self.eps, self.reduction, self.pixels = reading, eps, reduction, pixels

    def forward(self, sr: Tensor, hr: Tensor) -> Tensor:
        if self.reading == "pixel":
            p = hr.flatten(1).clamp(0, 1)
            q = sr.flatten(1).clamp(self.eps, 1 - self.eps)
            per_pixel = -(p * torch.log(q) + (1 - p) * torch.log1p(-q))
            per_image = per_pixel.mean(dim=1) if self.pixels == "mean" else per_pixel.sum(dim=1)
            return reduce_images(per_image, self.reduction)
        p = hr.flatten(1).clamp_min(0) + self.eps
        q = sr.flatten(1).clamp_min(0) + self.eps
        p = p / p.sum(dim=1, keepdim=True)
        log_q = torch.log(q) - torch.log(q.sum(dim=1, keepdim=True))
        return reduce_images(-(p * log_q).sum(dim=1), self.reduction)


class MultiTaskLoss(nn.Module):
    """EMTCM's multi-task co-optimisation, ``L = L_HVS + beta * L_FD`` (eq. 8, beta = 1e-4).

    ``hvs=False`` drops the SSIM task and ``beta=0`` the cross-entropy task: Table 6's EMTCM-HVS and
    EMTCM-FD ablations. See the module docstring for the reductions.
    """

    def __init__(self, beta: float = 1e-4, reading: Literal["pixel", "image"] = "pixel", reduction: Reduction = "sum",
                 ce_pixels: Reduction = "mean", hvs: bool = True) -> None:
        super().__init__()
        if not hvs and beta == 0:
            raise ValueError("MultiTaskLoss needs at least one task: hvs=False with beta=0 leaves no loss")
        self.beta, self.hvs = beta, hvs
        self.ssim = SSIMLoss(reduction=reduction)
        self.cross_entropy = DistributionCrossEntropy(reading=reading, reduction=reduction, pixels=ce_pixels)

    def forward(self, sr: Tensor, hr: Tensor) -> Tensor:
        loss = self.ssim(sr, hr) if self.hvs else sr.new_zeros(())
        if self.beta:
            loss = loss + self.beta * self.cross_entropy(sr, hr)
        return loss
