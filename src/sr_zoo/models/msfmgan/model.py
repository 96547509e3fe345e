"""The MSFM GAN, from "Single image super-resolution reconstruction based on multi-scale feature mapping
adversarial network" (Zhou et al., 2019): an encoder-decoder generator with a multi-scale
feature mapping module (MSFM), a PatchGAN discriminator, MSE + perceptual + adversarial loss.

Figure 3 (kernel sizes and widths) is not in the text: the generator follows the text where it speaks
(Sec. 3.1: the bicubically upscaled input, 7 encoder convolutions and 2 max-pools, the MSFM's three
sub-modules, the decoder's sub-pixel convolutions, ReLU and no batch norm) and makes arguments of the rest;
the layer-by-layer reading, its layer count against the paper's 23 and the choice of ``relu4_3`` for
Sec. 3.3.2's perceptual layer are in README.md.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Literal, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sr_zoo.data.batches import TrainBatch
from sr_zoo.losses import PerceptualLoss
from sr_zoo.models._registry import register_model
from sr_zoo.models.blocks import he_conv, pad_to_multiple
from sr_zoo.models.gan import GANModule
from sr_zoo.ops import imresize

__all__ = ["MSFMGAN", "MSFMGenerator", "PatchDiscriminator"]


class SubPixelConv(nn.Sequential):
    """3x3 convolution to ``out_channels * 4`` maps, then a pixel shuffle (x2) and ReLU (Shi et al. 2016)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(he_conv(in_channels, out_channels * 4), nn.PixelShuffle(2), nn.ReLU(inplace=True))


class MSFMGenerator(nn.Module):
    """Encoder (7 convs, 2 max-pools), MSFM (3 x 2 sub-pixel convs), decoder (7 convs, 2 sub-pixel convs).

    On the bicubically upscaled input, at the HR size (Sec. 3.1). Encoder (Sec. 3.1.1): ``first_kernel`` then
    3x3 convolutions, ``widths`` maps at full, half and quarter size (2, 2 and 3 convolutions). MSFM (Sec.
    3.1.2): on each quarter-size encoder output, two x2 sub-pixel convolutions back to full size, concatenated
    to the first three full-size decoder convolutions, the deepest first. Decoder: a sub-pixel convolution to
    half size, 2 convolutions with the encoder's skip, a sub-pixel convolution to full size, 5 convolutions
    (the last ``last_kernel`` to RGB). ReLU after every convolution but the last, no batch norm (Sec. 3.1.3),
    MSRA init (Sec. 4.1); ``global_residual`` (not in the text) adds the input to the output.
    """

    def __init__(self, scale: int, widths: Sequence[int] = (64, 128, 256), first_kernel: int = 5,
                 last_kernel: int = 5, global_residual: bool = False) -> None:
        super().__init__()
        a, b, c = widths
        self.scale, self.global_residual = scale, global_residual
        # Two max-pools on the upscaled input: tiles must start on multiples of 4 HR pixels (sr_zoo.inference.tiling).
        self.tile_align = 4 // math.gcd(4, scale)
        relu = nn.ReLU(inplace=True)
        self.enc_full = nn.ModuleList([he_conv(3, a, first_kernel), he_conv(a, a)])
        self.enc_half = nn.ModuleList([he_conv(a, b), he_conv(b, b)])
        self.enc_quarter = nn.ModuleList([he_conv(b, c), he_conv(c, c), he_conv(c, c)])
        self.msfm = nn.ModuleList([nn.Sequential(SubPixelConv(c, b), SubPixelConv(b, a)) for _ in range(3)])
        self.up_half = SubPixelConv(c, b)
        self.dec_half = nn.ModuleList([he_conv(2 * b, b), he_conv(b, b)])
        self.up_full = SubPixelConv(b, a)
        self.dec_full = nn.ModuleList([he_conv(3 * a, a), he_conv(2 * a, a), he_conv(2 * a, a), he_conv(a, a)])
        self.last = he_conv(a, 3, last_kernel)
        self.relu = relu

    def forward(self, lr: Tensor) -> Tensor:
        h, w = lr.shape[-2] * self.scale, lr.shape[-1] * self.scale
        x = imresize(lr, size=(h, w))
        # Two max-pools: work on a multiple of 4, crop back at the end.
        f = pad_to_multiple(x, 4)
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
    """Fully convolutional PatchGAN (Sec. 3.2): logits ``(N, 1, H', W')``, one per patch.

    A 5x5 stride-2 convolution, then 3x3 stride-1 convolutions with batch norm and LeakyReLU, max-pooling
    after the second and third, and a 1-channel 3x3 convolution; the image's score is the mean patch
    probability (eq. 5).
    """

    def __init__(self, widths: Sequence[int] = (64, 128, 256, 512), slope: float = 0.2) -> None:
        super().__init__()
        w0, w1, w2, w3 = widths
        act = partial(nn.LeakyReLU, slope, inplace=True)
        conv = partial(he_conv, nonlinearity="leaky_relu", slope=slope)  # MSRA for LeakyReLU (Sec. 4.1)

        def block(i: int, o: int) -> list[nn.Module]:
            return [conv(i, o), nn.BatchNorm2d(o), act()]

        self.body = nn.Sequential(
            conv(3, w0, 5, stride=2), act(),
            *block(w0, w1), nn.MaxPool2d(2),
            *block(w1, w2), nn.MaxPool2d(2),
            *block(w2, w3),
            he_conv(w3, 1, 3, nonlinearity="linear"),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x * 2.0 - 1.0)  # images in [0, 1] centred


@register_model("msfmgan")
class MSFMGAN(GANModule):
    """The MSFM GAN (Sec. 3.3, 4.1): l_G = MSE + ``perceptual_weight`` x VGG16 relu4_3 + ``adversarial_weight``
    x adversarial; Adam 1e-4, no weight decay, x0.8 every 20k iterations. ``pretrain_iterations`` of MSE
    alone come first (Table 1's "Ours (MSE)" is that stage run to the end: ``adversarial_weight`` unused).

    ``perceptual_layer``: ``relu4_3`` (Sec. 3.3.2's phi_{4,3} after the activation, as in SRGAN's notation)
    or ``conv4_3``; VGG sees torchvision's ImageNet-normalised input (``perceptual_input="imagenet"``: the
    paper's code is PyTorch). ``perceptual_extractor`` replaces VGG16 (tests pass a small network; nothing
    is downloaded then). The training arguments are ``GANModule``'s hyper-parameters.
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
        super().__init__(scale, sample_images)  # saves every argument as self.hparams
        self.net = MSFMGenerator(scale, widths or (64, 128, 256), first_kernel, last_kernel, global_residual)
        self.discriminator = PatchDiscriminator(d_widths or (64, 128, 256, 512))
        self.perceptual = (PerceptualLoss(perceptual_layer, extractor=perceptual_extractor, input=perceptual_input)
                           if perceptual_weight else None)

    def loss_weights(self, stage: str) -> dict[str, float]:
        """MSE throughout; the perceptual and adversarial terms in the adversarial stage (Sec. 3.3)."""
        weights = {"mse": 1.0, **super().loss_weights(stage)}
        if stage == "adversarial" and self.perceptual is not None:
            weights["perceptual"] = self.hparams.perceptual_weight
        return weights

    def content_losses(self, sr: Tensor, batch: TrainBatch) -> dict[str, Tensor]:
        hr, weights = batch["hr"], self.loss_weights(self.current_stage)
        terms = {"mse": weights["mse"] * F.mse_loss(sr, hr)}
        if "perceptual" in weights:
            terms["perceptual"] = weights["perceptual"] * self.perceptual(sr, hr)
        return terms
