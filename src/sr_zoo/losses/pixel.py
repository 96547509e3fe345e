"""Pixel losses shared by the zoo's models: SSIM as a loss, and the per-image reduction every such loss uses.

Reductions (what makes a loss weight such as EMTCM's beta mean the same thing at any patch and batch size):
each task is first reduced to one number per image (an average over the image), then summed (``"sum"``, as
EMTCM's eq. 6 and 7) or averaged over the images of the batch. EMTCM's distribution cross-entropy and
multi-task loss are in its folder (``sr_zoo.models.emtcm.loss``), SRSEG's masked cross-entropy in its
(``sr_zoo.models.srseg.loss``).
"""

from __future__ import annotations

from typing import Literal

from kornia.metrics import ssim as kornia_ssim
from torch import Tensor, nn

__all__ = ["Reduction", "SSIMLoss", "reduce_images"]

Reduction = Literal["sum", "mean"]


def reduce_images(per_image: Tensor, reduction: Reduction) -> Tensor:
    """One value per image to the batch's: their sum or their mean."""
    return per_image.sum() if reduction == "sum" else per_image.mean()


class SSIMLoss(nn.Module):
    """``sum_n (1 - SSIM(X_n, X^_n))`` (eq. 6): kornia's SSIM (11x11 Gaussian window, sigma 1.5),
    averaged over each image's valid windows; images in [0, 1]."""

    def __init__(self, window_size: int = 11, reduction: Reduction = "sum") -> None:
        super().__init__()
        self.window_size, self.reduction = window_size, reduction

    def forward(self, sr: Tensor, hr: Tensor) -> Tensor:
        ssim_map = kornia_ssim(sr, hr, self.window_size, max_val=1.0, padding="valid")
        return reduce_images(1.0 - ssim_map.flatten(1).mean(dim=1), self.reduction)
