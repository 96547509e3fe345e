"""benchmarks/inference_roofline.py: its smoke run gives a row per model, batch and variant with counted
FLOPs, and its FLOP count of SRCNN is the one worked out by hand from the layers (behaviour, not timing)."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

from helpers.paths import load_benchmark
from sr_zoo.models import create_model, list_models

VARIANTS = ["eager", "channels_last", "bf16", "onnxruntime"]  # compile costs ~30 s of inductor start-up here


@pytest.fixture(scope="module")
def roofline():
    return load_benchmark("inference_roofline")


def _bicubic_flops(channels: int, h: int, w: int, s: int) -> int:
    # The polyphase form: a (s, 1, 5, 1) convolution over the rows (s phases, 5 taps: the 4-sample kernel
    # spread over the phases' offsets), then a (s, 1, 1, 5) one over the columns of the s-times-taller image.
    return channels * (2 * s * 5 * h * w + 2 * s * 5 * (s * h) * w)


def test_flop_count_of_srcnn_is_the_hand_computed_one(roofline) -> None:
    s, n, h, w = 2, 2, 12, 10
    model = create_model("srcnn", scale=s).eval()
    total, net = roofline.count_flops(model, (n, 3, h, w))
    hr = s * h * s * w
    # SRCNN 9-1-5 at the HR size: 2 x Cin x Cout x k x k per output pixel, per layer.
    convs = 2 * (1 * 64 * 9 * 9 + 64 * 32 * 1 * 1 + 32 * 1 * 5 * 5) * hr
    assert net == n * (convs + _bicubic_flops(1, h, w, s))  # the network: bicubic Y, then the three layers
    # The whole forward adds the CbCr bicubic and the two 3x3 colour matrices (RGB->YCbCr at LR, back at HR).
    colour = 2 * 3 * 3 * (h * w + hr)
    assert total == n * (convs + _bicubic_flops(3, h, w, s) + colour)


def test_flop_count_of_fsrcnn_counts_its_deconvolution_as_defined(roofline) -> None:
    s, h, w = 3, 10, 9  # at least 8 px a side: smaller inputs are padded (SRModule.min_input_side)
    total, net = roofline.count_flops(create_model("fsrcnn", scale=s).eval(), (1, 3, h, w))
    # conv5(56), conv1(12), 4 x conv3(12), conv1(56) at LR; the 9x9 deconvolution to one channel as deconv.m
    # defines it: every pixel of the LR map padded by one replicated pixel a side, times 56 inputs, 1 output
    # and 81 taps (not the zeros of its faster sub-pixel form).
    convs = 2 * h * w * (1 * 56 * 25 + 56 * 12 + 4 * 12 * 12 * 9 + 12 * 56)
    deconv = 2 * (h + 2) * (w + 2) * 56 * 1 * 81
    assert net == convs + deconv
    assert total == net + _bicubic_flops(2, h, w, s) + 2 * 3 * 3 * (h * w + s * h * s * w)


def test_auto_batch_fills_the_machine_up_to_its_cap(roofline) -> None:
    cpu = torch.device("cpu")
    assert roofline.auto_batch(100.0, cpu) == 1  # one image is already a 10 GFLOP call
    assert roofline.auto_batch(3.0, cpu) == 4  # 4 x 3 >= 10 > 2 x 3
    assert roofline.auto_batch(0.001, cpu) == 8  # capped


def test_smoke_run_has_a_row_per_model_batch_and_variant(roofline, tmp_path: Path) -> None:
    path = tmp_path / "roofline.json"
    threads = torch.get_num_threads()
    try:  # one thread: on a shared 2-core CPU two run this toy workload several times slower
        assert roofline.main(["--device", "cpu", "--smoke", "--threads", "1", "--variants", ",".join(VARIANTS),
                              "--json", str(path)]) == 0
    finally:
        torch.set_num_threads(threads)
    data = json.loads(path.read_text())
    rows = data["rows"]
    models = list_models()
    assert {(r["model"], r["batch"], r["variant"]) for r in rows} == {
        (m, b, v) for m in models for b in (1, 2) for v in VARIANTS}
    assert len(rows) == len(models) * 2 * len(VARIANTS)
    for r in rows:
        assert math.isfinite(r["gflops"]) and r["gflops"] > 0, r
        assert r["status"] in ("ok", "skipped"), r  # nothing failed
        if r["status"] == "skipped":
            assert r["reason"], r
    # FLOPs grow with the batch; eager is the reference itself; every measured row has a time and a ratio.
    by_key = {(r["model"], r["batch"], r["variant"]): r for r in rows}
    for m in models:
        assert by_key[(m, 2, "eager")]["gflops"] == pytest.approx(2 * by_key[(m, 1, "eager")]["gflops"])
        assert by_key[(m, 1, "eager")]["max_diff"] == 0.0 and by_key[(m, 1, "eager")]["exact"]
    for r in rows:
        if r["status"] == "ok":
            assert r["ms"] > 0 and r["pct_of_peak"] > 0 and math.isfinite(r["max_diff"]), r
            # float32 variants compute the same function; bf16 on random weights need not (the random CSRCNN's
            # inner values reach hundreds, and its bf16 output saturates on some CPUs: max_diff 1.0, exact False).
            if r["variant"] != "bf16":
                assert r["max_diff"] < 1e-2, r
    # SRGAN and SRSEG run SRResNet's generator: measured once, the figures shared.
    assert by_key[("srgan", 1, "eager")]["same_as"] == "srresnet"
    assert by_key[("srgan", 1, "eager")]["ms"] == by_key[("srresnet", 1, "eager")]["ms"]
    # The smoke run exports bicubic alone; ONNX Runtime gives MATLAB's bicubic to float rounding.
    ort = by_key[("bicubic", 1, "onnxruntime")]
    if importlib.util.find_spec("onnxruntime") is not None:
        assert ort["status"] == "ok" and ort["max_diff"] < 1e-5
    assert by_key[("csrcnn", 1, "onnxruntime")]["reason"].startswith("smoke")
    assert data["best_peaks"]["fp32"] > 0 and data["threads"] == 1
    assert all(f"{m} x4 batch 1" in data["recommended"] for m in models)


def test_a_spent_time_budget_skips_what_is_left_cheap_variants_first(roofline, tmp_path: Path) -> None:
    path = tmp_path / "roofline.json"
    threads = torch.get_num_threads()
    try:
        assert roofline.main(["--device", "cpu", "--size", "16", "--repeats", "1", "--threads", "1", "--models",
                              "fsrcnn,bicubic", "--batch", "1", "--variants", "onnxruntime,eager", "--budget-s", "1e-6",
                              "--json", str(path)]) == 0
    finally:
        torch.set_num_threads(threads)
    rows = json.loads(path.read_text())["rows"]
    # With a budget, compile and export come after every model's other variants; here nothing had time.
    assert [(r["model"], r["variant"]) for r in rows] == [("fsrcnn", "eager"), ("bicubic", "eager"),
                                                          ("fsrcnn", "onnxruntime"), ("bicubic", "onnxruntime")]
    assert all(r["status"] == "skipped" and r["reason"].startswith("time budget") for r in rows)
    assert all(r["gflops"] > 0 for r in rows)
