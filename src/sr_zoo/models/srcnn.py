"""SRCNN (Dong et al., TPAMI 2016), the 9-1-5 network on bicubic-upsampled Y: a baseline in EMTCM's tables."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from sr_zoo.data.batches import TrainBatch
from sr_zoo.models._registry import register_model
from sr_zoo.models.base import SRModule
from sr_zoo.ops import imresize, rgb_to_y

__all__ = ["SRCNN", "SRCNNNet"]


class SRCNNNet(nn.Module):
    """Bicubic upsampling, then conv 9x9 (n1) - ReLU - conv 1x1 (n2) - ReLU - conv 5x5, on one channel.

    Same padding keeps the HR size (the original trains on valid convolutions and crops the target).
    Weights start N(0, 0.001), biases 0, as in the paper.
    """

    def __init__(self, scale: int, n1: int = 64, n2: int = 32, f1: int = 9, f2: int = 1, f3: int = 5) -> None:
        super().__init__()
        self.scale = scale
        self.features = nn.Conv2d(1, n1, f1, padding=f1 // 2)
        self.mapping = nn.Conv2d(n1, n2, f2, padding=f2 // 2)
        self.reconstruction = nn.Conv2d(n2, 1, f3, padding=f3 // 2)
        for conv in (self.features, self.mapping, self.reconstruction):
            nn.init.normal_(conv.weight, std=1e-3)
            nn.init.zeros_(conv.bias)

    def forward(self, y: Tensor) -> Tensor:
        x = imresize(y, scale=self.scale)
        x = torch.relu(self.features(x))
        x = torch.relu(self.mapping(x))
        return self.reconstruction(x)


@register_model("srcnn", paper="Dong et al. 2016, SRCNN (9-1-5), baseline in papers/emtcm.txt Table 2", scales=(2, 3, 4))
class SRCNN(SRModule):
    """SRCNN trained with MSE on Y; learning rates 1e-4 (first two layers) and 1e-5 (last), as the paper.

    Adam replaces the paper's plain SGD (the same rates; SGD at these rates needs ~10^8 steps).
    """

    y_channel = True

    def __init__(self, scale: int = 3, n1: int = 64, n2: int = 32, lr: float = 1e-4, last_lr: float = 1e-5,
                 sample_images: int = 1) -> None:
        super().__init__(scale, sample_images)
        self.save_hyperparameters()
        self.net = SRCNNNet(scale, n1, n2)

    def loss_weights(self, stage: str) -> dict[str, float]:
        return {"mse": 1.0}

    def training_step(self, batch: TrainBatch, batch_idx: int) -> Tensor:
        loss = nn.functional.mse_loss(self.net(rgb_to_y(batch["lr"])), rgb_to_y(batch["hr"]))
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def optimizer_parameters(self) -> dict[str, list[dict[str, Any]]]:
        params = self.named_trainable("net")
        last = {n: p for n, p in params.items() if n.startswith("net.reconstruction.")}
        first = {n: p for n, p in params.items() if n not in last}
        return {"net": [{"params": first, "lr": self.hparams.lr}, {"params": last, "lr": self.hparams.last_lr}]}

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.param_groups("net"))
