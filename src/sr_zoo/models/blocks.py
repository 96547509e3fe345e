"""Layers shared by the zoo's networks, with the initialisations their papers use."""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache
from typing import Literal, TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["ChannelsLastConv2d", "ConvPReLU", "PaddingMode", "Residual", "ResidualBlock", "SubPixelDeconv",
           "centred_deconv_padding", "deconv_upsampler", "he_conv", "he_deconv", "he_init_", "normal_init_",
           "pad_to_multiple", "set_padding_mode"]

Layer = TypeVar("Layer", nn.Conv2d, nn.ConvTranspose2d)
Nonlinearity = Literal["relu", "leaky_relu", "linear"]
PaddingMode = Literal["zeros", "replicate"]
"""How a same-size convolution fills the border: PyTorch's zeros, or the border pixel repeated, as MATLAB's
``imfilter(..., 'same', 'replicate')`` in the SRCNN and FSRCNN authors' test code (and their deconv.m)."""


def pad_to_multiple(x: Tensor, multiple: int) -> Tensor:
    """``x`` padded at its bottom and right, by its replicated edge, to a height and width that are multiples of
    ``multiple`` (for networks that halve the resolution; the caller crops the output back). Unconditional (a
    zero pad is free), so an exported graph serves every size, not only the traced one's."""
    h, w = x.shape[-2:]
    return F.pad(x, (0, -w % multiple, 0, -h % multiple), mode="replicate")


def he_init_(layer: Layer, nonlinearity: Nonlinearity = "relu", slope: float = 0.0) -> Layer:
    """He et al. 2015's ("MSRA") init for the activation that follows: N(0, gain^2 / fan_in), zero bias."""
    nn.init.kaiming_normal_(layer.weight, a=slope, mode="fan_in", nonlinearity=nonlinearity)
    nn.init.zeros_(layer.bias)
    return layer


def normal_init_(layer: Layer, std: float) -> Layer:
    """Weights N(0, ``std``), zero bias (SRCNN's and FSRCNN's init)."""
    nn.init.normal_(layer.weight, std=std)
    nn.init.zeros_(layer.bias)
    return layer


def he_conv(in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
            nonlinearity: Nonlinearity = "relu", slope: float = 0.0, padding_mode: PaddingMode = "zeros") -> nn.Conv2d:
    """A same-padded convolution, He-initialised for the activation that follows (``he_init_``)."""
    conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2,
                     padding_mode=padding_mode)
    return he_init_(conv, nonlinearity, slope)


def he_deconv(in_channels: int, out_channels: int, kernel_size: int, stride: int = 2, padding: int = 0,
              output_padding: int = 0) -> nn.ConvTranspose2d:
    """A transposed convolution, He-initialised for a ReLU (``he_init_``)."""
    return he_init_(nn.ConvTranspose2d(in_channels, out_channels, kernel_size, stride, padding, output_padding))


@lru_cache(maxsize=32)
def _phase_taps(kernel: int, stride: int, padding: int) -> tuple[tuple[tuple[int, ...], ...], int, int]:
    """For a transposed convolution (``kernel``, ``stride``, ``padding``) whose output is ``stride`` times its
    input: output ``stride * q + p`` sums input ``q + d`` times kernel tap ``p + padding - stride * d``. Returns
    that tap per phase ``p`` and offset ``d`` (``kernel``: none, a zero), and how far ``d`` reaches left and right."""
    offsets = [d for p in range(stride) for d in range(-kernel, kernel + 1) if 0 <= p + padding - stride * d < kernel]
    low, high = min(offsets), max(offsets)
    taps = tuple(tuple(k if 0 <= (k := p + padding - stride * d) < kernel else kernel for d in range(low, high + 1))
                 for p in range(stride))
    return taps, -low, high


class SubPixelDeconv(nn.ConvTranspose2d):
    """A transposed convolution to exactly ``stride`` times the input size that, outside training, runs as
    the equivalent convolution to ``stride**2`` phase maps per output channel and a pixel shuffle.

    The same products summed per output pixel (in another order: float rounding apart, the same output),
    several times faster on CPU, where a transposed convolution to one channel is far below the convolution
    peak (``benchmarks/inference_roofline.py``); training keeps the transposed convolution. The parameters
    are the transposed convolution's (``weight``: in x out x k x k), as the checkpoints hold them.

    ``replicate_edge`` (an attribute, not a parameter: 0 or 1) repeats the input's border pixels that many
    times on each side before the transposed convolution, whose padding grows by ``stride`` per pixel so
    the output keeps its size and grid: FSRCNN's deconv.m pads its LR map so (one pixel, ``padarray(...,
    'replicate')``), and the HR pixels near the border then get the border pixel's contribution, not zero.
    """

    replicate_edge: int = 0

    def set_padding(self, padding: int | None) -> None:
        """Pad by ``padding`` (``None``: ``centred_deconv_padding``), the output still ``stride`` times the
        input: the layer's layout, not its parameters."""
        k, s = self.kernel_size[0], self.stride[0]
        pad = centred_deconv_padding(k, s) if padding is None else int(padding)
        if not 0 <= s + 2 * pad - k < s:
            raise ValueError(f"a {k}x{k} transposed convolution with stride {s} cannot pad by {pad} and give "
                             f"{s} times its input (padding {(k - s + 1) // 2} to {(k - 1) // 2} can)")
        self.padding = (pad, pad)
        self.output_padding = (s + 2 * pad - k,) * 2

    def forward(self, x: Tensor, output_size: list[int] | None = None) -> Tensor:
        s = self.stride[0]
        k = self.kernel_size[0]
        e = self.replicate_edge
        square = self.stride == (s, s) and self.kernel_size == (k, k) and self.padding[0] == self.padding[1]
        exact_size = self.output_padding == (s + 2 * self.padding[0] - k,) * 2  # the output is s times the input
        if (self.training or output_size is not None or not square or not exact_size or self.groups != 1
                or self.dilation != (1, 1) or self.padding_mode != "zeros"):
            if not e:
                return super().forward(x, output_size)
            padding = tuple(p + e * st for p, st in zip(self.padding, self.stride))
            return F.conv_transpose2d(F.pad(x, (e, e, e, e), mode="replicate"), self.weight, self.bias,
                                      self.stride, padding, self.output_padding, self.groups, self.dilation)
        taps, left, right = _phase_taps(k, s, self.padding[0])
        index = torch.tensor(taps, device=self.weight.device)  # (s, D): phase, offset -> tap (k: zero)
        padded = F.pad(self.weight, (0, 1, 0, 1))  # tap k reads the zero
        d = index.shape[1]
        # (in, out, s, D, s, D) -> (out, s_y, s_x, in, D, D): channel out * s * s + p_y * s + p_x, pixel_shuffle's order
        weight = padded[:, :, index][:, :, :, :, index].permute(1, 2, 4, 0, 3, 5)
        weight = weight.reshape(self.out_channels * s * s, self.in_channels, d, d)
        bias = self.bias.repeat_interleave(s * s) if self.bias is not None else None
        if e:  # the replicated pixels first, then zeros as far as the offsets reach (or a crop, if less far)
            x = F.pad(x, (e, e, e, e), mode="replicate")
            left, right = left - e, right - e
        if min(left, right) < 0:
            h, w = x.shape[-2:]
            x = x[..., max(-left, 0) : h - max(-right, 0), max(-left, 0) : w - max(-right, 0)]
        phases = F.conv2d(F.pad(x, (max(left, 0), max(right, 0)) * 2), weight, bias)
        return F.pixel_shuffle(phases, s)


class ChannelsLastConv2d(nn.Conv2d):
    """``nn.Conv2d`` that runs in the channels-last layout on CPU whatever its input's, and returns a contiguous
    output: for a convolution to few maps (SRResNet's 64 -> 3 9x9 to RGB), where oneDNN's NCHW kernel is
    several times slower than its NHWC one (``benchmarks/inference_roofline.py``). The same parameters, and
    the same output to float rounding; elsewhere (CUDA, a channels-last input) a plain ``nn.Conv2d``."""

    def forward(self, x: Tensor) -> Tensor:
        if x.device.type != "cpu" or x.is_contiguous(memory_format=torch.channels_last):
            return super().forward(x)
        weight = self.weight.contiguous(memory_format=torch.channels_last)  # the layout oneDNN then takes
        return self._conv_forward(x, weight, self.bias).contiguous()


def centred_deconv_padding(kernel_size: int, scale: int) -> int:
    """The padding of a ``kernel_size`` transposed convolution with stride ``scale`` that puts each LR pixel's
    output where that pixel lies on the HR grid, in the layout of the FSRCNN authors' released weights.

    MATLAB's ``imresize(hr, 1/scale)`` (how every paper here makes LR) centres LR pixel ``i`` on HR position
    ``scale * i + (scale - 1) / 2``; the kernel's middle tap lands on ``scale * i + kernel_size // 2 - padding``.
    For odd scales that centre is a pixel, and padding ``kernel_size // 2 - (scale - 1) // 2`` puts the middle
    tap on it (9x9 at x3: 3, the layout the authors' x3 weights were trained in: their demo shifts deconv.m's
    output by one pixel, ``shave_x3.m``, to get there). For even scales the centre falls between pixels and
    no padding centres the middle tap; the padding is then ``kernel_size // 2``, deconv.m's own crop, for
    which the authors' x2 and x4 kernels were trained (at x4, padding 3 instead costs their weights 3.5 dB
    on T91: docs/baselines.md, with the command); a kernel trained from scratch centres itself within the 9 taps.
    """
    return kernel_size // 2 - ((scale - 1) // 2 if scale % 2 else 0)


def deconv_upsampler(in_channels: int, out_channels: int, kernel_size: int, scale: int, std: float = 1e-3,
                     padding: int | None = None, padding_mode: PaddingMode = "zeros") -> SubPixelDeconv:
    """A transposed convolution from ``H x W`` to exactly ``scale H x scale W``, weights N(0, ``std``)
    (``SubPixelDeconv``: a convolution and a pixel shuffle outside training).

    FSRCNN's last layer (FSRCNN paper, Sec. 3.3), also EMTCM's. ``padding`` ``None`` puts it on the HR grid
    (``centred_deconv_padding``); ``padding_mode="replicate"`` is deconv.m's one replicated pixel.
    """
    layer = SubPixelDeconv(in_channels, out_channels, kernel_size, stride=scale)
    layer.set_padding(padding)
    layer.replicate_edge = int(padding_mode == "replicate")
    return normal_init_(layer, std)


def set_padding_mode(module: nn.Module, mode: PaddingMode) -> None:
    """Switch every convolution of ``module`` to ``mode`` in place (a transposed convolution of the zoo to
    deconv.m's replicated edge or none): the mode is how the layers read their input, not a parameter, so
    weights trained under one mode load under another unchanged."""
    for layer in module.modules():
        if isinstance(layer, SubPixelDeconv):
            layer.replicate_edge = int(mode == "replicate")
        elif isinstance(layer, nn.Conv2d):
            layer.padding_mode = mode


class ConvPReLU(nn.Sequential):
    """``k x k`` same-padded convolution and a per-channel PReLU (slope 0.25), He-initialised for it."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 padding_mode: PaddingMode = "zeros") -> None:
        conv = he_conv(in_channels, out_channels, kernel_size, nonlinearity="leaky_relu", slope=0.25,
                       padding_mode=padding_mode)
        super().__init__(conv, nn.PReLU(out_channels, init=0.25))


class Residual(nn.Sequential):
    """``x + layers(x)``: an identity skip over layers applied in order (given as to ``nn.Sequential``; an
    ``OrderedDict`` names them, and so the parameters: ``Residual(OrderedDict(body=m))`` holds ``body.*``)."""

    def forward(self, x: Tensor) -> Tensor:
        return x + super().forward(x)


class ResidualBlock(Residual):
    """Two 3x3 convolutions of ``n`` maps under an identity skip, in SRGAN's or CSRCNN's form.

    ``batch_norm=True``, SRGAN's block as the SRSEG paper describes it (Sec. 3.1): each convolution followed
    by batch norm and LeakyReLU(``slope``), PyTorch's default init; with ``form="ledig"``, SRGAN's own (Ledig et
    al., Fig. 4): conv, BN, PReLU, conv, BN. ``batch_norm=False``, CSRCNN's (CSRCNN
    paper, Sec. III-A): convolution, ReLU, convolution, He init, no normalisation. The parameter names
    (``body.*``; ``conv1.*``, ``conv2.*``) are the ones the models' checkpoints hold.
    """

    def __init__(self, n: int, batch_norm: bool = False, slope: float = 0.2, form: str = "srseg") -> None:
        if batch_norm and form == "ledig":  # Ledig et al.'s Fig. 4: PReLU per channel, nothing after the second BN
            layers = OrderedDict(body=nn.Sequential(
                nn.Conv2d(n, n, 3, padding=1), nn.BatchNorm2d(n), nn.PReLU(n),
                nn.Conv2d(n, n, 3, padding=1), nn.BatchNorm2d(n),
            ))
        elif batch_norm:
            layers = OrderedDict(body=nn.Sequential(
                nn.Conv2d(n, n, 3, padding=1), nn.BatchNorm2d(n), nn.LeakyReLU(slope, inplace=True),
                nn.Conv2d(n, n, 3, padding=1), nn.BatchNorm2d(n), nn.LeakyReLU(slope, inplace=True),
            ))
        else:
            layers = OrderedDict(conv1=he_conv(n, n), relu=nn.ReLU(), conv2=he_conv(n, n))
        super().__init__(layers)
