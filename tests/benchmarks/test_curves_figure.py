"""benchmarks/curves_figure.py: round ticks, CPU minutes between a run's anchors, and a figure whose lines are
where the rows put them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from helpers.paths import load_benchmark


def test_ticks_are_round_and_cover_the_range() -> None:
    ticks = load_benchmark("curves_figure").nice_ticks
    assert ticks(0, 6.4) == [0, 2, 4, 6, 8]
    assert ticks(31.37, 33.73) == pytest.approx([31.0, 32.0, 33.0, 34.0])
    assert ticks(28.0, 28.0) == pytest.approx([27.96, 27.98, 28.0, 28.02, 28.04])
    assert ticks(0.8122, 0.8327) == pytest.approx([0.81, 0.82, 0.83, 0.84])


def test_cpu_minutes_are_linear_between_the_anchors() -> None:
    minutes = load_benchmark("curves_figure").cpu_minutes
    curve = {"cpu_minutes": [[0, 0], [170000, 114], [400000, 241]]}
    assert minutes(curve, 85000) == pytest.approx(57)
    assert minutes(curve, 285000) == pytest.approx(114 + 127 / 2)
    assert minutes(curve, 500000) == 241


def test_the_figure_draws_each_run_in_its_colour(tmp_path: Path) -> None:
    bench = load_benchmark("curves_figure")
    rows = [{"step": s, "Set5": {"psnr": 30 + s / 1e5, "ssim": 0.9}, "Set14": {"psnr": 28.0, "ssim": 0.8}}
            for s in (10000, 20000, 40000)]
    curve = {"model": "A x3", "batch": 16, "cpu_minutes": [[0, 0], [40000, 30]], "paper_psnr": {"Set5": 31.0},
             "rows": rows}
    (tmp_path / "a.json").write_text(json.dumps(curve))
    bench.main([str(tmp_path / "a.json"), "-o", str(tmp_path / "figure.png")])
    image = Image.open(tmp_path / "figure.png").convert("RGB")
    assert image.size == (bench.MARGIN_L + 3 * bench.PANEL_W + 2 * bench.GAP_X + 20,
                          bench.MARGIN_T + 2 * bench.PANEL_H + bench.GAP_Y + 50)
    blue = bench.COLOURS[0]
    near = lambda c: sum(abs(a - b) for a, b in zip(c, blue)) < 60  # noqa: E731
    # Set5 PSNR against patches: x ticks 0..0.8 M patches, y ticks 30.1..31.0 (the paper's level included);
    # the last point (0.64 M, 30.4 dB) is a dot of the run's colour there
    ticks_y = bench.nice_ticks(30.1, 31.0)
    x = bench.MARGIN_L + bench.PANEL_W * 0.64 / 0.8
    y = bench.MARGIN_T + bench.PANEL_H * (1 - (30.4 - ticks_y[0]) / (ticks_y[-1] - ticks_y[0]))
    assert near(image.getpixel((round(x), round(y))))
    assert not near(image.getpixel((round(x), round(y) + 30)))  # and not everywhere
