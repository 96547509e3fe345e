"""``sr-zoo benchmark``: score a model on benchmark folders at several scales (Y-channel PSNR/SSIM).

The parser and the ``--model``/``--scale`` checks import neither torch nor the models; ``run`` imports
the data sets, metrics and models once those arguments are known to be good.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sr_zoo.cli.devices import add_device_argument
from sr_zoo.cli.weights import add_weights_arguments, chosen_weights
from sr_zoo.errors import Interrupted, SRZooError, one_line
from sr_zoo.metric_names import EXTRA_METRICS, TABLE_METRICS
from sr_zoo.models import check_scale, model_info

if TYPE_CHECKING:
    from sr_zoo.data.eval_sets import BenchmarkDataset
    from sr_zoo.inference.evaluation import BenchmarkResult

FORMATS = ("table", "markdown", "csv", "json")
"""``sr_zoo.inference.report.FORMATS``, spelt out so that the parser imports no torch (a test keeps them equal)."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "benchmark",
        help="score a model on benchmark sets",
        description="Score a model on folders of HR images the papers' way: HR cropped to a multiple of "
        "the scale, LR by MATLAB bicubic, SR rounded to 8 bits, PSNR/SSIM on Y with the scale cropped "
        "from each border, averaged per image.",
    )
    p.add_argument("--model", default="bicubic", help="zoo model name (default: bicubic)")
    add_weights_arguments(p)
    p.add_argument("--scale", type=int, nargs="+", required=True, help="one or more scales, e.g. 2 3 4 8")
    p.add_argument("--data", nargs="+", required=True, metavar="SET",
                   help="test sets by name (set5 set14 bsd100 urban100 manga109 bsd200 div2k-val: fetched into "
                   "$SR_ZOO_DATA on first use), folders of HR images, or paired:PATH (PATH/LR and PATH/HR: real "
                   "LR images scored against their HR, docs/data.md)")
    p.add_argument("--data-root", type=Path, default=None, metavar="DIR",
                   help="where named sets are looked for and fetched (default: $SR_ZOO_DATA or ~/.cache/sr_zoo)")
    add_device_argument(p)
    p.add_argument("--metrics", nargs="+", default=["psnr", "ssim"], choices=(*TABLE_METRICS, *EXTRA_METRICS),
                   metavar="METRIC", help="psnr ssim (always, on Y) and optionally lpips (RGB, AlexNet; lower is "
                   "better; its backbone's ImageNet weights are fetched into the torch cache on first use) and niqe "
                   "(no reference, on Y, as the official MATLAB release; lower is better; its pristine model is "
                   "fetched likewise)")
    p.add_argument("--self-ensemble", action="store_true",
                   help="x8 self-ensemble (EDSR's '+'): the mean over the eight flips/rotations of each input")
    p.add_argument("--round-y", action="store_true", help="round Y to integers as MATLAB's rgb2ycbcr on uint8 does")
    p.add_argument("--save-images", type=Path, default=None, metavar="DIR",
                   help="write SR images to DIR/<set>/x<scale>/")
    p.add_argument("--format", choices=FORMATS, default="table",
                   help="table (default: a grid, then the papers' values beside the measured ones), markdown, csv "
                   "or json; markdown/csv/json rows carry the paper's value and the difference where one exists")
    p.add_argument("--per-image", action="store_true", help="a row per image instead of per set")
    p.add_argument("--json", action="store_true",
                   help="print only {\"results\": [...]} as JSON on stdout (always valid JSON; after a failure, the "
                        "sets scored so far and \"error\")")
    p.set_defaults(run=run)


def evaluate(*args: Any, **kwargs: Any) -> BenchmarkResult:
    """``sr_zoo.inference.evaluation.evaluate``, imported on the first call (the parser imports no torch)."""
    from sr_zoo.inference.evaluation import evaluate

    return evaluate(*args, **kwargs)


def _check_decodable(datasets: list[BenchmarkDataset]) -> None:
    """Decode every file of every set once, and check each is big enough to score at each scale, so that
    a truncated or tiny file fails in one line before any scoring, not after the sets before it."""
    from sr_zoo.errors import ImageReadError
    from sr_zoo.files.images import probe_image, read_image
    from sr_zoo.metrics import SSIM_WINDOW

    checked: set = set()
    for dataset in datasets:
        for lr in (dataset.lr_files or {}).values():  # paired data: the given LR images too
            if lr not in checked:
                read_image(lr)
                checked.add(lr)
        for path in dataset.files:
            if path not in checked:
                read_image(path)  # the pixels, not just the header; dropped at once
                checked.add(path)
            height, width = probe_image(path)[:2]
            scored = min(height - height % dataset.scale, width - width % dataset.scale) - 2 * dataset.scale
            if scored < SSIM_WINDOW:
                raise ImageReadError(f"{path}: image of {height}x{width} is too small to score at x{dataset.scale} "
                                     f"(the border of {dataset.scale} leaves {max(scored, 0)} pixels; SSIM needs "
                                     f"{SSIM_WINDOW})")


def _check_finite(result: BenchmarkResult, ckpt: Path | None) -> None:
    """A non-finite score is an error naming its cause (JSON has no Infinity or NaN)."""
    where = f"{result.model} x{result.scale} on {result.dataset}"
    if math.isnan(result.psnr) or math.isnan(result.ssim):
        weights = f"the weights of {ckpt}" if ckpt else "the weights"
        raise SRZooError(f"{where}: the score is NaN: the model's output holds NaN "
                         f"({weights} hold NaN, or an overflow)")
    if math.isinf(result.psnr):
        raise SRZooError(f"{where}: PSNR is infinite: every SR image equals its HR image exactly (x{result.scale} "
                         f"with {result.model} is the identity); score at a scale above 1")


_EXTRA_TITLES = {"lpips": "LPIPS (RGB)", "niqe": "NIQE (Y, no reference)"}


def extra_metrics(names: list[str], device: Any) -> dict[str, Any]:
    """The metrics asked for beyond PSNR/SSIM, built once (LPIPS holds a network, NIQE its pristine model)."""
    from sr_zoo.metrics import extra_metrics as build

    return {name: metric.to(device) for name, metric in build(names).items()}


def _print(results: list[BenchmarkResult], name: str, args: argparse.Namespace, error: str | None = None) -> None:
    from sr_zoo.inference.report import format_results

    fmt = "json" if args.json else args.format
    if fmt == "json":
        payload = json.loads(format_results(results, "json", args.per_image))
        if error is not None:
            payload["error"] = error
        print(json.dumps(payload, allow_nan=False))
    elif results:
        if fmt == "table":
            extra = "".join(f" / {_EXTRA_TITLES[m]}" for m in dict.fromkeys(m for r in results for m in r.extra))
            print(f"{name}: PSNR (dB) / SSIM on Y{extra}, border = scale, averaged per image"
                  + (" (incomplete: scoring stopped on an error)" if error is not None else ""))
        print(format_results(results, fmt, args.per_image))
    sys.stdout.flush()


def run(args: argparse.Namespace) -> int:
    if args.json and args.format not in ("table", "json"):
        raise SRZooError(f"--json: prints JSON (it is --format json); it cannot go with --format {args.format}")
    info = model_info(args.model)  # the static registry: a bad --model or --scale fails before any import
    for scale in args.scale:
        check_scale(info.name, scale)
    results: list[BenchmarkResult] = []
    try:
        _run(args, results)
    except (SRZooError, Interrupted) as exc:  # the sets scored so far are kept; --json stays valid JSON
        if results or args.json:
            _print(results, model_info(args.model).name if results else args.model, args, one_line(exc))
        raise
    _print(results, model_info(args.model).name + ("+" if args.self_ensemble else ""), args)
    return 0


def _run(args: argparse.Namespace, results: list[BenchmarkResult]) -> None:
    from tqdm.auto import tqdm

    from sr_zoo.cli.devices import resolve_device
    from sr_zoo.cli.outputs import refuse_overwriting_inputs
    from sr_zoo.data.eval_sets import BenchmarkDataset
    from sr_zoo.data.sources import data_root, display_name, is_test_set_name, resolve_benchmark
    from sr_zoo.files.images import check_writable_dir
    from sr_zoo.inference.layout import to_inference_device
    from sr_zoo.inference.self_ensemble import SelfEnsemble
    from sr_zoo.models import inference_model

    info = model_info(args.model)
    device = resolve_device(args.device)
    # Build every dataset, decode every file, load every model and check the output folder first: bad
    # input fails before any work is done.
    root = data_root(args.data_root)
    paired = [spec for spec in args.data if spec.lower().startswith("paired:")]
    folders = [(resolve_benchmark(spec, root), display_name(spec) if is_test_set_name(spec) else None)
               for spec in args.data if spec not in paired]
    datasets = [BenchmarkDataset(folder, scale, name=name) for folder, name in folders for scale in args.scale]
    datasets += [BenchmarkDataset.paired(spec, scale) for spec in paired for scale in args.scale]
    if args.save_images is not None:
        targets = [args.save_images / d.name / f"x{d.scale}" / f"{p.stem}.png" for d in datasets for p in d.files]
        refuse_overwriting_inputs(targets, [p for d in datasets for p in d.files], "--save-images", args.save_images)
        check_writable_dir(args.save_images, "--save-images")
    _check_decodable(datasets)
    weights = chosen_weights(args)
    models = {scale: to_inference_device(inference_model(info.name, scale, args.ckpt, weights), device,
                                         args.memory_format)
              for scale in dict.fromkeys(args.scale)}
    extra = extra_metrics(args.metrics, device)
    name = info.name
    if args.self_ensemble:
        models, name = {scale: SelfEnsemble(model) for scale, model in models.items()}, f"{info.name}+"
    with tqdm(total=sum(len(d) for d in datasets), desc=name, unit="img", disable=None) as bar:
        for dataset in datasets:
            save_dir = args.save_images / dataset.name / f"x{dataset.scale}" if args.save_images else None
            bar.set_postfix_str(f"{dataset.name} x{dataset.scale}")
            result = evaluate(models[dataset.scale], dataset, name, device, save_dir, args.round_y, progress=bar,
                              extra=extra)
            _check_finite(result, args.ckpt)
            results.append(result)
