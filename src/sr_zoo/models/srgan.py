"""SRResNet and SRGAN (Ledig et al. 2017) as SRSEG describes and retrains them (papers/srseg.txt 3.1, 4.2):
the ablation rows SRSEG is compared with, and the generator and discriminator SRSEG extends.

Generator (srseg 3.1): a 9x9 convolution and LeakyReLU; 16 residual blocks, each two 3x3 convolutions
of 64 maps, *each* followed by batch norm and LeakyReLU, with a skip over the block; the last block's
output concatenated with the first convolution's features; one x2 upsampling stage (3x3 convolution,
pixel shuffle, LeakyReLU) per factor of 2 of the scale; a 9x9 convolution to RGB. SRGAN's own paper adds
the first features instead of concatenating them and uses PReLU; SRSEG's text is followed here.
Discriminator (srseg 3.1, "similar to [5]"): 3x3 convolutions from 64 to 512 maps, strided ones halving
the size, batch norm and LeakyReLU, two dense layers (1024, 1), a logit per image (the sigmoid is in the
loss); its dense layer fixes the HR patch size it takes (82x82 in srseg 3.4; 84 in our srseg data preset).
Training (srseg 3.5, "the same parameters as ours" for both baselines): Adam 1e-3 divided by 10 every
20 epochs (restarted at each step by default, ``lr_schedule``; see ``sr_zoo.models.srseg``); SRGAN: MSE
for ``mse_epochs`` (SRSEG's 25 + 25, its segmentation stage being MSE here), then MSE + 2e-6 VGG16
relu4_1 + 1e-3 adversarial for the rest (55 epochs).

Perceptual scale (``perceptual_input``): 2e-6 is SRGAN's weight (srseg 3.5: "as proposed by [5]") for
VGG features of SRGAN's mean-subtracted [0, 255] input; with torchvision's ImageNet-normalised [0, 1]
input the same weight makes the term about 3,300 times weaker. ``srgan`` (default) keeps the weight's
meaning; ``imagenet`` is the literal PyTorch port. ``benchmarks/perceptual_scale.py`` measures both.
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
from sr_zoo.models.base import SRModule
from sr_zoo.models.gan import GANModule, step_decay

__all__ = ["SRGAN", "SRGANDiscriminator", "SRResNet", "SRResNetGenerator"]


def _upsampling_stages(scale: int) -> int:
    stages = int(math.log2(scale))
    if 2**stages != scale:
        raise ValueError(f"SRResNet upsamples by powers of 2, not {scale}")
    return stages


class _ResidualBlock(nn.Module):
    def __init__(self, n: int, slope: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(n, n, 3, padding=1), nn.BatchNorm2d(n), nn.LeakyReLU(slope, inplace=True),
            nn.Conv2d(n, n, 3, padding=1), nn.BatchNorm2d(n), nn.LeakyReLU(slope, inplace=True),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class SRResNetGenerator(nn.Module):
    """The SR generator of srseg 3.1; ``features(lr)`` is what SRSEG's segmentation head reads."""

    def __init__(self, scale: int = 4, n: int = 64, blocks: int = 16, slope: float = 0.2) -> None:
        super().__init__()
        stages = _upsampling_stages(scale)
        self.head = nn.Sequential(nn.Conv2d(3, n, 9, padding=4), nn.LeakyReLU(slope, inplace=True))
        self.body = nn.Sequential(*[_ResidualBlock(n, slope) for _ in range(blocks)])
        self.upsample = nn.Sequential(*[
            nn.Sequential(nn.Conv2d(2 * n if i == 0 else n, 4 * n, 3, padding=1), nn.PixelShuffle(2),
                          nn.LeakyReLU(slope, inplace=True))
            for i in range(stages)
        ])
        self.tail = nn.Conv2d(n, 3, 9, padding=4)
        self.feature_channels = 2 * n

    def features(self, lr: Tensor) -> Tensor:
        """The last block's output concatenated with the first convolution's features, at LR size."""
        head = self.head(lr)
        return torch.cat([self.body(head), head], dim=1)

    def reconstruct(self, features: Tensor) -> Tensor:
        return self.tail(self.upsample(features))

    def forward(self, lr: Tensor) -> Tensor:
        return self.reconstruct(self.features(lr))


class SRGANDiscriminator(nn.Module):
    """SRGAN's discriminator for ``patch_size`` x ``patch_size`` images: one logit per image."""

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


@register_model("srresnet", paper="SRResNet (Ledig et al. 2017) as in papers/srseg.txt 3.1", scales=(2, 4, 8))
class SRResNet(SRModule):
    """The generator alone trained with MSE (srseg's SRResNet row): Adam 1e-3, /10 every 20 epochs."""


    def __init__(self, scale: int = 4, n: int = 64, blocks: int = 16, lr: float = 1e-3, lr_decay_every: int = 20,
                 lr_decay: float = 0.1, lr_restarts: list[int] | None = None, sample_images: int = 1) -> None:
        """``lr_restarts``: epochs at which the rate returns to ``lr`` (the recipe's 25 and 50: SRSEG's steps)."""
        super().__init__(scale, sample_images)
        self.save_hyperparameters()
        self.net = SRResNetGenerator(scale, n, blocks)

    def loss_weights(self, stage: str) -> dict[str, float]:
        return {"mse": 1.0}

    def training_step(self, batch: TrainBatch, batch_idx: int) -> Tensor:
        loss = F.mse_loss(self.net(batch["lr"]), batch["hr"])
        self.log("train/loss", loss, prog_bar=True, batch_size=batch["lr"].shape[0])
        return loss

    def configure_optimizers(self) -> dict:
        optimizer = torch.optim.Adam(self.param_groups("net"), lr=self.hparams.lr)
        restarts = list(self.hparams.lr_restarts or [])
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda epoch: step_decay(epoch, self.hparams.lr_decay_every, self.hparams.lr_decay, restarts))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}


@register_model("srgan", paper="SRGAN (Ledig et al. 2017) as in papers/srseg.txt 3.1, 4.2", scales=(2, 4, 8))
class SRGAN(GANModule):
    """SRResNet generator + SRGAN discriminator + VGG16 relu4_1 perceptual loss (srseg eq. 1 without the
    segmentation term). Stages in epochs: MSE for ``mse_epochs``, then the full objective."""


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
        sample_images: int = 1,
    ) -> None:
        super().__init__(scale, lr=lr, adversarial_weight=adversarial_weight, adversarial_loss=adversarial_loss,
                         d_steps=d_steps, pretrain_iterations=mse_epochs, lr_decay_every=lr_decay_every,
                         lr_decay=lr_decay, gradient_clip=gradient_clip, init_from=init_from, schedule_unit="epoch",
                         lr_schedule=lr_schedule, lr_restarts=lr_restarts or (), sample_images=sample_images)
        self.save_hyperparameters(ignore=["perceptual_extractor"])
        self.net = SRResNetGenerator(scale, n, blocks)
        self.discriminator = SRGANDiscriminator(patch_size)
        self.mse_weight, self.perceptual_weight = mse_weight, perceptual_weight
        self.perceptual = (PerceptualLoss(perceptual_layer, extractor=perceptual_extractor,
                                          reduction=perceptual_reduction, input=perceptual_input)
                           if perceptual_weight else None)

    def loss_weights(self, stage: str) -> dict[str, float]:
        """alpha MSE throughout; beta VGG (and gamma adversarial) in the adversarial stage (srseg eq. 1, 3.5)."""
        weights = {"mse": self.mse_weight, **super().loss_weights(stage)}
        if stage == "adversarial" and self.perceptual is not None:
            weights["perceptual"] = self.perceptual_weight
        return {k: v for k, v in weights.items() if v}

    def content_losses(self, sr: Tensor, batch: TrainBatch) -> dict[str, Tensor]:
        hr, weights = batch["hr"], self.loss_weights(self.current_stage)
        terms = {"mse": weights.get("mse", 0.0) * F.mse_loss(sr, hr)}
        if "perceptual" in weights:
            terms["perceptual"] = weights["perceptual"] * self.perceptual(sr, hr)
        return terms
