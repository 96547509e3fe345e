"""Layers shared by the zoo's networks, with the initialisations their papers use."""

from __future__ import annotations

from torch import nn

__all__ = ["ConvPReLU", "Residual", "deconv_upsampler", "init_prelu_conv_"]


def init_prelu_conv_(conv: nn.Conv2d, slope: float = 0.25) -> None:
    """He et al. 2015's initialisation designed for PReLU: N(0, 2 / ((1 + a^2) fan_in)), zero bias."""
    nn.init.kaiming_normal_(conv.weight, a=slope, mode="fan_in", nonlinearity="leaky_relu")
    nn.init.zeros_(conv.bias)


class ConvPReLU(nn.Sequential):
    """``k x k`` convolution (same padding) followed by a per-channel PReLU, He-initialised."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        init_prelu_conv_(conv)
        super().__init__(conv, nn.PReLU(out_channels, init=0.25))


def deconv_upsampler(in_channels: int, out_channels: int, kernel_size: int, scale: int, std: float = 1e-3) -> nn.ConvTranspose2d:
    """Transposed convolution that maps ``H x W`` to exactly ``scale H x scale W`` (FSRCNN's last layer).

    Initialised N(0, ``std``) as FSRCNN's deconvolution (Dong et al. 2016, 3.3).
    """
    pad = (kernel_size - 1) // 2
    layer = nn.ConvTranspose2d(
        in_channels, out_channels, kernel_size, stride=scale, padding=pad, output_padding=scale + 2 * pad - kernel_size
    )
    nn.init.normal_(layer.weight, std=std)
    nn.init.zeros_(layer.bias)
    return layer


class Residual(nn.Module):
    """``x + body(x)``."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x):  # noqa: ANN001, ANN201 - as nn.Module
        return x + self.body(x)
