"""Tiled upscaling equals the whole-image pass wherever the overlap covers the receptive field."""

from __future__ import annotations

import warnings

import pytest
import torch

from sr_zoo.models import create_model
from sr_zoo.tiling import receptive_radius, tile_grid, upscale

# Small configurations of each model where the full one is slow on a CPU; the radius is measured.
MODELS = [
    ("bicubic", 3, {}),
    ("srcnn", 3, {}),
    ("fsrcnn", 3, {}),
    ("emtcm", 3, {}),
    ("csrcnn", 4, {"blocks_per_level": [1, 1]}),
    ("msfmgan", 3, {"widths": [8, 16, 32]}),
    ("msfmgan", 4, {"widths": [8, 16, 32]}),
    ("srresnet", 4, {"blocks": 4, "n": 16}),
    ("srseg", 2, {"blocks": 2, "n": 16}),
]


@pytest.mark.parametrize("name,scale,kwargs", MODELS, ids=[f"{m[0]}x{m[1]}" for m in MODELS])
def test_tiled_equals_untiled_with_the_receptive_overlap(name: str, scale: int, kwargs: dict) -> None:
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    model = create_model(name, scale, **kwargs).eval()
    radius = receptive_radius(model, scale)
    assert radius == receptive_radius(model, scale, probe=96), f"{name}: the adaptive probe was too small"
    g = torch.Generator().manual_seed(1)
    image = torch.rand(3, 45, 38, generator=g)
    whole = upscale(model, image)
    tiled = upscale(model, image, tile=16, overlap=radius)
    assert tiled.shape == whole.shape == (3, 45 * scale, 38 * scale)
    assert (tiled - whole).abs().max().item() < 1e-4
    if radius > 1:  # too little overlap shows at the seams: the check above can fail
        short = upscale(model, image, tile=16, overlap=radius // 2 - 1 if radius > 2 else 0)
        assert (short - whole).abs().max().item() > 1e-4


def test_tile_grid_covers_and_aligns() -> None:
    assert tile_grid(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert tile_grid(10, 3, align=4) == [(0, 4), (4, 8), (8, 10)]
    assert all(start % 4 == 0 for start, _ in tile_grid(101, 17, align=4))


def test_grayscale_and_batched_input() -> None:
    model = create_model("fsrcnn", 2).eval()
    gray = torch.rand(1, 20, 24)
    out = upscale(model, gray[None], tile=8)
    assert out.shape == (1, 40, 48)
    assert torch.allclose(out, upscale(model, gray), atol=1e-4)
