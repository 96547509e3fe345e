"""The adversarial losses of the GAN papers on discriminator logits (MSFM GAN eq. 5; SRGAN, SRSEG)."""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["AdversarialLoss"]


class AdversarialLoss(nn.Module):
    """GAN losses on discriminator logits; ``generator`` and ``discriminator`` give each side's loss.

    ``kind``: ``"bce"`` (vanilla GAN: D minimises the binary cross-entropy, G minimises ``-log D(G(x))``,
    the non-saturating form, MSFM GAN paper, eq. 5) or ``"lsgan"`` (least squares, targets 1/0).
    ``patch_reduction`` for patch discriminators (logits ``(N, 1, H', W')``): ``"mean_probability"``
    averages the patch probabilities first and takes the log of that mean (eq. 5 read literally: "the
    final score ... obtained by averaging the output responses of all the patches"), ``"per_patch"``
    averages per-patch losses (pix2pix). A discriminator with one logit per image gives the same either way.
    """

    def __init__(self, kind: Literal["bce", "lsgan"] = "bce",
                 patch_reduction: Literal["mean_probability", "per_patch"] = "mean_probability") -> None:
        super().__init__()
        if kind not in ("bce", "lsgan"):
            raise ValueError(f"adversarial loss kind must be 'bce' or 'lsgan', got {kind!r}")
        if patch_reduction not in ("mean_probability", "per_patch"):
            raise ValueError(f"patch_reduction must be 'mean_probability' or 'per_patch', got {patch_reduction!r}")
        self.kind, self.patch_reduction = kind, patch_reduction

    def _log_mean_sigmoid(self, logits: Tensor, sign: float) -> Tensor:
        """``log(mean_patches sigmoid(sign * logits))`` per image, computed stably in log space."""
        flat = F.logsigmoid(sign * logits.float()).flatten(1)
        return torch.logsumexp(flat, dim=1) - math.log(flat.shape[1])

    def _bce(self, logits: Tensor, real: bool) -> Tensor:
        sign = 1.0 if real else -1.0  # log(1 - sigmoid(l)) = logsigmoid(-l)
        if self.patch_reduction == "mean_probability":
            return -self._log_mean_sigmoid(logits, sign).mean()
        return -F.logsigmoid(sign * logits.float()).mean()

    def _lsgan(self, logits: Tensor, target: float) -> Tensor:
        if self.patch_reduction == "mean_probability":
            return ((logits.float().flatten(1).mean(dim=1) - target) ** 2).mean()
        return ((logits.float() - target) ** 2).mean()

    def generator(self, fake_logits: Tensor) -> Tensor:
        """G's loss: ``-log D(G(x))`` (bce) or ``(D(G(x)) - 1)^2`` (lsgan)."""
        return self._bce(fake_logits, real=True) if self.kind == "bce" else self._lsgan(fake_logits, 1.0)

    def discriminator(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        """D's loss: real images labelled 1, generated ones 0."""
        if self.kind == "bce":
            return self._bce(real_logits, real=True) + self._bce(fake_logits, real=False)
        return self._lsgan(real_logits, 1.0) + self._lsgan(fake_logits, 0.0)
