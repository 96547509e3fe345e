"""The multi-scale feature mapping GAN (papers/msfmgan.txt): an encoder-decoder generator with a
multi-scale feature mapping module (MSFM), a PatchGAN discriminator, MSE + perceptual + adversarial loss.

Figure 3 (kernel sizes and widths) is not in the text; the choices below follow the text where it
speaks and are arguments where it does not:

- **Input.** The bicubically upscaled LR image at the HR size (the generator is "built similar to
  SRCNN", 3.1; its sub-pixel layers "restore the original size of the HR images" after two
  max-pools; and Table 1 reports the same network at x2, x3 and x4, which x2 sub-pixel layers cannot
  reach from a x3 LR grid). The output is the HR image.
- **Encoder** (3.1.1): 7 convolutions and 2 max-pools: ``first_kernel`` x ``first_kernel`` then 3x3
  convolutions, ``widths[0]`` maps at full size (2 convs), ``widths[1]`` after the first pool (2), ``widths[2]``
  after the second (3) ("double the numbers of the convolution filters following max-pooling").
- **MSFM** (3.1.2): three independent sub-modules on the outputs of the three quarter-size encoder
  convolutions (receptive fields of different sizes), each 2 sub-pixel convolutions (x2, x2) back to full
  size; their outputs are concatenated to the inputs of the first three full-size decoder convolutions,
  the deepest feature to the first.
- **Decoder**: a sub-pixel convolution to half size, 2 convolutions (input concatenated with the
  un-pooled encoder features there: the skip connections), a sub-pixel convolution to full size, 5
  convolutions (the first with the full-size encoder features and the MSFM outputs), the last one
  ``last_kernel`` x ``last_kernel`` to RGB: 7 convolutions and 2 sub-pixel convolutions.
- ReLU after every convolution but the last, no batch norm (3.1.3), MSRA initialisation (4.1).

That is 22 convolutional layers counting sub-pixel ones (7 + 6 + 9); the paper says 23, perhaps
counting the input interpolation. ``global_residual`` (off: not in the text) adds the input to the output.
The discriminator (3.2): a 5x5 stride-2 convolution, then 3x3 stride-1 convolutions with batch norm and
LeakyReLU, max-pooling after the second and third, and a 1-channel 3x3 convolution: one logit per patch;
the image's score is the mean patch probability (eq. 5). Both networks start from MSRA init (4.1).

Perceptual layer (3.3.2, eq. 4): phi_{i,j} is "the activations of the jth layer in front of the ith
max-pooling layer", i = 4, j = 3: SRGAN's notation, whose phi_{i,j} is taken after the activation, so
``relu4_3`` (default); ``conv4_3`` is the pre-activation reading. The paper's code is PyTorch, so VGG
sees torchvision's ImageNet-normalised input (``perceptual_input="imagenet"``).
"""

from __future__ import annotations

import math
from typing import Literal, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sr_zoo.data.batches import TrainBatch
from sr_zoo.losses import PerceptualLoss
from sr_zoo.models._registry import register_model
from sr_zoo.models.gan import GANModule
from sr_zoo.ops import imresize

__all__ = ["MSFMGAN", "MSFMGenerator", "PatchDiscriminator"]


def _conv(in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
          nonlinearity: str = "relu", slope: float = 0.0) -> nn.Conv2d:
    conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2)
    nn.init.kaiming_normal_(conv.weight, a=slope, nonlinearity=nonlinearity)  # "MSRA" (4.1)
    nn.init.zeros_(conv.bias)
    return conv


class SubPixelConv(nn.Sequential):
    """3x3 convolution to ``out_channels * 4`` maps, then a pixel shuffle (x2) and ReLU (Shi et al. 2016)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(_conv(in_channels, out_channels * 4), nn.PixelShuffle(2), nn.ReLU(inplace=True))


class MSFMGenerator(nn.Module):
    """Encoder (7 convs, 2 max-pools), MSFM (3 x 2 sub-pixel convs), decoder (7 convs, 2 sub-pixel convs)."""

    def __init__(self, scale: int, widths: Sequence[int] = (64, 128, 256), first_kernel: int = 5,
                 last_kernel: int = 5, global_residual: bool = False) -> None:
        super().__init__()
        a, b, c = widths
        self.scale, self.global_residual = scale, global_residual
        # Two max-pools on the upscaled input: tiles must start on multiples of 4 HR pixels (sr_zoo.inference.tiling).
        self.tile_align = 4 // math.gcd(4, scale)
        relu = nn.ReLU(inplace=True)
        self.enc_full = nn.ModuleList([_conv(3, a, first_kernel), _conv(a, a)])
        self.enc_half = nn.ModuleList([_conv(a, b), _conv(b, b)])
        self.enc_quarter = nn.ModuleList([_conv(b, c), _conv(c, c), _conv(c, c)])
        self.msfm = nn.ModuleList([nn.Sequential(SubPixelConv(c, b), SubPixelConv(b, a)) for _ in range(3)])
        self.up_half = SubPixelConv(c, b)
        self.dec_half = nn.ModuleList([_conv(2 * b, b), _conv(b, b)])
        self.up_full = SubPixelConv(b, a)
        self.dec_full = nn.ModuleList([_conv(3 * a, a), _conv(2 * a, a), _conv(2 * a, a), _conv(a, a)])
        self.last = _conv(a, 3, last_kernel)
        self.relu = relu

    def forward(self, lr: Tensor) -> Tensor:
        h, w = lr.shape[-2] * self.scale, lr.shape[-1] * self.scale
        x = imresize(lr, size=(h, w))
        if h % 4 or w % 4:  # two max-pools: work on a multiple of 4, crop back at the end
            x_in = F.pad(x, (0, -w % 4, 0, -h % 4), mode="replicate")
        else:
            x_in = x
        f = x_in
        for conv in self.enc_full:
            f = self.relu(conv(f))
        full = f
        f = F.max_pool2d(full, 2)
        for conv in self.enc_half:
            f = self.relu(conv(f))
        half = f
        f = F.max_pool2d(half, 2)
        quarter = []
        for conv in self.enc_quarter:
            f = self.relu(conv(f))
            quarter.append(f)
        mapped = [module(feature) for module, feature in zip(self.msfm, quarter)]  # full size each
        d = self.up_half(quarter[-1])
        d = self.relu(self.dec_half[0](torch.cat([d, half], dim=1)))
        d = self.relu(self.dec_half[1](d))
        d = self.up_full(d)
        d = self.relu(self.dec_full[0](torch.cat([d, full, mapped[2]], dim=1)))  # deepest MSFM feature first
        d = self.relu(self.dec_full[1](torch.cat([d, mapped[1]], dim=1)))
        d = self.relu(self.dec_full[2](torch.cat([d, mapped[0]], dim=1)))
        d = self.relu(self.dec_full[3](d))
        out = self.last(d)[..., :h, :w]
        return out + x if self.global_residual else out


class PatchDiscriminator(nn.Module):
    """Fully convolutional PatchGAN (3.2): logits ``(N, 1, H', W')``, one per patch."""

    def __init__(self, widths: Sequence[int] = (64, 128, 256, 512), slope: float = 0.2) -> None:
        super().__init__()
        w0, w1, w2, w3 = widths
        act = lambda: nn.LeakyReLU(slope, inplace=True)  # noqa: E731

        def conv(i: int, o: int, k: int = 3, stride: int = 1) -> nn.Conv2d:  # MSRA for LeakyReLU (4.1)
            return _conv(i, o, k, stride, nonlinearity="leaky_relu", slope=slope)

        def block(i: int, o: int) -> list[nn.Module]:
            return [conv(i, o), nn.BatchNorm2d(o), act()]

        self.body = nn.Sequential(
            conv(3, w0, 5, stride=2), act(),
            *block(w0, w1), nn.MaxPool2d(2),
            *block(w1, w2), nn.MaxPool2d(2),
            *block(w2, w3),
            _conv(w3, 1, 3, nonlinearity="linear"),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x * 2.0 - 1.0)  # images in [0, 1] centred


@register_model("msfmgan", paper="Multi-scale feature mapping GAN (papers/msfmgan.txt)", scales=(2, 3, 4))
class MSFMGAN(GANModule):
    """The MSFM GAN (3.3, 4.1): l_G = MSE + ``perceptual_weight`` x VGG16 relu4_3 + ``adversarial_weight`` x
    adversarial; Adam 1e-4, no weight decay, x0.8 every 20k iterations. ``pretrain_iterations`` of MSE
    alone come first (Table 1's "Ours (MSE)" is that stage run to the end: ``adversarial_weight`` unused).

    ``perceptual_extractor`` replaces VGG16 (tests pass a small network; nothing is downloaded then).
    """


    def __init__(
        self,
        scale: int = 4,
        widths: list[int] | None = None,
        first_kernel: int = 5,
        last_kernel: int = 5,
        global_residual: bool = False,
        d_widths: list[int] | None = None,
        perceptual_weight: float = 0.1,
        perceptual_layer: str = "relu4_3",
        perceptual_input: Literal["imagenet", "srgan"] = "imagenet",
        adversarial_weight: float = 1e-3,
        adversarial_loss: Literal["bce", "lsgan"] = "bce",
        patch_reduction: Literal["mean_probability", "per_patch"] = "mean_probability",
        lr: float = 1e-4,
        d_lr: float | None = None,
        d_steps: int = 1,
        pretrain_iterations: int = 0,
        d_warmup_iterations: int = 0,
        lr_decay_every: int = 20_000,
        lr_decay: float = 0.8,
        gradient_clip: float = 0.0,
        init_from: str | None = None,
        lr_schedule: Literal["run", "stage"] = "run",
        perceptual_extractor: nn.Module | None = None,
        sample_images: int = 1,
    ) -> None:
        super().__init__(scale, lr=lr, d_lr=d_lr, adversarial_weight=adversarial_weight,
                         adversarial_loss=adversarial_loss, patch_reduction=patch_reduction, d_steps=d_steps,
                         pretrain_iterations=pretrain_iterations, d_warmup_iterations=d_warmup_iterations,
                         lr_decay_every=lr_decay_every, lr_decay=lr_decay, gradient_clip=gradient_clip, init_from=init_from,
                         lr_schedule=lr_schedule, sample_images=sample_images)
        self.save_hyperparameters(ignore=["perceptual_extractor"])
        self.net = MSFMGenerator(scale, widths or (64, 128, 256), first_kernel, last_kernel, global_residual)
        self.discriminator = PatchDiscriminator(d_widths or (64, 128, 256, 512))
        self.perceptual_weight = perceptual_weight
        self.perceptual = (PerceptualLoss(perceptual_layer, extractor=perceptual_extractor, input=perceptual_input)
                           if perceptual_weight else None)

    def loss_weights(self, stage: str) -> dict[str, float]:
        """MSE throughout; the perceptual and adversarial terms in the adversarial stage (3.3)."""
        weights = {"mse": 1.0, **super().loss_weights(stage)}
        if stage == "adversarial" and self.perceptual is not None:
            weights["perceptual"] = self.perceptual_weight
        return weights

    def content_losses(self, sr: Tensor, batch: TrainBatch) -> dict[str, Tensor]:
        hr, weights = batch["hr"], self.loss_weights(self.current_stage)
        terms = {"mse": weights["mse"] * F.mse_loss(sr, hr)}
        if "perceptual" in weights:
            terms["perceptual"] = weights["perceptual"] * self.perceptual(sr, hr)
        return terms
