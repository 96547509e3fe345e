"""Comparison figures in the papers' style: the HR image with a boxed region, then that region zoomed
for each method with its PSNR/SSIM (Y channel, the papers' convention) underneath.

Drawn with Pillow (already a dependency); crops are zoomed by an integer factor with nearest-neighbour
so that every pixel shown is a pixel of the result, as in the papers' figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

__all__ = ["Panel", "comparison_figure"]

_CAPTION = 44  # pixels of text under each panel
_GAP = 8


@dataclass(frozen=True)
class Panel:
    """One column of the figure: its title, the full SR (or HR) image ``(3, H, W)`` in [0, 1], its scores."""

    title: str
    image: Tensor
    psnr: float | None = None
    ssim: float | None = None
    extra: dict[str, float] = field(default_factory=dict)  # other scores by metric name (niqe, lpips)


def _to_uint8(image: Tensor) -> np.ndarray:
    array = image.detach().float().clamp(0, 1).cpu().numpy()
    if array.shape[0] == 1:
        array = np.repeat(array, 3, axis=0)
    return np.floor(array.transpose(1, 2, 0) * 255 + 0.5).astype(np.uint8)


def comparison_figure(hr: Tensor, panels: list[Panel], box: tuple[int, int, int, int], height: int = 256,
                      hr_scores: dict[str, float] | None = None,
                      ) -> tuple[Image.Image, dict[str, tuple[int, int, int, int]]]:
    """The figure and where each part sits: ``{"overview": (x, y, w, h), title: (x, y, w, h), ...}``.

    ``box`` is ``(left, top, width, height)`` in HR pixels; each zoomed crop is that region of a panel's
    image magnified ``max(1, height // box height)`` times. ``hr_scores``: no-reference scores of the HR image
    (NIQE), captioned under its column as a panel's extra scores are.
    """
    left, top, bw, bh = box
    H, W = hr.shape[-2:]
    if left < 0 or top < 0 or bw < 1 or bh < 1 or left + bw > W or top + bh > H:
        raise ValueError(f"box {box} does not fit in the {W}x{H} image")
    zoom = max(1, height // bh)
    hr8 = _to_uint8(hr)
    overview_w = max(1, round(W * height / H))
    overview = Image.fromarray(hr8).resize((overview_w, height), Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(overview)
    f = height / H
    draw.rectangle([left * f, top * f, (left + bw) * f - 1, (top + bh) * f - 1], outline=(255, 0, 0), width=2)
    columns = [("HR", hr8, None, None, hr_scores or {})] + [(p.title, _to_uint8(p.image), p.psnr, p.ssim, p.extra)
                                                            for p in panels]
    crop_w, crop_h = bw * zoom, bh * zoom
    width = overview_w + len(columns) * (crop_w + _GAP) + _GAP
    caption = _CAPTION + (18 if any(c[4] for c in columns) else 0)  # a third line for the extra scores
    figure = Image.new("RGB", (width, max(height, crop_h) + caption), "white")
    figure.paste(overview, (0, 0))
    layout = {"overview": (0, 0, overview_w, height)}
    font = ImageFont.load_default(size=14)
    pen = ImageDraw.Draw(figure)
    x = overview_w + _GAP
    for title, image, psnr, ssim, extra in columns:
        crop = image[top : top + bh, left : left + bw].repeat(zoom, axis=0).repeat(zoom, axis=1)
        figure.paste(Image.fromarray(crop), (x, 0))
        layout[title] = (x, 0, crop_w, crop_h)
        pen.text((x + 2, crop_h + 4), title, fill="black", font=font)
        if psnr is not None:
            pen.text((x + 2, crop_h + 22), f"{psnr:.2f} dB" + (f" / {ssim:.4f}" if ssim is not None else ""),
                     fill="black", font=font)
        if extra:
            pen.text((x + 2, crop_h + 40), "  ".join(f"{k.upper()} {v:.3f}" for k, v in extra.items()),
                     fill="black", font=font)
        x += crop_w + _GAP
    return figure, layout
