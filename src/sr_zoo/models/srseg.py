"""SRSEG (papers/srseg.txt): SRGAN's generator trained in a multitask way with a segmentation head.

The head (3.1, "two convolutional layers") reads the generator's features just before the first
upsampling stage (the last residual block's output concatenated with the first convolution's
features) and gives 6-class logits at LR size: a 3x3 convolution to ``head_channels`` maps, LeakyReLU,
and a 1x1 convolution to the classes (kernel sizes are ours; Fig. 2 is not in the text). It is
``self.seg_head``, outside ``self.net``: at inference ``model.net`` is SRResNet's generator exactly, takes
no label and costs the same. It trains with the generator, in the generator's Adam
(``generator_parameters``), in the stages whose loss has the segmentation term (``segmentation`` and
``adversarial``); in ``pretrain`` it gets no gradient and stays as initialised.

Objective (eq. 1): alpha MSE + beta VGG16 relu4_1 + gamma adversarial + delta boundary-masked pixel-wise
cross-entropy, alpha 1, beta 2e-6, gamma 1e-3, delta 0.8 (3.5). Schedule (3.5): MSE alone for 25 epochs,
+ segmentation for 25, then the whole objective for 55; Adam 1e-3 divided by 10 every 20 epochs; the
discriminator alternated with the generator as in SRGAN.

The rate across the three steps (3.5 does not say): ``lr_schedule="stage"`` (default) sets 1e-3 at the
start of each step and divides it by 10 every 20 epochs within it; ``"run"`` is one decay over all 105
epochs, which would run the adversarial step at 1e-5 down to 1e-8. 3.5 says "the Adam optimizer was used
for all the steps. The learning rate was set to 1e-3 and then was decayed", describing each step's
optimiser; and the adversarial step's effect on texture (Fig. 6) needs a rate at which 55 epochs move
the weights, so the per-step reading is the default.
"""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch.utilities import rank_zero_info
from torch import Tensor, nn

from sr_zoo.data.batches import TrainBatch
from sr_zoo.data.coco_stuff import IGNORE_INDEX, SRSEG_CLASSES
from sr_zoo.losses import masked_cross_entropy
from sr_zoo.models._registry import register_model
from sr_zoo.models.srgan import SRGAN

__all__ = ["SRSEG", "SegmentationHead"]


class SegmentationHead(nn.Module):
    """Two convolutions from the generator's pre-upsampling features to class logits (LR size)."""

    def __init__(self, in_channels: int, classes: int = len(SRSEG_CLASSES), channels: int = 64, slope: float = 0.2) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1), nn.LeakyReLU(slope, inplace=True),
                                  nn.Conv2d(channels, classes, 1))

    def forward(self, features: Tensor) -> Tensor:
        return self.body(features)


@register_model("srseg", paper="SRSEG: SR with a segmentation head (papers/srseg.txt)", scales=(2, 4, 8))
class SRSEG(SRGAN):
    """SRGAN + a training-only segmentation head with the boundary-masked cross-entropy (eq. 1)."""


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
        ``mse_epochs`` 25 here (3.5: MSE alone, then MSE + segmentation for ``segmentation_epochs``)."""
        super().__init__(scale, mse_epochs=mse_epochs, **kwargs)
        self.segmentation_epochs = segmentation_epochs
        self.save_hyperparameters(ignore=["perceptual_extractor"])
        self.seg_head = SegmentationHead(self.net.feature_channels, channels=head_channels)
        self.segmentation_weight = segmentation_weight
        self._features: Tensor | None = None
        self._said_no_labels = False

    def stages(self) -> list[tuple[str, int | None]]:
        stages = [("pretrain", self.gan["pretrain_iterations"]), ("segmentation", self.segmentation_epochs),
                  ("adversarial", None)]
        return [(name, length) for name, length in stages if length != 0]

    def generator_parameters(self) -> dict[str, nn.Parameter]:
        """The generator and the segmentation head: the head trains in the generator's Adam (3.5)."""
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
        """SRGAN's terms, and delta x the boundary-masked cross-entropy from the segmentation stage on (3.5)."""
        weights = super().loss_weights(stage)
        if stage in ("segmentation", "adversarial") and self.segmentation_weight:
            weights["segmentation"] = self.segmentation_weight
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
