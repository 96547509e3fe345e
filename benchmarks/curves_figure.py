"""Training curves side by side as one PNG figure: Set5 and Set14 PSNR against patches seen and against CPU
minutes, and SSIM against patches seen, one line per run, the papers' PSNR dashed.

    python benchmarks/curves_figure.py benchmarks/curves/fsrcnn_x3.json benchmarks/curves/emtcm_x3.json \\
        -o docs/figures/emtcm_vs_fsrcnn_x3.png

Each curve file holds ``benchmarks/training_curve.py --json``'s rows (step, Set5/Set14 PSNR and SSIM) with the
run's ``batch``, ``cpu_minutes`` anchors ``[[step, minutes], ...]`` (the run's CPU time, spread linearly between
them) and optionally ``paper_psnr``. Drawn with PIL by hand: matplotlib is no dependency of the zoo, and a line chart
is a few dozen lines and dots.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

COLOURS = ((31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189))
PANEL_W, PANEL_H = 300, 190  # plot area of one panel, px (drawn at SUPERSAMPLE times, then reduced)
MARGIN_L, MARGIN_T, GAP_X, GAP_Y = 60, 60, 80, 70
SUPERSAMPLE = 3
SETS = ("Set5", "Set14")
Colour = tuple[int, int, int]


def cpu_minutes(curve: dict, step: int) -> float:
    """The run's CPU minutes at ``step``, linear between its anchors."""
    anchors = curve["cpu_minutes"]
    for (s0, m0), (s1, m1) in zip(anchors, anchors[1:]):
        if step <= s1:
            return m0 + (m1 - m0) * (step - s0) / (s1 - s0)
    return float(anchors[-1][1])


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering [low, high] (steps of 1, 2, 2.5 or 5 times a power of ten)."""
    if high <= low:  # a flat series: a band of 0.1% around it
        low, high = low - 1e-3 * max(abs(low), 1.0), high + 1e-3 * max(abs(high), 1.0)
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    return [first + i * step for i in range(int(math.ceil((high - first) / step - 1e-9)) + 1)]


class Canvas:
    """PIL drawing in figure pixels, at SUPERSAMPLE times the size for smooth lines."""

    def __init__(self, width: int, height: int) -> None:
        self.image = Image.new("RGB", (width * SUPERSAMPLE, height * SUPERSAMPLE), "white")
        self.draw = ImageDraw.Draw(self.image)
        self.font = ImageFont.load_default(size=12 * SUPERSAMPLE)
        self.bold = ImageFont.load_default(size=13 * SUPERSAMPLE)

    def line(self, points: Sequence[tuple[float, float]], colour: Colour, width: float = 1, dash: bool = False) -> None:
        k = SUPERSAMPLE
        if not dash:
            self.draw.line([(x * k, y * k) for x, y in points], fill=colour, width=round(width * k), joint="curve")
            return
        (x0, y0), (x1, y1) = points  # a dashed straight line: 6 px on, 4 off
        length = math.hypot(x1 - x0, y1 - y0)
        for start in range(0, int(length), 10):
            a, b = start / length, min(start + 6, length) / length
            at = lambda t: (x0 + t * (x1 - x0), y0 + t * (y1 - y0))  # noqa: E731
            self.line([at(a), at(b)], colour, width)

    def dot(self, x: float, y: float, colour: Colour, radius: float = 2.2) -> None:
        k = SUPERSAMPLE
        self.draw.ellipse([(x - radius) * k, (y - radius) * k, (x + radius) * k, (y + radius) * k], fill=colour)

    def text(self, x: float, y: float, text: str, anchor: str = "mm", bold: bool = False) -> None:
        self.draw.text((x * SUPERSAMPLE, y * SUPERSAMPLE), text, fill=(0, 0, 0), anchor=anchor,
                       font=self.bold if bold else self.font)

    def save(self, path: Path) -> None:
        size = (self.image.width // SUPERSAMPLE, self.image.height // SUPERSAMPLE)
        small = self.image.resize(size, Image.Resampling.LANCZOS)
        small.quantize(64, dither=Image.Dither.NONE).save(path, optimize=True)  # a chart needs few colours


def panel(canvas: Canvas, x0: float, y0: float, title: str, xlabel: str,
          series: Sequence[tuple[Colour, list[tuple[float, float]]]], levels: Sequence[tuple[Colour, float]]) -> None:
    """One line chart at (x0, y0): axes with round ticks, one line with dots per series, dashed levels."""
    xs = [x for _, pts in series for x, _ in pts]
    ys = [y for _, pts in series for _, y in pts] + [level for _, level in levels]
    xt, yt = nice_ticks(0, max(xs)), nice_ticks(min(ys), max(ys))
    x_of = lambda x: x0 + PANEL_W * (x - xt[0]) / (xt[-1] - xt[0])  # noqa: E731
    y_of = lambda y: y0 + PANEL_H * (1 - (y - yt[0]) / (yt[-1] - yt[0]))  # noqa: E731
    grey, dark = (221, 221, 221), (68, 68, 68)
    canvas.text(x0 + PANEL_W / 2, y0 - 12, title, bold=True)
    for t in xt:
        canvas.line([(x_of(t), y0), (x_of(t), y0 + PANEL_H)], grey)
        canvas.text(x_of(t), y0 + PANEL_H + 12, f"{t:.4g}")
    for t in yt:
        canvas.line([(x0, y_of(t)), (x0 + PANEL_W, y_of(t))], grey)
        canvas.text(x0 - 6, y_of(t), f"{t:.4g}", anchor="rm")
    canvas.line([(x0, y0), (x0 + PANEL_W, y0), (x0 + PANEL_W, y0 + PANEL_H), (x0, y0 + PANEL_H), (x0, y0)], dark)
    canvas.text(x0 + PANEL_W / 2, y0 + PANEL_H + 30, xlabel)
    for colour, level in levels:
        canvas.line([(x0, y_of(level)), (x0 + PANEL_W, y_of(level))], colour, 1.2, dash=True)
    for colour, pts in series:
        canvas.line([(x_of(x), y_of(y)) for x, y in pts], colour, 1.5)
        for x, y in pts:
            canvas.dot(x_of(x), y_of(y), colour)


def figure(curves: Sequence[dict]) -> Canvas:
    """Rows Set5 and Set14; columns PSNR against patches, PSNR against CPU minutes, SSIM against patches."""
    colours = COLOURS[:len(curves)]
    patches = lambda c, r: r["step"] * c["batch"] / 1e6  # noqa: E731
    columns: list[tuple[str, str, Callable[[dict, dict], float], str]] = [
        ("PSNR (dB)", "patches seen (millions)", patches, "psnr"),
        ("PSNR (dB)", "CPU minutes (one thread)", lambda c, r: cpu_minutes(c, r["step"]), "psnr"),
        ("SSIM", "patches seen (millions)", patches, "ssim"),
    ]
    canvas = Canvas(MARGIN_L + 3 * PANEL_W + 2 * GAP_X + 20, MARGIN_T + 2 * PANEL_H + GAP_Y + 50)
    for i, (colour, curve) in enumerate(zip(colours, curves)):  # legend
        x = MARGIN_L + i * 300
        canvas.line([(x, 18), (x + 24, 18)], colour, 2)
        canvas.text(x + 30, 18, f"{curve['model']} (here)", anchor="lm")
        if curve.get("paper_psnr"):
            canvas.line([(x + 150, 18), (x + 174, 18)], colour, 1.2, dash=True)
            canvas.text(x + 180, 18, "paper (PSNR)", anchor="lm")
    for row, name in enumerate(SETS):
        for col, (metric, xlabel, x_value, key) in enumerate(columns):
            series = [(colour, [(x_value(c, r), r[name][key]) for r in c["rows"] if name in r])
                      for colour, c in zip(colours, curves)]
            levels = [(colour, c["paper_psnr"][name]) for colour, c in zip(colours, curves)
                      if key == "psnr" and name in c.get("paper_psnr", {})]
            panel(canvas, MARGIN_L + col * (PANEL_W + GAP_X), MARGIN_T + row * (PANEL_H + GAP_Y),
                  f"{name} x{curves[0].get('scale', 3)} {metric}", xlabel, series, levels)
    return canvas


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("curves", type=Path, nargs="+", help="curve files (benchmarks/curves/*.json)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the PNG to write")
    args = parser.parse_args(argv)
    if len(args.curves) > len(COLOURS):
        parser.error(f"at most {len(COLOURS)} curves, got {len(args.curves)}")
    curves = [json.loads(path.read_text()) for path in args.curves]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    figure(curves).save(args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
