"""EMTCM, from "An Effective Multi-Task Two-Stage Network with the Cross-Scale Training Strategy for
Multi-Scale Image Super Resolution" (Yang et al., Electronics 2021): a two-stage hourglass on Y with a
multi-task loss and cross-scale training.

Follows the EMTCM paper's Sec. 3 (architecture, loss) and 4.2 (layer sizes, learning rates, two-step data
schedule, cross-scale strategy). Where the paper is ambiguous, the readings (3x3 mapping kernel against
4.2's literal 1x1, the nine one-layer residual blocks, the per-image loss reductions) and the parameter
count that Table 5 does not match are in README.md.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Literal

from torch import Tensor, nn

from sr_zoo.models._registry import register_model
from sr_zoo.models.base import PixelLossModule
from sr_zoo.models.blocks import ConvPReLU, PaddingMode, Residual, deconv_upsampler
from sr_zoo.models.emtcm.loss import MultiTaskLoss

__all__ = ["EMTCM", "EMTCMNet"]


class EMTCMNet(nn.Module):
    """G = Conv(5, 56), F = Conv(1, 12), M = 9 residual Conv(k, 12) with a long skip, R = Conv(1, 56),
    De = Deconv(9, 1) with stride ``scale``; PReLU after every convolution; one (Y) channel. Padding as
    ``FSRCNNNet``'s (``padding_mode``, ``deconv_padding``: ``None`` centres the deconvolution)."""

    def __init__(self, scale: int, d: int = 56, s: int = 12, mapping_layers: int = 9, mapping_kernel: int = 3,
                 padding_mode: PaddingMode = "zeros", deconv_padding: int | None = None) -> None:
        super().__init__()
        self.coarse = ConvPReLU(1, d, 5, padding_mode)  # G
        self.memory_friendly = ConvPReLU(d, s, 1, padding_mode)  # F
        self.mapping = nn.Sequential(*[Residual(OrderedDict(body=ConvPReLU(s, s, mapping_kernel, padding_mode)))
                                       for _ in range(mapping_layers)])  # M: one conv + PReLU per block
        self.recovery = ConvPReLU(s, d, 1, padding_mode)  # R
        self.deconv = deconv_upsampler(d, 1, 9, scale, padding=deconv_padding, padding_mode=padding_mode)  # De

    def forward(self, y: Tensor) -> Tensor:
        low = self.memory_friendly(self.coarse(y))
        high = low + self.mapping(low)  # long skip over M
        return self.deconv(self.recovery(high))


@register_model("emtcm")
class EMTCM(PixelLossModule):
    """EMTCM on Y with the multi-task loss ``sum_n (1 - SSIM_n) + beta * sum_n CE_n`` (EMTCM paper, eq. 6-8,
    beta = 1e-4).

    Learning rates 1e-3 (convolutions) and 1e-4 (deconvolution) (Sec. 4.2), with Adam; the two-step data
    schedule that halves them is ``sr_zoo.training.schedules.TwoStepDataSchedule``.

    Args:
        scale: upscaling factor (2, 3 or 4).
        mapping_kernel: kernel size of the nine mapping layers (3, or 1 for Sec. 4.2's literal "Conv(1,12,12)").
        beta: weight of the cross-entropy task (eq. 8).
        ce_reading: what eq. 7's distribution is: ``pixel`` (Bernoulli per pixel) or ``image``
            (intensities normalised over the image); see ``sr_zoo.losses.DistributionCrossEntropy``.
        ce_pixels: the per-pixel CE of an image averaged (``mean``: beta is independent of the patch
            size) or summed (``sum``: beta is in effect multiplied by the pixels of a patch).
        hvs_task: keep the SSIM task; ``False`` with the default beta is Table 6's EMTCM-HVS, and
            ``beta=0`` is its EMTCM-FD.
        lr: learning rate of the convolutions.
        deconv_lr: learning rate of the deconvolution.
        init_from: checkpoint of a trained EMTCM (the x3 one for the cross-scale strategy) whose weights
            start this model; read when a fit starts from scratch, not when it resumes.
        finetune: ``all`` trains every layer; ``deconv`` freezes G, F, M and R (cross-scale, Sec. 4.2).
        padding_mode: ``zeros`` (default: Sec. 4.2 implements EMTCM in PyTorch 1.0.0, whose convolutions
            pad with zeros and have no other mode) or ``replicate`` (FSRCNN's authors' code, from which
            EMTCM's layers come); measured both ways in README.md.
        deconv_padding: the deconvolution's padding; ``None`` centres it (x2 4, x3 3, x4 4), as FSRCNN's.
            The zoo's weights before these options were zero-padded with deconvolution padding 4, and load so.
    """

    y_channel = True
    legacy_hparams = {"padding_mode": "zeros", "deconv_padding": 4}

    def __init__(
        self,
        scale: int = 3,
        mapping_kernel: int = 3,
        beta: float = 1e-4,
        ce_reading: Literal["pixel", "image"] = "pixel",
        ce_pixels: Literal["mean", "sum"] = "mean",
        hvs_task: bool = True,
        lr: float = 1e-3,
        deconv_lr: float = 1e-4,
        init_from: str | None = None,
        finetune: Literal["all", "deconv"] = "all",
        padding_mode: PaddingMode = "zeros",
        deconv_padding: int | None = None,
        sample_images: int = 1,
    ) -> None:
        super().__init__(scale, sample_images)
        self.save_hyperparameters()
        self.net = EMTCMNet(scale, mapping_kernel=mapping_kernel, padding_mode=padding_mode,
                            deconv_padding=deconv_padding)
        self.loss = MultiTaskLoss(beta=beta, reading=ce_reading, ce_pixels=ce_pixels, hvs=hvs_task)
        if finetune == "deconv":
            self.train_only("deconv.")

    def loss_weights(self, stage: str) -> dict[str, float]:
        """Eq. 8: the SSIM task (1 - SSIM, weight 1, unless ``hvs_task=False``) and beta x the CE task."""
        weights = {"1-SSIM": 1.0 if self.loss.hvs else 0.0, "CE": self.loss.beta}
        return {k: v for k, v in weights.items() if v}

    def pixel_loss(self, sr: Tensor, hr: Tensor) -> Tensor:
        return self.loss(sr, hr)

    def optimizer_parameters(self) -> dict[str, list[dict[str, Any]]]:
        """Convolutions at ``lr``, the deconvolution at ``deconv_lr`` (Sec. 4.2); with ``finetune="deconv"``
        the frozen layers are in no group."""
        return self.last_layer_groups("deconv", self.hparams.lr, self.hparams.deconv_lr)
