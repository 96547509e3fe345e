"""SRSEG's segmentation loss: the cross-entropy over the pixels its boundary mask keeps (SRSEG paper, eq. 1)."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["masked_cross_entropy"]


def masked_cross_entropy(logits: Tensor, label: Tensor, mask: Tensor | None = None, ignore_index: int = 255) -> Tensor:
    """Pixel-wise cross-entropy averaged over the pixels that count (SRSEG paper, eq. 1, M_boundary . L_seg).

    ``logits`` ``(N, C, H, W)``, ``label`` ``(N, H, W)`` class indices (``ignore_index``: unlabeled),
    ``mask`` ``(N, H, W)`` bool, True where the loss counts (SRSEG's boundary mask). The mean is over
    counted pixels, so its scale does not depend on how much of the patch the mask removes; with no
    pixel counted the loss is 0 (and still part of the graph).
    """
    per_pixel = torch.nn.functional.cross_entropy(logits.float(), label.long(), ignore_index=ignore_index,
                                                  reduction="none")
    counted = label != ignore_index
    if mask is not None:
        counted = counted & mask.bool()
    weights = counted.to(per_pixel.dtype)
    return (per_pixel * weights).sum() / weights.sum().clamp(min=1.0)
