"""SRSEG, from "Benefiting from Multitask Learning to Improve Single Image Super-Resolution" (Rad et al.):
SRGAN's generator trained in a multitask way with a segmentation head that only training uses.

The head (Sec. 3.1, "two convolutional layers") reads the generator's features just before the first
upsampling stage and gives 6-class logits at LR size. It is ``self.seg_head``, outside ``self.net``: at
inference ``model.net`` is SRResNet's generator exactly. It trains in the generator's Adam in the stages
whose loss has the segmentation term. Objective (eq. 1) and schedule (Sec. 3.5): MSE alone for 25 epochs,
+ segmentation for 25, then the whole objective for 55; Adam 1e-3 divided by 10 every 20 epochs, restarted
at each step by default (``lr_schedule="stage"``: Sec. 3.5 does not say; the reading is in README.md).
"""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch.utilities import rank_zero_info
from torch import Tensor, nn

from sr_zoo.data.batches import TrainBatch
from sr_zoo.data.coco_stuff import IGNORE_INDEX, SRSEG_CLASSES
from sr_zoo.models._registry import register_model
from sr_zoo.models.srseg.loss import masked_cross_entropy
from sr_zoo.models.srseg.srgan import SRGAN

__all__ = ["SRSEG", "SegmentationHead"]


class SegmentationHead(nn.Module):
    """Two convolutions from the generator's pre-upsampling features to class logits (LR size): 3x3 to
    ``channels`` maps, LeakyReLU, 1x1 to the classes (the kernel sizes are ours; Fig. 2 is not in the text)."""

    def __init__(self, in_channels: int, classes: int = len(SRSEG_CLASSES), channels: int = 64,
                 slope: float = 0.2) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1), nn.LeakyReLU(slope, inplace=True),
                                  nn.Conv2d(channels, classes, 1))

    def forward(self, features: Tensor) -> Tensor:
        return self.body(features)


@register_model("srseg")
class SRSEG(SRGAN):
    """SRGAN + a training-only segmentation head with the boundary-masked cross-entropy (eq. 1): alpha 1 MSE,
    beta 2e-6 VGG16 relu4_1, gamma 1e-3 adversarial, delta 0.8 segmentation (Sec. 3.5)."""

    def __init__(
        self,
        scale: int = 4,
        segmentation_weight: float = 0.8,
        segmentation_epochs: int = 25,
        head_channels: int = 64,
        mse_epochs: int = 25,
        **kwargs: Any,
    ) -> None:
        """SRSEG's own arguments; the rest are SRGAN's (generator, discriminator, losses, optimiser), with
        ``mse_epochs`` 25 here (Sec. 3.5: MSE alone, then MSE + segmentation for ``segmentation_epochs``)."""
        super().__init__(scale, mse_epochs=mse_epochs, **kwargs)  # GANModule saves these arguments too
        self.seg_head = SegmentationHead(self.net.feature_channels, channels=head_channels)
        self._features: Tensor | None = None
        self._said_no_labels = False

    def stage_plan(self) -> list[tuple[str, int | None]]:
        return [("pretrain", self.hparams.mse_epochs), ("segmentation", self.hparams.segmentation_epochs),
                ("adversarial", None)]

    def generator_parameters(self) -> dict[str, nn.Parameter]:
        """The generator and the segmentation head: the head trains in the generator's Adam (Sec. 3.5)."""
        return self.named_trainable("net", "seg_head")

    def idle_parameters(self, stage: str) -> set[str]:
        """The head has no loss in stages without the segmentation term."""
        return set() if "segmentation" in self.loss_weights(stage) else set(self.named_trainable("seg_head"))

    def segment(self, lr: Tensor) -> Tensor:
        """Class logits ``(N, 6, h, w)`` for LR images (training aid; not part of ``model.net``)."""
        return self.seg_head(self.net.features(lr))

    def generate(self, lr: Tensor) -> Tensor:
        self._features = self.net.features(lr)
        return self.net.reconstruct(self._features)

    def loss_weights(self, stage: str) -> dict[str, float]:
        """SRGAN's terms, and delta x the boundary-masked cross-entropy from the segmentation stage on (Sec. 3.5)."""
        weights = super().loss_weights(stage)
        if stage in ("segmentation", "adversarial") and self.hparams.segmentation_weight:
            weights["segmentation"] = self.hparams.segmentation_weight
        return weights

    def content_losses(self, sr: Tensor, batch: TrainBatch) -> dict[str, Tensor]:
        terms = super().content_losses(sr, batch)
        weight = self.loss_weights(self.current_stage).get("segmentation")
        if weight:
            if "label" not in batch:
                if not self._said_no_labels:
                    rank_zero_info("sr_zoo: srseg: the training data has no segmentation labels: the segmentation "
                                   "term is off (train on coco-stuff for it)")
                    self._said_no_labels = True
            else:
                logits = self.seg_head(self._features)
                terms["segmentation"] = weight * masked_cross_entropy(
                    logits, batch["label"], batch.get("boundary_mask"), ignore_index=IGNORE_INDEX)
                with torch.no_grad():
                    self._log_accuracy(logits, batch)
        return terms

    def _log_accuracy(self, logits: Tensor, batch: TrainBatch) -> None:
        label = batch["label"]
        counted = label != IGNORE_INDEX
        if batch.get("boundary_mask") is not None:
            counted &= batch["boundary_mask"]
        # No `if counted.any()`: that would wait for the GPU every step; an empty mask gives 0 here.
        correct = ((logits.argmax(1) == label) & counted).sum()
        accuracy = correct / counted.sum().clamp(min=1)
        self.log("train/segmentation_accuracy", accuracy, batch_size=label.shape[0])
