"""``sr-zoo benchmark``: score a model on benchmark folders at several scales (Y-channel PSNR/SSIM)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tqdm.auto import tqdm

from sr_zoo.data.benchmark import BenchmarkDataset
from sr_zoo.cli.devices import resolve_device
from sr_zoo.data.io import check_writable_dir
from sr_zoo.evaluation import evaluate, format_table
from sr_zoo.models import check_scale, inference_model, model_info


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "benchmark",
        help="score a model on benchmark sets",
        description="Score a model on folders of HR images the papers' way: HR cropped to a multiple of "
        "the scale, LR by MATLAB bicubic, SR rounded to 8 bits, PSNR/SSIM on Y with the scale cropped "
        "from each border, averaged per image.",
    )
    p.add_argument("--model", default="bicubic", help="zoo model name (default: bicubic)")
    p.add_argument("--ckpt", type=Path, default=None,
                   help="weights for the model (a checkpoint; default: the shipped pretrained weights)")
    p.add_argument("--scale", type=int, nargs="+", required=True, help="one or more scales, e.g. 2 3 4 8")
    p.add_argument("--data", type=Path, nargs="+", required=True, help="folders of HR images, e.g. Set5 Set14")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    p.add_argument("--round-y", action="store_true", help="round Y to integers as MATLAB's rgb2ycbcr on uint8 does")
    p.add_argument("--save-images", type=Path, default=None, metavar="DIR", help="write SR images to DIR/<set>/x<scale>/")
    p.add_argument("--json", action="store_true", help="print only {\"results\": [...]} as JSON on stdout")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    info = model_info(args.model)
    for scale in args.scale:
        check_scale(info.name, scale)
    device = resolve_device(args.device)
    # Build every dataset and check the output folder first: bad input fails before any work is done.
    datasets = [BenchmarkDataset(folder, scale) for folder in args.data for scale in args.scale]
    if args.save_images is not None:
        check_writable_dir(args.save_images, "--save-images")
    results = []
    with tqdm(total=sum(len(d) for d in datasets), desc=f"{info.name}", unit="img", disable=None) as bar:
        models = {}
        for dataset in datasets:
            if dataset.scale not in models:
                models[dataset.scale] = inference_model(info.name, dataset.scale, args.ckpt).to(device)
            save_dir = args.save_images / dataset.name / f"x{dataset.scale}" if args.save_images else None
            bar.set_postfix_str(f"{dataset.name} x{dataset.scale}")
            results.append(
                evaluate(models[dataset.scale], dataset, info.name, device, save_dir, args.round_y, progress=bar)
            )
    if args.json:
        print(json.dumps({"results": [r.as_dict() for r in results]}))
    else:
        print(f"{info.name}: PSNR (dB) / SSIM on Y, border = scale, averaged per image")
        print(format_table(results))
    return 0
