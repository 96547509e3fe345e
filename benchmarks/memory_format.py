"""NCHW against channels-last inference, per model, the way ``sr-zoo benchmark`` and ``sr-zoo upscale`` run it:
time per image and what the layout changes in the results (the evidence behind ``--memory-format auto``).

    python benchmarks/memory_format.py [--data DIR_OR_SET] [--models srcnn,fsrcnn,...] [--repeats 3]
        [--threads N] [--device cpu] [--json PATH] [--smoke]

Each model runs once per round over the set's LR images (HR cropped to the scale, MATLAB bicubic LR, made
once before timing) in both layouts, the order alternating between rounds; only the model calls are timed,
and the table gives the median seconds per image of each and their ratio, measured in the same rounds. The
models with shipped weights run at x3 (x4 for the rest, seed-0 random weights: no timing depends on the
values). What the layout changes is
measured on the outputs a user receives: the largest absolute difference of the SR images clamped to
[0, 1], the share of 8-bit values that differ after rounding, and the Y-channel PSNR/SSIM difference of
``sr_zoo.inference.evaluate`` between the two layouts. ``--smoke``: two small images, one round, the small
models (a check of the code path, not a measurement).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from sr_zoo.data.eval_sets import BenchmarkDataset
from sr_zoo.data.sources import data_root, resolve_benchmark
from sr_zoo.inference.evaluation import evaluate
from sr_zoo.inference.layout import to_inference_device
from sr_zoo.models import create_model, inference_model, list_models, model_info
from sr_zoo.models.pretrained import weight_scales

SHARED_SET5 = Path(__file__).resolve().parents[2] / "shared" / "data" / "Set5"
LAYOUTS = ("contiguous", "channels_last")
# the light networks (under 100k parameters): --smoke runs each in seconds
SMOKE_MODELS = tuple(n for n in list_models() if max(model_info(n).parameters.values()) < 100_000)


def _model(name: str) -> tuple[torch.nn.Module, int, str]:
    """The model, its scale and whose weights it holds (shipped, or seed-0 random for a model without any)."""
    shipped = weight_scales(name)
    if shipped:
        scale = 3 if 3 in shipped else shipped[0]
        return inference_model(name, scale), scale, "shipped"
    scales = model_info(name).scales or (4,)  # None: any scale
    scale = max((s for s in scales if s <= 4), default=min(scales))
    torch.manual_seed(0)
    model = create_model(name, scale).eval()
    return model, scale, "random" if any(True for _ in model.parameters()) else "none"


@torch.no_grad()
def _run_all(model: torch.nn.Module, inputs: list[torch.Tensor], device: torch.device) -> tuple[float, list]:
    """Seconds per image of ``model`` over ``inputs`` (already decoded and on ``device``), and the outputs
    clamped to [0, 1] on the CPU (copied after the clock stops)."""
    start = time.perf_counter()
    outs = [model(lr) for lr in inputs]
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = (time.perf_counter() - start) / len(inputs)
    return seconds, [out.clamp(0, 1).cpu() for out in outs]


def measure(name: str, folder: Path, device: torch.device, repeats: int) -> dict:
    """One row: seconds per image in each layout (median of ``repeats`` interleaved rounds of the model calls
    alone: the LR images are made once, before) and what the layout changes in outputs and scores."""
    base, scale, weights = _model(name)
    models = {layout: to_inference_device(copy.deepcopy(base), device, layout) for layout in LAYOUTS}
    dataset = BenchmarkDataset(folder, scale)
    inputs = [dataset[i]["lr"][None].to(device) for i in range(len(dataset))]
    outs = {layout: _run_all(models[layout], inputs, device)[1] for layout in LAYOUTS}  # warm-up: oneDNN primitives
    seconds: dict[str, list[float]] = {layout: [] for layout in LAYOUTS}
    for round_ in range(repeats):
        for layout in LAYOUTS if round_ % 2 == 0 else LAYOUTS[::-1]:
            seconds[layout].append(_run_all(models[layout], inputs, device)[0])
    scores = {layout: evaluate(models[layout], dataset, name, device) for layout in LAYOUTS}  # untimed
    pairs = list(zip(outs["contiguous"], outs["channels_last"]))
    max_diff = max(float((a - b).abs().max()) for a, b in pairs)
    differing = sum(int((torch.floor(a * 255 + 0.5) != torch.floor(b * 255 + 0.5)).sum()) for a, b in pairs)
    values = sum(a.numel() for a, _ in pairs)
    ms = {layout: 1000 * statistics.median(seconds[layout]) for layout in LAYOUTS}
    return {"model": name, "scale": scale, "weights": weights, "images": len(dataset),
            "ms_contiguous": round(ms["contiguous"], 2), "ms_channels_last": round(ms["channels_last"], 2),
            "ratio": round(ms["channels_last"] / ms["contiguous"], 3), "max_diff": max_diff,
            "uint8_differing": differing / values,
            "psnr_diff": scores["channels_last"].psnr - scores["contiguous"].psnr,
            "ssim_diff": scores["channels_last"].ssim - scores["contiguous"].ssim}


def _smoke_set(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for index, (h, w) in enumerate(((36, 30), (27, 45))):
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(folder / f"img{index}.png")
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="a folder of HR images or a test set's name "
                        "(default: ../shared/data/Set5 when present, else set5)")
    parser.add_argument("--models", default=None, help="comma list (default: every registered model)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the rows as JSON")
    parser.add_argument("--smoke", action="store_true", help="two small images, one round, the small models")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    names = args.models.split(",") if args.models else list(SMOKE_MODELS) if args.smoke else list_models()
    with tempfile.TemporaryDirectory() as tmp:
        if args.smoke:
            folder, repeats = _smoke_set(Path(tmp) / "smoke"), 1
        else:
            spec = args.data or (str(SHARED_SET5) if SHARED_SET5.is_dir() else "set5")
            folder, repeats = resolve_benchmark(spec, data_root()), args.repeats
        print(f"memory format: {platform.machine()} CPU, {os.cpu_count()} cores, torch {torch.__version__}, "
              f"{torch.get_num_threads()} threads, {folder.name}, median of {repeats} interleaved rounds", flush=True)
        print(f"{'model':<9}{'x':>2} {'weights':<8}{'NCHW ms':>10}{'CL ms':>10}{'CL/NCHW':>9}{'max|diff|':>11}"
              f"{'8-bit diff':>12}{'dPSNR dB':>10}{'dSSIM':>11}")
        rows = []
        for name in names:
            row = measure(name, folder, device, repeats)
            rows.append(row)
            print(f"{row['model']:<9}{row['scale']:>2} {row['weights']:<8}{row['ms_contiguous']:>10.1f}"
                  f"{row['ms_channels_last']:>10.1f}{row['ratio']:>9.3f}{row['max_diff']:>11.1e}"
                  f"{row['uint8_differing']:>11.4%}{row['psnr_diff']:>+10.1e}{row['ssim_diff']:>+11.1e}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"threads": torch.get_num_threads(), "data": folder.name, "rows": rows},
                                        indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
