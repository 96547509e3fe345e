"""Bicubic interpolation (MATLAB ``imresize``): the baseline row of every paper's table."""

from __future__ import annotations

from torch import Tensor, nn

from sr_zoo.data.batches import TrainBatch
from sr_zoo.models._registry import register_model
from sr_zoo.models.base import SRModule
from sr_zoo.ops import imresize

__all__ = ["Bicubic", "BicubicUpsampler"]


class BicubicUpsampler(nn.Module):
    """Upscale by ``scale`` with MATLAB's bicubic kernel; no parameters."""

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, lr: Tensor) -> Tensor:
        return imresize(lr, scale=self.scale)


@register_model("bicubic")
class Bicubic(SRModule):
    """Bicubic upsampling as a zoo model: nothing to train, everything to compare against."""

    min_input_side = 0  # MATLAB's imresize handles any size itself: no padding of small images

    def __init__(self, scale: int = 4, sample_images: int = 1) -> None:
        super().__init__(scale, sample_images)
        self.save_hyperparameters()
        self.net = BicubicUpsampler(scale)

    def training_step(self, batch: TrainBatch, batch_idx: int) -> None:
        return None  # no parameters: `fit` only runs validation

    def configure_optimizers(self) -> None:
        return None
