"""FSRCNN (Dong, Loy and Tang, ECCV 2016): EMTCM's closest baseline (papers/emtcm.txt Table 2)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from sr_zoo.data.batches import TrainBatch
from sr_zoo.models._registry import register_model
from sr_zoo.models.base import SRModule
from sr_zoo.models.blocks import ConvPReLU, deconv_upsampler
from sr_zoo.ops import rgb_to_y

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


@register_model("fsrcnn", paper="Dong et al. 2016, FSRCNN (d=56, s=12, m=4), baseline in papers/emtcm.txt", scales=(2, 3, 4))
class FSRCNN(SRModule):
    """FSRCNN trained with MSE on Y; learning rates 1e-3 (convolutions) and 1e-4 (deconvolution).

    Adam replaces the paper's SGD at the same rates, as for the other Y-channel models here.
    """

    y_channel = True

    def __init__(self, scale: int = 3, d: int = 56, s: int = 12, m: int = 4, lr: float = 1e-3,
                 deconv_lr: float = 1e-4, sample_images: int = 1) -> None:
        super().__init__(scale, sample_images)
        self.save_hyperparameters()
        self.net = FSRCNNNet(scale, d, s, m)

    def loss_weights(self, stage: str) -> dict[str, float]:
        return {"mse": 1.0}

    def training_step(self, batch: TrainBatch, batch_idx: int) -> Tensor:
        loss = nn.functional.mse_loss(self.net(rgb_to_y(batch["lr"])), rgb_to_y(batch["hr"]))
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def optimizer_parameters(self) -> dict[str, list[dict[str, Any]]]:
        params = self.named_trainable("net")
        deconv = {n: p for n, p in params.items() if n.startswith("net.deconv.")}
        body = {n: p for n, p in params.items() if n not in deconv}
        return {"net": [{"params": body, "lr": self.hparams.lr}, {"params": deconv, "lr": self.hparams.deconv_lr}]}

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.param_groups("net"))
