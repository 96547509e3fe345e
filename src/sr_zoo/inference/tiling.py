"""Upscaling images of any size in bounded memory: overlapping tiles, each run through the model alone.

A tile of ``tile`` x ``tile`` LR pixels is upscaled with ``overlap`` extra LR pixels of context on each
side, and only its centre is kept. Where ``overlap`` covers the model's receptive field (the LR pixels
each output pixel depends on, ``receptive_radius``), the result equals the whole-image pass (to float
rounding); memory then depends on the tile, not on the image.
"""

from __future__ import annotations

import contextlib
import math
from typing import Callable, Iterator

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from sr_zoo.inference.self_ensemble import SelfEnsemble

__all__ = ["precision_context", "receptive_radius", "tile_grid", "upscale", "upscale_tiles", "upscaled_tiles"]


def receptive_radius(model: nn.Module, scale: int, probe: int | None = None) -> int:
    """LR pixels on each side of a pixel that its upscaled pixels depend on, measured by autograd.

    The gradient of a block of output pixels (those of one LR pixel, at the centre of a ``probe`` x
    ``probe`` noise image) is traced back to the input through the bare network (``model.net``: the
    final clamp would hide it); the radius is how far from that pixel the non-zero gradient reaches.
    A Y-channel model also upsamples CbCr bicubically, which reaches 2 LR pixels. Without ``probe`` the
    probe starts at 32 pixels and doubles (to 512) until the radius fits well inside it, so the
    measurement costs little memory for the usual small radii; a radius of ``probe // 2`` or more
    means "at least that".
    """
    if isinstance(model, SelfEnsemble):  # the same reach: flips and rotations are symmetric
        model = model.model
    known = getattr(model, "receptive_radius", None)  # an exported model carries its own (inference.export)
    if isinstance(known, int):
        return known
    net = getattr(model, "net", model)
    y_channel = bool(getattr(model, "y_channel", False))
    channels = 1 if y_channel else 3
    for size in (probe,) if probe else (32, 64, 128, 256, 512):
        radius = _network_radius(net, scale, size, channels)
        if radius < size // 2 - 1:
            break
    return max(radius, 2) if y_channel else radius


def _network_radius(model: nn.Module, scale: int, probe: int, channels: int) -> int:
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    g = torch.Generator().manual_seed(0)
    x = (0.5 + 0.01 * torch.randn(1, channels, probe, probe, generator=g)).to(device).requires_grad_(True)
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            out = model(x)
            c = probe // 2
            out[..., c * scale : (c + 1) * scale, c * scale : (c + 1) * scale].sum().backward()
    finally:
        model.train(was_training)
    if x.grad is None:  # the output does not depend on the input at all (an identity network)
        return 0
    reach = x.grad.detach().abs().sum(dim=(0, 1)) > 0
    if not reach.any():
        return 0
    rows, cols = torch.nonzero(reach.any(dim=1)).flatten(), torch.nonzero(reach.any(dim=0)).flatten()
    return int(max(c - rows.min(), rows.max() - c, c - cols.min(), cols.max() - c))


def tile_grid(length: int, tile: int, align: int = 1) -> list[tuple[int, int]]:
    """``(start, stop)`` of tiles covering ``0..length``; starts are multiples of ``align`` (a model whose
    pooling grid must not shift, e.g. the MSFM generator, needs that), ``tile`` rounded up to it."""
    tile = max(align, math.ceil(tile / align) * align)
    return [(start, min(length, start + tile)) for start in range(0, length, tile)]


def upscale_tiles(model: Callable[[Tensor], Tensor], image: Tensor, scale: int, tile: int | None = None,
                  overlap: int = 16, align: int = 1) -> Iterator[tuple[int, int, int, int, Tensor]]:
    """``(y0, y1, x0, x1, sr)`` for each tile: ``sr`` is output rows ``y0:y1`` and columns ``x0:x1``.

    ``image`` is ``(1, C, H, W)`` on the model's device; without ``tile`` there is one tile.
    """
    _, _, height, width = image.shape
    if tile is None or tile >= max(height, width):
        yield 0, height * scale, 0, width * scale, model(image)
        return
    overlap = math.ceil(overlap / align) * align  # keeps every crop start on the alignment grid
    # A zoo model pads an input side shorter than its ``min_input_side`` (SRModule.forward); a crop is made
    # at least that long wherever the image is, so that no crop is padded where the whole image is not.
    least = getattr(model, "min_input_side", 0)
    for top, bottom in tile_grid(height, tile, align):
        for left, right in tile_grid(width, tile, align):
            y0, y1 = _crop(top, bottom, overlap, height, least, align)
            x0, x1 = _crop(left, right, overlap, width, least, align)
            sr = model(image[..., y0:y1, x0:x1])
            keep = sr[..., (top - y0) * scale : (bottom - y0) * scale, (left - x0) * scale : (right - x0) * scale]
            yield top * scale, bottom * scale, left * scale, right * scale, keep


def _crop(start: int, stop: int, overlap: int, length: int, least: int, align: int) -> tuple[int, int]:
    """``start:stop`` with ``overlap`` context each side, within ``0:length``, at least ``least`` long
    (where ``length`` allows), starting on the ``align`` grid."""
    lo, hi = max(0, start - overlap), min(length, stop + overlap)
    if hi - lo < least:
        hi = min(length, lo + least)
        lo = max(0, min(lo, hi - least)) // align * align
    return lo, hi


def precision_context(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """Autocast for ``precision`` 32 (none), bf16 or 16 on ``device``."""
    if precision in ("32", "32-true", "fp32"):
        return contextlib.nullcontext()
    dtype = {"bf16": torch.bfloat16, "16": torch.float16}.get(precision)
    if dtype is None:
        raise ValueError(f"precision must be 32, bf16 or 16, got {precision!r}")
    return torch.autocast(device.type, dtype=dtype)


def upscaled_tiles(model: Callable[[Tensor], Tensor], image: Tensor, scale: int | None = None,
                   tile: int | None = None, overlap: int | None = None, precision: str = "32",
                   progress: bool = False) -> Iterator[tuple[int, int, int, int, Tensor]]:
    """``(y0, y1, x0, x1, sr)`` per tile of ``image`` (``(C, H, W)`` or ``(1, C, H, W)``), ``sr`` float32 on
    the CPU, unclamped: what ``upscale`` and ``sr-zoo upscale`` assemble, each into its own canvas.

    Args:
        model: a zoo model (its device, ``scale``, ``tile_align`` and receptive field are used), an
            ``ExportedModel`` (the same, read from the file) or any callable from ``(1, C, h, w)`` to
            ``(1, C, s*h, s*w)``.
        tile: tile side in LR pixels (bounds memory); ``None``: the whole image at once.
        overlap: context around each tile; default: the model's receptive radius, so tiled == whole.
    """
    scale = int(scale if scale is not None else model.scale)
    batched = image if image.dim() == 4 else image[None]
    if batched.shape[0] != 1:
        raise ValueError(f"upscale takes one image at a time, got a batch of {batched.shape[0]}")
    parameters = model.parameters() if isinstance(model, nn.Module) else iter(())  # a wrapper's are its model's
    device = next(parameters, batched).device
    if isinstance(model, nn.Module):
        model.eval()
    if tile is not None and overlap is None:
        overlap = receptive_radius(model, scale)
    align = getattr(getattr(model, "net", model), "tile_align", 1)
    _, _, height, width = batched.shape
    count = len(tile_grid(height, tile, align)) * len(tile_grid(width, tile, align)) if tile else 1
    tiles = upscale_tiles(model, batched.to(device), scale, tile, overlap or 0, align)
    with torch.no_grad(), precision_context(device, precision):
        for y0, y1, x0, x1, sr in tqdm(tiles, total=count, desc="tiles", unit="tile", disable=not progress):
            yield y0, y1, x0, x1, sr[0].float().cpu()


@torch.no_grad()
def upscale(model: nn.Module, image: Tensor, scale: int | None = None, tile: int | None = None,
            overlap: int | None = None, precision: str = "32", progress: bool = False,
            self_ensemble: bool = False) -> Tensor:
    """Upscale ``image`` (``(C, H, W)`` or ``(1, C, H, W)``, values in [0, 1]) with a zoo model.

    ``scale`` defaults to ``model.scale``; ``tile`` (LR pixels) bounds memory, ``overlap`` defaults to
    the model's receptive radius, so tiled and whole-image results agree; ``self_ensemble``: the mean
    over the eight flips/rotations (``SelfEnsemble``). Returns ``(C, sH, sW)`` in [0, 1], float32, on the CPU.
    """
    scale = int(scale if scale is not None else model.scale)
    if self_ensemble:
        model = SelfEnsemble(model)
    channels, height, width = image.shape[-3:]
    out = torch.empty(channels, height * scale, width * scale)
    for y0, y1, x0, x1, sr in upscaled_tiles(model, image, scale, tile, overlap, precision, progress):
        out[:, y0:y1, x0:x1] = sr.clamp(0, 1)
    return out
