"""Tiled upscaling equals the whole-image pass wherever the overlap covers the receptive field."""

from __future__ import annotations

import pytest
import torch

from sr_zoo.inference.tiling import receptive_radius, tile_grid, upscale, upscale_tiles
from sr_zoo.models import create_model

# Small configurations of each model where the full one is slow on a CPU; the radius is measured. The
# tile (LR pixels) is 16, or 32 where the receptive radius is wide and float64 slow (CSRCNN: 4 tiles,
# the lower and right ones cropped 25 pixels above / left of what they keep).
MODELS = [
    ("bicubic", 3, {}, 16),
    ("srcnn", 3, {}, 16),
    ("srcnn", 2, {"padding_mode": "zeros"}, 16),  # checkpoints from before the padding option
    ("fsrcnn", 3, {}, 16),
    ("fsrcnn", 4, {"padding_mode": "zeros", "deconv_padding": 4}, 16),
    ("emtcm", 3, {}, 16),
    pytest.param("emtcm", 4, {"padding_mode": "replicate"}, 16, marks=pytest.mark.slow),  # export covers it too
    ("csrcnn", 4, {"blocks_per_level": [1, 1]}, 32),
    ("msfmgan", 3, {"widths": [8, 16, 32]}, 16),
    ("msfmgan", 4, {"widths": [8, 16, 32]}, 16),
    ("srresnet", 4, {"blocks": 4, "n": 16}, 16),
    ("srseg", 2, {"blocks": 2, "n": 16}, 16),
]


def _tiled64(model: torch.nn.Module, image: torch.Tensor, scale: int, tile: int | None, overlap: int) -> torch.Tensor:
    """What ``upscale`` assembles from ``upscale_tiles``, kept in the model's dtype (float64 here)."""
    align = getattr(getattr(model, "net", model), "tile_align", 1)
    out = torch.empty(image.shape[0], image.shape[1] * scale, image.shape[2] * scale, dtype=image.dtype)
    with torch.no_grad():
        for y0, y1, x0, x1, sr in upscale_tiles(model, image[None], scale, tile, overlap, align):
            out[:, y0:y1, x0:x1] = sr[0]
    return out


@pytest.mark.parametrize("name,scale,kwargs,tile", MODELS,
                         ids=[f"{m[0]}x{m[1]}" + (f"-{m[2]['padding_mode']}" if "padding_mode" in m[2] else "")
                              for m in (getattr(m, "values", m) for m in MODELS)])
def test_tiled_equals_untiled_with_the_receptive_overlap(name: str, scale: int, kwargs: dict, tile: int) -> None:
    """Compared in float64, where tiled and whole-image passes agree to 1e-10 on any CPU.

    Each kept output pixel is computed from the same input pixels either way, but a convolution kernel
    may sum its products in an order that depends on the tensor's size and the CPU (blocking,
    vectorisation), so the two agree only to rounding. In float32 that rounding, accumulated over the
    receptive field through every layer, reached 1.5e-4 (CSRCNN x4), beyond any fixed bound one could
    trust on another CPU. In float64 each operation rounds at 2**-53 relative, 2**29 times finer: the
    largest difference seen is 3e-13 (CSRCNN x4), so 1e-10 leaves a margin of 300. An overlap below the
    radius differs by 5e-3 or more, which float32 shows as well (checked there, where it is fast).
    """
    torch.manual_seed(0)
    model = create_model(name, scale, **kwargs).eval()
    radius = receptive_radius(model, scale)  # measured on the float32 model, as upscale does
    assert radius == receptive_radius(model, scale, probe=96), f"{name}: the adaptive probe was too small"
    g = torch.Generator().manual_seed(1)
    image = torch.rand(3, 45, 38, generator=g, dtype=torch.float64)
    if radius > 1:  # too little overlap shows at the seams, far above float32 rounding: the check below can fail
        short = upscale(model, image.float(), tile=tile, overlap=radius // 2 - 1 if radius > 2 else 0)
        assert (short - upscale(model, image.float())).abs().max().item() > 1e-3
    model = model.double()
    whole = _tiled64(model, image, scale, None, 0)
    tiled = _tiled64(model, image, scale, tile, radius)
    assert tiled.shape == whole.shape == (3, 45 * scale, 38 * scale)
    assert (tiled - whole).abs().max().item() < 1e-10


def test_tile_grid_covers_and_aligns() -> None:
    assert tile_grid(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert tile_grid(10, 3, align=4) == [(0, 4), (4, 8), (8, 10)]
    assert all(start % 4 == 0 for start, _ in tile_grid(101, 17, align=4))


def test_grayscale_and_batched_input() -> None:
    """``upscale`` itself, with a float64 model (see above): it returns float32, so tiled and whole agree
    to one float32 rounding of values in [0, 1], 2**-24, on any CPU."""
    model = create_model("fsrcnn", 2).eval()
    overlap = receptive_radius(model, 2)
    model = model.double()
    gray = torch.rand(1, 20, 24, dtype=torch.float64)
    out = upscale(model, gray[None], tile=8, overlap=overlap)
    assert out.shape == (1, 40, 48) and out.dtype == torch.float32
    assert (out - upscale(model, gray)).abs().max().item() <= 2**-24
