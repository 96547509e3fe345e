"""The inference layout (``--memory-format``): channels-last by default on the CPU, the same results as NCHW to
float rounding for every model, and what ``sr-zoo upscale``/``benchmark`` print is unchanged by it."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import sr_zoo.inference.layout as layout
from helpers.paths import REPO, load_benchmark, shared_set
from helpers.small_models import LIGHT, SMALL, small_model
from sr_zoo.cli import main
from sr_zoo.files.images import read_image
from sr_zoo.inference.layout import inference_memory_format, to_inference_device


def _conv_weights(model: torch.nn.Module) -> list[torch.Tensor]:
    return [p for p in model.parameters() if p.dim() == 4 and p.shape[1] > 1 and p.shape[-1] > 1]


def test_auto_is_channels_last_on_the_cpu_only() -> None:
    assert inference_memory_format("cpu") is torch.channels_last
    assert inference_memory_format(torch.device("cuda")) is torch.contiguous_format
    assert inference_memory_format("cuda", "channels_last") is torch.channels_last
    assert inference_memory_format("cpu", "contiguous") is torch.contiguous_format
    with pytest.raises(ValueError, match="memory format must be one of auto, channels_last, contiguous"):
        inference_memory_format("cpu", "nhwc")


@pytest.mark.parametrize("name", sorted(SMALL))
def test_channels_last_gives_the_nchw_result_for_every_model(name: str) -> None:
    """A Set5 crop of odd size through the NCHW model (PyTorch's default, the reference) and the same weights
    channels-last: equal to float32 rounding, 1e-4 as for export (trained weights differ by ~2e-6; the small
    random CSRCNN's inner values reach hundreds, ~2e-5; a layout bug would show as tenths)."""
    hr = read_image(shared_set("Set5") / "butterfly.bmp")[:, :45, :37]
    nchw = small_model(name)
    channels_last = to_inference_device(small_model(name), "cpu")
    assert all(w.is_contiguous(memory_format=torch.channels_last) for w in _conv_weights(channels_last))
    assert all(w.is_contiguous() for w in _conv_weights(nchw))
    with torch.no_grad():
        expected, got = nchw(hr[None]), channels_last(hr[None])
    assert got.shape == expected.shape == (1, 3, 45 * SMALL[name][0], 37 * SMALL[name][0])
    assert float((got - expected).abs().max()) <= 1e-4
    back = to_inference_device(channels_last, "cpu", "contiguous")
    assert all(w.is_contiguous() for w in _conv_weights(back))


def test_upscale_runs_channels_last_by_default_with_the_nchw_pixels(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    placed: list[torch.nn.Module] = []
    real = layout.to_inference_device
    monkeypatch.setattr(layout, "to_inference_device", lambda *a, **k: placed.append(real(*a, **k)) or placed[-1])
    image = shared_set("Set14") / "comic.bmp"
    for memory_format in ("auto", "contiguous"):
        args = ["upscale", str(image), "-o", str(tmp_path / memory_format), "--model", "fsrcnn", "--scale", "3",
                "--device", "cpu"]
        assert main(args + ([] if memory_format == "auto" else ["--memory-format", memory_format])) == 0
    assert [all(w.is_contiguous(memory_format=torch.channels_last) for w in _conv_weights(m)) for m in placed] == \
        [True, False]
    auto, nchw = (cv2.imread(str(tmp_path / d / "comic.bmp")).astype(int) for d in ("auto", "contiguous"))
    assert auto.shape == nchw.shape == (3 * 361, 3 * 250, 3)
    differing = np.abs(auto - nchw)
    assert differing.max() <= 1 and (differing > 0).mean() < 1e-3  # a rounding tie now and then, no more


def test_memory_format_with_an_exported_model_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    exported = tmp_path / "model.onnx"
    exported.write_bytes(b"not read: the arguments are checked first")
    image = shared_set("Set5") / "bird.bmp"
    assert main(["upscale", str(image), "-o", str(tmp_path / "out"), "--onnx", str(exported),
                 "--memory-format", "contiguous"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "sr-zoo: error: --memory-format contiguous: applies to --model; an exported model runs in the layout its "
        "runtime picks"]
    assert not (tmp_path / "out").exists()


def test_benchmark_scores_do_not_depend_on_the_layout(capsys: pytest.CaptureFixture) -> None:
    scores = {}
    for memory_format in ("auto", "contiguous"):
        assert main(["benchmark", "--model", "srcnn", "--scale", "3", "--data", str(shared_set("Set5")), "--json",
                     "--device", "cpu", "--memory-format", memory_format]) == 0
        (row,) = json.loads(capsys.readouterr().out)["results"]
        scores[memory_format] = row["psnr"], row["ssim"]
    assert scores["auto"] == pytest.approx(scores["contiguous"], abs=1e-3)
    shipped = json.loads((REPO / "src" / "sr_zoo" / "models" / "weights" / "manifest.json").read_text())
    assert scores["auto"] == pytest.approx(tuple(shipped["srcnn_x3"]["scores"]["Set5"].values()), abs=0.006)


def test_memory_format_benchmark_smoke(tmp_path: Path) -> None:
    module = load_benchmark("memory_format")
    assert module.main(["--smoke", "--json", str(tmp_path / "rows.json")]) == 0
    rows = json.loads((tmp_path / "rows.json").read_text())["rows"]
    assert [r["model"] for r in rows] == LIGHT  # every light network, in the registry's order
    assert all(r["ms_contiguous"] > 0 and r["ms_channels_last"] > 0 and r["max_diff"] < 1e-4 for r in rows)
    assert rows[LIGHT.index("bicubic")]["max_diff"] == 0  # bicubic holds no convolution weights: nothing changes
