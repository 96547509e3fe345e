"""``sr-zoo compare``: the figure's panels are the inputs' pixels, zoomed; the scores are the metrics'."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from sr_zoo.cli import main
from sr_zoo.data.eval_sets import make_lr, modcrop
from sr_zoo.files.images import read_image
from sr_zoo.inference.figures import Panel, comparison_figure
from sr_zoo.metrics import y_psnr
from sr_zoo.ops import imresize


def test_panels_are_the_boxed_region_zoomed() -> None:
    g = torch.Generator().manual_seed(0)
    hr = torch.rand(1, 40, 60, generator=g).expand(3, -1, -1)  # gray: only the box is red
    sr = torch.rand(3, 40, 60, generator=g)
    figure, layout = comparison_figure(hr, [Panel("model", sr, 30.0, 0.9)], box=(10, 5, 16, 8), height=64)
    pixels = np.asarray(figure)
    for title, image in (("HR", hr), ("model", sr)):
        x, y, w, h = layout[title]
        assert (w, h) == (16 * 8, 8 * 8)  # zoom = 64 // 8
        expected = np.floor(image[:, 5:13, 10:26].numpy().transpose(1, 2, 0) * 255 + 0.5).astype(np.uint8)
        assert np.array_equal(pixels[y : y + h, x : x + w], expected.repeat(8, 0).repeat(8, 1))
    # The red box on the overview sits where the region is (scaled to the overview's height).
    x, y, w, h = layout["overview"]
    overview = pixels[y : y + h, x : x + w].astype(int)
    red = (overview[..., 0] > 200) & (overview[..., 1] < 60) & (overview[..., 2] < 60)
    rows, cols = np.nonzero(red)
    f = 64 / 40
    assert abs(rows.min() - 5 * f) <= 1 and abs(rows.max() - 13 * f) <= 2
    assert abs(cols.min() - 10 * f) <= 1 and abs(cols.max() - 26 * f) <= 2
    with pytest.raises(ValueError, match="does not fit"):
        comparison_figure(hr, [], box=(50, 0, 16, 8))


def test_command_writes_the_figure_with_the_benchmark_scores(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.integers(0, 256, (64, 80, 3), dtype=np.uint8), (0, 0), 1.5)
    cv2.imwrite(str(tmp_path / "img.png"), image)
    out = tmp_path / "fig.png"
    assert main(["compare", str(tmp_path / "img.png"), "--scale", "2", "--models", "bicubic", "-o", str(out),
                 "--box", "8", "16", "24", "16", "--device", "cpu"]) == 0
    report = json.loads(capsys.readouterr().out)
    hr = modcrop(read_image(tmp_path / "img.png"), 2)
    bicubic = imresize(make_lr(hr, 2)[None], scale=2).clamp(0, 1)
    assert report["scores"]["bicubic"]["psnr"] == pytest.approx(float(y_psnr(bicubic, hr[None], 2)[0]), abs=1e-4)
    pixels = np.asarray(Image.open(out).convert("RGB"))
    _, layout = comparison_figure(hr, [Panel("bicubic", bicubic[0])], box=(8, 16, 24, 16))
    x, y, w, h = layout["bicubic"]
    expected = np.floor(bicubic[0, :, 16:32, 8:32].numpy().transpose(1, 2, 0) * 255 + 0.5).astype(np.uint8)
    zoom = w // 24
    assert np.array_equal(pixels[y : y + h, x : x + w], expected.repeat(zoom, 0).repeat(zoom, 1))


def test_bad_box_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cv2.imwrite(str(tmp_path / "img.png"), np.zeros((32, 32, 3), np.uint8))
    code = main(["compare", str(tmp_path / "img.png"), "--scale", "2", "--models", "bicubic",
                 "-o", str(tmp_path / "f.png"), "--box", "20", "20", "30", "30", "--device", "cpu"])
    assert code == 2
    assert capsys.readouterr().err.strip().startswith("sr-zoo: error: --box: box (20, 20, 30, 30) does not fit")
