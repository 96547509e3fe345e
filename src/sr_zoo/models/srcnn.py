"""SRCNN, from "Image Super-Resolution Using Deep Convolutional Networks" (Dong et al., TPAMI 2016): the
9-1-5 network on bicubically upsampled Y, a baseline of the EMTCM paper (Table 2). See docs/baselines.md."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from sr_zoo.models._registry import register_model
from sr_zoo.models.base import PixelLossModule
from sr_zoo.models.blocks import normal_init_
from sr_zoo.ops import imresize

__all__ = ["SRCNN", "SRCNNNet"]


class SRCNNNet(nn.Module):
    """Bicubic upsampling, then conv 9x9 (n1) - ReLU - conv 1x1 (n2) - ReLU - conv 5x5, on one channel.

    Same padding keeps the HR size (the original trains on valid convolutions and crops the target).
    Weights start N(0, 0.001), biases 0, as in the SRCNN paper.
    """

    def __init__(self, scale: int, n1: int = 64, n2: int = 32, f1: int = 9, f2: int = 1, f3: int = 5) -> None:
        super().__init__()
        self.scale = scale
        self.features = nn.Conv2d(1, n1, f1, padding=f1 // 2)
        self.mapping = nn.Conv2d(n1, n2, f2, padding=f2 // 2)
        self.reconstruction = nn.Conv2d(n2, 1, f3, padding=f3 // 2)
        for conv in (self.features, self.mapping, self.reconstruction):
            normal_init_(conv, std=1e-3)

    def forward(self, y: Tensor) -> Tensor:
        x = imresize(y, scale=self.scale)
        x = torch.relu(self.features(x))
        x = torch.relu(self.mapping(x))
        return self.reconstruction(x)


@register_model("srcnn", paper="SRCNN (9-1-5), a baseline of the EMTCM paper's Table 2", scales=(2, 3, 4))
class SRCNN(PixelLossModule):
    """SRCNN trained with MSE on Y; learning rates ``lr`` (first two layers) and ``last_lr`` (last), as
    the paper's 1e-4 and 1e-5, with Adam in place of its SGD (which needs ~10^8 steps at these rates)."""

    y_channel = True

    def __init__(self, scale: int = 3, n1: int = 64, n2: int = 32, lr: float = 1e-4, last_lr: float = 1e-5,
                 sample_images: int = 1) -> None:
        super().__init__(scale, sample_images)
        self.save_hyperparameters()
        self.net = SRCNNNet(scale, n1, n2)

    def optimizer_parameters(self) -> dict[str, list[dict[str, Any]]]:
        return self.last_layer_groups("reconstruction", self.hparams.lr, self.hparams.last_lr)
