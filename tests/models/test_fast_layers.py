"""The zoo's faster forms of standard layers give the standard layer's output to float rounding:
SubPixelDeconv (FSRCNN's and EMTCM's last layer), outside training a convolution to stride**2 phases and a
pixel shuffle, in training the transposed convolution itself; ChannelsLastConv2d (SRResNet's last layer), a
convolution run in the channels-last layout on CPU."""

from __future__ import annotations

from unittest import mock

import pytest
import torch
from torch import nn

from sr_zoo.models.blocks import ChannelsLastConv2d, SubPixelDeconv, deconv_upsampler
from sr_zoo.models.srseg.srgan import SRResNetGenerator


def _pair(scale: int, cin: int, cout: int) -> tuple[SubPixelDeconv, nn.ConvTranspose2d]:
    torch.manual_seed(scale * 10 + cout)
    layer = deconv_upsampler(cin, cout, 9, scale, std=0.1)
    nn.init.normal_(layer.bias)
    plain = nn.ConvTranspose2d(cin, cout, 9, scale, layer.padding, layer.output_padding)
    plain.load_state_dict(layer.state_dict())  # the same parameter names and shapes
    return layer, plain


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("cout", [1, 3])
@torch.no_grad()
def test_inference_form_is_the_transposed_convolution(scale: int, cout: int) -> None:
    layer, plain = _pair(scale, 12, cout)
    layer.eval()
    for shape in [(2, 12, 7, 5), (1, 12, 1, 1), (1, 12, 3, 9)]:
        x = torch.randn(shape)
        expected = plain(x)
        # The phase form runs: no transposed convolution is called outside training.
        with mock.patch("torch.nn.functional.conv_transpose2d", side_effect=AssertionError("transposed conv")):
            got = layer(x)
            got_cl = layer(x.contiguous(memory_format=torch.channels_last))
        assert got.shape == expected.shape == (shape[0], cout, scale * shape[2], scale * shape[3])
        tolerance = 1e-5 * float(expected.abs().max())
        assert float((got - expected).abs().max()) <= tolerance
        assert float((got_cl - expected).abs().max()) <= tolerance


def test_training_runs_the_transposed_convolution_itself() -> None:
    layer, plain = _pair(3, 8, 1)
    layer.train()
    x = torch.randn(2, 8, 5, 6, requires_grad=True)
    assert torch.equal(layer(x), plain(x))
    layer(x).square().sum().backward()
    grad = layer.weight.grad.clone()
    plain(x).square().sum().backward()
    assert torch.equal(grad, plain.weight.grad)


def test_a_layer_whose_output_is_not_stride_times_the_input_falls_back() -> None:
    layer = SubPixelDeconv(4, 2, 3, stride=2, padding=0).eval()  # (h - 1) * 2 + 3: not 2h
    plain = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=0)
    plain.load_state_dict(layer.state_dict())
    x = torch.randn(1, 4, 5, 5)
    assert torch.equal(layer(x), plain(x)) and layer(x).shape[-1] == 11


def test_channels_last_conv_is_the_convolution_with_a_contiguous_output() -> None:
    torch.manual_seed(0)
    layer = ChannelsLastConv2d(16, 3, 9, padding=4)
    plain = nn.Conv2d(16, 3, 9, padding=4)
    plain.load_state_dict(layer.state_dict())
    x = torch.randn(2, 16, 20, 13, requires_grad=True)
    got, expected = layer(x), plain(x)
    assert got.is_contiguous() and got.shape == expected.shape == (2, 3, 20, 13)
    assert float((got - expected).detach().abs().max()) <= 1e-5 * float(expected.detach().abs().max())
    grad_in, = torch.autograd.grad(got.square().sum(), x)
    expected_in, = torch.autograd.grad(plain(x).square().sum(), x)
    assert float((grad_in - expected_in).abs().max()) <= 1e-5 * float(expected_in.abs().max())
    assert isinstance(SRResNetGenerator(4, n=8, blocks=1).tail, ChannelsLastConv2d)


@pytest.mark.parametrize("scale,padding", [(2, 4), (3, 3), (3, 4), (4, 3), (4, 4)])
@torch.no_grad()
def test_the_replicated_edge_is_deconv_m_in_both_forms(scale: int, padding: int) -> None:
    """``padding_mode="replicate"``: the FSRCNN authors' deconv.m (the input padded by one replicated pixel,
    the full transposed convolution, cropped ``padding + scale`` in), in training and in the phase form."""
    torch.manual_seed(scale + padding)
    layer = deconv_upsampler(6, 1, 9, scale, std=0.1, padding=padding, padding_mode="replicate")
    nn.init.normal_(layer.bias)
    x = torch.randn(2, 6, 7, 5)
    full = torch.nn.functional.conv_transpose2d(torch.nn.functional.pad(x, (1, 1, 1, 1), mode="replicate"),
                                                layer.weight, layer.bias, stride=scale)
    start = padding + scale
    expected = full[..., start : start + 7 * scale, start : start + 5 * scale]
    tolerance = 1e-5 * float(expected.abs().max())
    assert float((layer.train()(x) - expected).abs().max()) <= tolerance
    with mock.patch("torch.nn.functional.conv_transpose2d", side_effect=AssertionError("transposed conv")):
        fast = layer.eval()(x)
    assert fast.shape == expected.shape
    assert float((fast - expected).abs().max()) <= tolerance


def test_padding_is_a_layout_that_weights_keep() -> None:
    """``set_padding``/``set_padding_mode`` change how the layers read their input, not the parameters."""
    from sr_zoo.models.blocks import set_padding_mode

    layer = deconv_upsampler(4, 1, 9, 3)
    before = {k: v.clone() for k, v in layer.state_dict().items()}
    layer.set_padding(4)
    set_padding_mode(layer, "replicate")
    assert (layer.padding, layer.output_padding, layer.replicate_edge) == ((4, 4), (2, 2), 1)
    assert all(torch.equal(before[k], v) for k, v in layer.state_dict().items())
    assert layer(torch.randn(1, 4, 5, 6)).shape == (1, 1, 15, 18)
    with pytest.raises(ValueError, match="cannot pad by 5"):
        layer.set_padding(5)
