"""FSRCNN, from "Accelerating the Super-Resolution Convolutional Neural Network" (Dong, Loy and Tang, ECCV
2016): the closest baseline of the EMTCM paper (Table 2). See docs/baselines.md."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from sr_zoo.models._registry import register_model
from sr_zoo.models.base import PixelLossModule
from sr_zoo.models.blocks import ConvPReLU, deconv_upsampler

__all__ = ["FSRCNN", "FSRCNNNet"]


class FSRCNNNet(nn.Module):
    """Feature extraction conv5(d), shrinking conv1(s), m x conv3(s), expanding conv1(d), PReLU after
    each, and a 9x9 deconvolution with stride ``scale``, on one (Y) channel in LR space."""

    def __init__(self, scale: int, d: int = 56, s: int = 12, m: int = 4) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvPReLU(1, d, 5),
            ConvPReLU(d, s, 1),
            *[ConvPReLU(s, s, 3) for _ in range(m)],
            ConvPReLU(s, d, 1),
        )
        self.deconv = deconv_upsampler(d, 1, 9, scale)

    def forward(self, y: Tensor) -> Tensor:
        return self.deconv(self.body(y))


@register_model("fsrcnn", paper="FSRCNN (d=56, s=12, m=4), a baseline of the EMTCM paper's Table 2", scales=(2, 3, 4))
class FSRCNN(PixelLossModule):
    """FSRCNN trained with MSE on Y; learning rates ``lr`` (convolutions) and ``deconv_lr`` (deconvolution),
    as the paper's 1e-3 and 1e-4, with Adam in place of its SGD."""

    y_channel = True

    def __init__(self, scale: int = 3, d: int = 56, s: int = 12, m: int = 4, lr: float = 1e-3,
                 deconv_lr: float = 1e-4, sample_images: int = 1) -> None:
        super().__init__(scale, sample_images)
        self.save_hyperparameters()
        self.net = FSRCNNNet(scale, d, s, m)

    def optimizer_parameters(self) -> dict[str, list[dict[str, Any]]]:
        return self.last_layer_groups("deconv", self.hparams.lr, self.hparams.deconv_lr)
