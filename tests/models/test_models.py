"""The zoo's models: shapes and ranges at every scale, colour handling, overfitting, checkpoints."""

from __future__ import annotations

import pytest
import torch

from helpers.small_models import LIGHT
from sr_zoo.errors import SRZooError
from sr_zoo.models import EMTCM, create_model, list_models, model_info
from sr_zoo.ops import imresize, rgb_to_ycbcr


def _smooth_images(n: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, h // 4 + 1, w // 4 + 1, generator=g)
    return imresize(coarse, size=(h, w)).clamp(0, 1)


@pytest.mark.parametrize("name", LIGHT)
def test_output_shape_and_range_at_every_scale(name: str) -> None:
    scales = model_info(name).scales or (2, 3, 4, 8)
    lr = _smooth_images(2, 9, 13)
    for scale in scales:
        model = create_model(name, scale).eval()
        with torch.no_grad():
            sr = model(lr)
            gray = model(lr[:, :1])
        assert sr.shape == (2, 3, 9 * scale, 13 * scale)
        assert 0 <= sr.min() and sr.max() <= 1
        assert gray.shape == (2, 1, 9 * scale, 13 * scale)  # a grayscale image stays grayscale


def test_unsupported_scale_lists_the_allowed_ones() -> None:
    with pytest.raises(SRZooError, match=r"model 'emtcm' cannot do scale 8; allowed scales: 2, 3, 4"):
        create_model("emtcm", 8)
    available = ", ".join(list_models())
    with pytest.raises(SRZooError, match=rf"unknown model 'edsr'; available: {available}"):
        create_model("edsr", 2)


def test_y_channel_models_take_colour_from_bicubic_cbcr() -> None:
    from sr_zoo.models.bicubic import BicubicUpsampler

    lr = 0.25 + 0.5 * _smooth_images(1, 12, 12)  # mid-range colours: nothing is clamped
    model = create_model("fsrcnn", 3).eval()
    model.net = BicubicUpsampler(3)  # a known Y network, so that the expected output is known
    with torch.no_grad():
        sr = model(lr)
    ycbcr = rgb_to_ycbcr(lr)
    assert torch.allclose(rgb_to_ycbcr(sr), imresize(ycbcr, scale=3), atol=1e-5)
    assert torch.allclose(sr, imresize(lr, scale=3), atol=1e-5)  # the colour transform is linear


def test_emtcm_layout_follows_section_4_2() -> None:
    net = EMTCM(scale=3).net
    assert net.coarse[0].weight.shape == (56, 1, 5, 5)
    assert net.memory_friendly[0].weight.shape == (12, 56, 1, 1)
    assert len(net.mapping) == 9 and net.mapping[0].body[0].weight.shape == (12, 12, 3, 3)
    assert net.recovery[0].weight.shape == (56, 12, 1, 1)
    assert net.deconv.weight.shape == (56, 1, 9, 9) and net.deconv.stride == (3, 3)
    assert sum(p.numel() for p in net.parameters()) == 19409
    literal = EMTCM(scale=3, mapping_kernel=1).net
    assert literal.mapping[0].body[0].weight.shape == (12, 12, 1, 1)
    assert sum(p.numel() for p in literal.parameters()) == 9041


@pytest.mark.parametrize(
    "name,kwargs,steps,factor",
    [
        ("srcnn", {"lr": 1e-3, "last_lr": 1e-3}, 150, 5),
        ("fsrcnn", {}, 150, 5),
        ("emtcm", {}, 150, 3),
    ],
)
def test_overfits_a_fixed_batch(name: str, kwargs: dict, steps: int, factor: float) -> None:
    torch.manual_seed(0)
    hr = _smooth_images(4, 24, 24, seed=1)
    batch = {"hr": hr, "lr": imresize(hr, scale=1 / 3)}
    model = create_model(name, 3, **kwargs)
    optimizer = model.configure_optimizers()
    model.log = lambda *args, **kw: None  # no trainer attached
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = model.training_step(batch, 0)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / factor, (losses[0], losses[-1])
