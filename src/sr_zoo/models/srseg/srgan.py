"""SRResNet and SRGAN, from "Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial
Network" (Ledig et al., CVPR 2017), as the SRSEG paper describes and retrains them (Sec. 3.1, 4.2): the
ablation rows SRSEG is compared with, and the generator and discriminator SRSEG extends.

Where the SRSEG paper and SRGAN's differ (concatenated rather than added first features, LeakyReLU rather
than PReLU), the SRSEG paper is followed; training is SRSEG's (Sec. 3.5, "the same parameters as ours").
The generator, discriminator, schedule and the perceptual weight's input scale are described in
docs/baselines.md.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sr_zoo.data.batches import TrainBatch
from sr_zoo.losses import PerceptualLoss
from sr_zoo.models._registry import register_model
from sr_zoo.models.base import PixelLossModule
from sr_zoo.models.blocks import ChannelsLastConv2d, ResidualBlock
from sr_zoo.models.gan import GANModule, step_decay

__all__ = ["SRGAN", "SRGANDiscriminator", "SRResNet", "SRResNetGenerator"]


def _upsampling_stages(scale: int) -> int:
    stages = int(math.log2(scale))
    if 2**stages != scale:
        raise ValueError(f"SRResNet upsamples by powers of 2, not {scale}")
    return stages


Variant = Literal["srseg", "ledig"]


class SRResNetGenerator(nn.Module):
    """The SR generator, as the SRSEG paper describes it (``variant="srseg"``, Sec. 3.1) or as Ledig et al.'s
    Fig. 4 draws it (``"ledig"``, the generator most published SRResNet/SRGAN checkpoints hold).

    ``srseg``: a 9x9 convolution and LeakyReLU, ``blocks`` residual blocks (batch norm, LeakyReLU after each
    convolution), the first features concatenated to the last block's output, one x2 sub-pixel stage per factor
    of 2 (LeakyReLU), a 9x9 convolution to RGB. ``ledig``: PReLU (one slope per channel) in place of LeakyReLU;
    blocks of conv-BN-PReLU-conv-BN with nothing after the second BN; after them a 3x3 convolution and BN whose
    output is added to the first features (the long skip), so the first upsampler takes ``n`` maps.
    ``features(lr)`` is what SRSEG's segmentation head reads (``feature_channels`` maps at LR size).
    """

    def __init__(self, scale: int = 4, n: int = 64, blocks: int = 16, slope: float = 0.2,
                 variant: Variant = "srseg") -> None:
        super().__init__()
        if variant not in ("srseg", "ledig"):
            raise ValueError(f"SRResNet variant must be 'srseg' or 'ledig', got {variant!r}")
        stages = _upsampling_stages(scale)
        ledig = variant == "ledig"
        activation = (lambda: nn.PReLU(n)) if ledig else (lambda: nn.LeakyReLU(slope, inplace=True))
        self.variant = variant
        self.head = nn.Sequential(nn.Conv2d(3, n, 9, padding=4), activation())
        self.body = nn.Sequential(*[ResidualBlock(n, batch_norm=True, slope=slope, form=variant)
                                    for _ in range(blocks)])
        # Ledig's Fig. 4: conv3x3 + BN after the blocks, then the elementwise sum with the head's features
        self.fuse = nn.Sequential(nn.Conv2d(n, n, 3, padding=1), nn.BatchNorm2d(n)) if ledig else None
        self.upsample = nn.Sequential(*[
            nn.Sequential(nn.Conv2d(2 * n if i == 0 and not ledig else n, 4 * n, 3, padding=1), nn.PixelShuffle(2),
                          activation())
            for i in range(stages)
        ])
        self.tail = ChannelsLastConv2d(n, 3, 9, padding=4)  # to 3 maps: NCHW is several times slower on CPU
        self.feature_channels = n if ledig else 2 * n

    def features(self, lr: Tensor) -> Tensor:
        """At LR size: the last block's output concatenated with the first convolution's features (``srseg``), or
        the fused blocks' output plus the first features (``ledig``)."""
        head = self.head(lr)
        if self.fuse is not None:
            return self.fuse(self.body(head)) + head
        return torch.cat([self.body(head), head], dim=1)

    def reconstruct(self, features: Tensor) -> Tensor:
        return self.tail(self.upsample(features))

    def forward(self, lr: Tensor) -> Tensor:
        return self.reconstruct(self.features(lr))


class SRGANDiscriminator(nn.Module):
    """SRGAN's discriminator (SRSEG paper, Sec. 3.1) for ``patch_size`` x ``patch_size`` images: 3x3
    convolutions from 64 to 512 maps, batch norm and LeakyReLU, two dense layers; one logit per image (the
    sigmoid is in the loss). Its dense layer fixes the patch size (82 in Sec. 3.4; 84 in our srseg data preset)."""

    def __init__(self, patch_size: int = 96, widths: tuple[int, ...] = (64, 128, 256, 512), slope: float = 0.2) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, widths[0], 3, padding=1), nn.LeakyReLU(slope, inplace=True)]
        size, channels = patch_size, widths[0]
        for i, width in enumerate(widths):
            for stride in ((2,) if i == 0 else (1, 2)):
                layers += [nn.Conv2d(channels, width, 3, stride=stride, padding=1), nn.BatchNorm2d(width),
                           nn.LeakyReLU(slope, inplace=True)]
                channels = width
                if stride == 2:
                    size = (size + 1) // 2
        self.patch_size = patch_size
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(channels * size * size, 1024),
                                        nn.LeakyReLU(slope, inplace=True), nn.Linear(1024, 1))

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-2:] != (self.patch_size, self.patch_size):
            raise ValueError(f"the discriminator takes {self.patch_size}x{self.patch_size} HR patches "
                             f"(its dense layer fixes the size), got {x.shape[-2]}x{x.shape[-1]}: set patch_size")
        return self.classifier(self.features(x * 2.0 - 1.0))


@register_model("srresnet")
class SRResNet(PixelLossModule):
    """The generator alone trained with MSE (the SRSEG paper's SRResNet row): Adam 1e-3, /10 every 20 epochs."""

    def __init__(self, scale: int = 4, n: int = 64, blocks: int = 16, lr: float = 1e-3, lr_decay_every: int = 20,
                 lr_decay: float = 0.1, lr_restarts: list[int] | None = None, variant: Variant = "srseg",
                 sample_images: int = 1) -> None:
        """``lr_restarts``: epochs at which the rate returns to ``lr`` (the recipe's 25 and 50: SRSEG's steps).
        ``variant``: the generator as the SRSEG paper describes it (default) or Ledig et al.'s
        (``SRResNetGenerator``)."""
        super().__init__(scale, sample_images)
        self.save_hyperparameters()
        self.net = SRResNetGenerator(scale, n, blocks, variant=variant)

    def configure_optimizers(self) -> dict:
        optimizer = torch.optim.Adam(self.param_groups("net"), lr=self.hparams.lr)
        restarts = list(self.hparams.lr_restarts or [])
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda epoch: step_decay(epoch, self.hparams.lr_decay_every, self.hparams.lr_decay, restarts))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}


@register_model("srgan")
class SRGAN(GANModule):
    """SRResNet generator + SRGAN discriminator + VGG16 relu4_1 perceptual loss (SRSEG paper, eq. 1 without
    the segmentation term). Stages in epochs: MSE for ``mse_epochs`` (SRSEG's 25 + 25, its segmentation
    stage being MSE here), then the full objective; the rate restarts at each stage (``lr_schedule="stage"``).

    ``perceptual_input``: the VGG input convention, ``imagenet`` (torchvision's normalised [0, 1], the
    default) or ``srgan`` (SRGAN's mean-subtracted [0, 255], the scale its weight 2e-6 was set for; the
    recipes use it); see docs/baselines.md. ``variant``: the generator as the SRSEG paper describes it (default)
    or Ledig et al.'s (``SRResNetGenerator``). The training arguments are ``GANModule``'s hyper-parameters.
    """

    schedule_unit = "epoch"

    def __init__(
        self,
        scale: int = 4,
        n: int = 64,
        blocks: int = 16,
        patch_size: int = 84,
        mse_weight: float = 1.0,
        perceptual_weight: float = 2e-6,
        perceptual_layer: str = "relu4_1",
        perceptual_reduction: Literal["mean", "sum"] = "mean",
        adversarial_weight: float = 1e-3,
        adversarial_loss: Literal["bce", "lsgan"] = "bce",
        mse_epochs: int = 50,
        lr: float = 1e-3,
        d_steps: int = 1,
        lr_decay_every: int = 20,
        lr_decay: float = 0.1,
        gradient_clip: float = 0.0,
        init_from: str | None = None,
        lr_schedule: Literal["run", "stage"] = "stage",
        lr_restarts: list[int] | None = None,
        perceptual_input: Literal["imagenet", "srgan"] = "imagenet",
        perceptual_extractor: nn.Module | None = None,
        variant: Variant = "srseg",
        sample_images: int = 1,
    ) -> None:
        super().__init__(scale, sample_images)  # saves every argument as self.hparams
        self.net = SRResNetGenerator(scale, n, blocks, variant=variant)
        self.discriminator = SRGANDiscriminator(patch_size)
        self.perceptual = (PerceptualLoss(perceptual_layer, extractor=perceptual_extractor,
                                          reduction=perceptual_reduction, input=perceptual_input)
                           if perceptual_weight else None)

    def stage_plan(self) -> list[tuple[str, int | None]]:
        return [("pretrain", self.hparams.mse_epochs), ("adversarial", None)]

    def loss_weights(self, stage: str) -> dict[str, float]:
        """alpha MSE throughout; beta VGG (and gamma adversarial) in the adversarial stage (SRSEG paper, eq. 1,
        Sec. 3.5)."""
        weights = {"mse": self.hparams.mse_weight, **super().loss_weights(stage)}
        if stage == "adversarial" and self.perceptual is not None:
            weights["perceptual"] = self.hparams.perceptual_weight
        return {k: v for k, v in weights.items() if v}

    def content_losses(self, sr: Tensor, batch: TrainBatch) -> dict[str, Tensor]:
        hr, weights = batch["hr"], self.loss_weights(self.current_stage)
        terms = {"mse": weights.get("mse", 0.0) * F.mse_loss(sr, hr)}
        if "perceptual" in weights:
            terms["perceptual"] = weights["perceptual"] * self.perceptual(sr, hr)
        return terms
