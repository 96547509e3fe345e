"""``sr-zoo compare``: a figure comparing bicubic and models on one image, as in the papers.

The parser and the ``--models``/``--scale`` checks import neither torch nor the models; ``run`` imports
them once those arguments are known to be good.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from sr_zoo.cli.devices import add_device_argument
from sr_zoo.cli.outputs import check_output_file, refuse_overwriting_inputs
from sr_zoo.errors import SRZooError
from sr_zoo.metric_names import EXTRA_METRICS
from sr_zoo.models import check_scale, model_info

if TYPE_CHECKING:
    import torch


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="a comparison figure (PNG) of models on one image",
        description="Make the papers' kind of figure: the HR image with a boxed region, then that region for "
        "bicubic and each model, zoomed, with PSNR/SSIM (Y channel, border = scale) under each. The LR input "
        "is made from the HR image by MATLAB bicubic, as in the benchmarks. An image too small to score with that "
        "border gets no scores (null); one smaller than the scale is refused.",
    )
    p.add_argument("image", type=Path, help="an HR image")
    p.add_argument("--scale", type=int, required=True)
    p.add_argument("--models", nargs="+", required=True, metavar="NAME[=CKPT|@WEIGHTS]",
                   help="zoo models, each optionally with a checkpoint or weights by name (zoo, authors): "
                   "bicubic fsrcnn fsrcnn@authors emtcm=runs/last.ckpt")
    p.add_argument("--box", type=int, nargs=4, default=None, metavar=("LEFT", "TOP", "WIDTH", "HEIGHT"),
                   help="region to zoom, in HR pixels (default: a central square of a quarter of the short side)")
    p.add_argument("--metrics", nargs="+", default=[], choices=EXTRA_METRICS,
                   help="scores under each panel beside PSNR/SSIM: lpips (RGB, against HR), niqe (Y, no reference; "
                   "the HR image gets one too); the whole image scored, border = scale, as in sr-zoo benchmark")
    p.add_argument("-o", "--output", type=Path, required=True, help="the PNG to write")
    add_device_argument(p)
    p.set_defaults(run=run)


def _parse_models(specs: list[str], scale: int) -> list[tuple[str, str, Path | None, str]]:
    """``(title, model, checkpoint or None, weights by name)`` of each ``NAME[=CKPT|@WEIGHTS]``."""
    from sr_zoo.cli.weights import WEIGHTS

    parsed = []
    for spec in specs:
        name, _, ckpt = spec.partition("=")
        name, _, weights = name.partition("@")
        info = model_info(name)
        check_scale(info.name, scale)
        if weights and (ckpt or weights not in WEIGHTS):
            raise SRZooError(f"--models {spec}: @ names weights ({', '.join(WEIGHTS)}), without a checkpoint")
        title = f"{info.name} ({Path(ckpt).stem})" if ckpt else f"{info.name} ({weights})" if weights else info.name
        parsed.append((title, info.name, Path(ckpt) if ckpt else None, weights or "zoo"))
    return parsed


def _scores(sr: torch.Tensor, hr: torch.Tensor, scale: int, title: str) -> tuple[float | None, float | None]:
    """Y PSNR/SSIM with the scale cropped from each border; None where the image is too small to score
    that way; a non-finite score is one line naming its cause."""
    from sr_zoo.metrics import y_psnr, y_ssim

    try:
        psnr = float(y_psnr(sr, hr, scale)[0])
    except ValueError:  # too small once the border is cropped
        return None, None
    try:
        ssim = float(y_ssim(sr, hr, scale)[0])
    except ValueError:  # smaller than SSIM's 11x11 window once the border is cropped
        ssim = None
    if math.isnan(psnr) or (ssim is not None and math.isnan(ssim)):
        raise SRZooError(f"{title}: its score is NaN (the model's output holds NaN: damaged weights?)")
    if math.isinf(psnr):
        raise SRZooError(f"{title}: PSNR is infinite: its output equals the HR image exactly (at x{scale}, "
                         "nothing is lost to compare); choose a scale above 1")
    return psnr, ssim


def run(args: argparse.Namespace) -> int:
    models = _parse_models(args.models, args.scale)
    check_output_file(args.output, "-o")
    if args.output.suffix.lower() != ".png":
        raise SRZooError(f"-o {args.output}: the figure is a PNG; name it .png")
    refuse_overwriting_inputs([args.output], [args.image], "-o", args.output)
    if not args.image.is_file():
        raise SRZooError(f"{args.image}: no such file" if not args.image.exists() else f"{args.image}: not a file")
    import torch

    with torch.no_grad():
        return _compare(args, models)


def _extra_scores(metrics: dict, sr: torch.Tensor, hr: torch.Tensor, title: str) -> dict[str, float]:
    """Each extra metric of one image; a metric the image is too small for is left out."""
    scores = {}
    for name, metric in metrics.items():
        metric.reset()
        try:
            metric.update(sr, hr)
        except ValueError:  # smaller than NIQE's blocks once the border is cropped
            continue
        value = float(metric.compute())
        if not math.isfinite(value):
            raise SRZooError(f"{title}: its {name.upper()} is {value} (the model's output holds NaN: damaged weights?)")
        scores[name] = value
    return scores


def _compare(args: argparse.Namespace, models: list[tuple[str, str, Path | None]]) -> int:
    from sr_zoo.cli.benchmark import extra_metrics
    from sr_zoo.cli.devices import resolve_device
    from sr_zoo.cli.outputs import write_atomically
    from sr_zoo.data.eval_sets import make_lr, modcrop
    from sr_zoo.files.images import read_image
    from sr_zoo.inference.figures import Panel, comparison_figure
    from sr_zoo.inference.layout import to_inference_device
    from sr_zoo.models import inference_model

    original = read_image(args.image)
    if min(original.shape[-2:]) < args.scale:
        raise SRZooError(f"{args.image}: image of {original.shape[-2]}x{original.shape[-1]} is smaller than the "
                         f"scale x{args.scale}: there is no LR image to make")
    hr = modcrop(original, args.scale)
    h, w = hr.shape[-2:]
    side = min(max(8, min(h, w) // 4), h, w)
    box = tuple(args.box) if args.box else ((w - side) // 2, (h - side) // 2, side, side)
    left, top, bw, bh = box
    if left < 0 or top < 0 or bw < 1 or bh < 1 or left + bw > w or top + bh > h:
        raise SRZooError(f"--box: box {box} does not fit in the {w}x{h} image")
    device = resolve_device(args.device)
    lr = make_lr(hr, args.scale)[None].to(device)
    metrics = extra_metrics(args.metrics, device)
    for metric in metrics.values():
        metric.crop_border = args.scale
    # NIQE needs no reference: the HR image's own is the figure's yardstick.
    hr_scores = _extra_scores({k: m for k, m in metrics.items() if k == "niqe"}, hr[None].to(device),
                              hr[None].to(device), "HR")
    panels = []
    for title, name, ckpt, weights in models:
        model = to_inference_device(inference_model(name, args.scale, ckpt, weights), device, args.memory_format)
        sr = model(lr)
        psnr, ssim = _scores(sr, hr[None].to(device), args.scale, title)
        panels.append(Panel(title, sr[0].cpu(), psnr, ssim, _extra_scores(metrics, sr, hr[None].to(device), title)))
    try:
        figure, _ = comparison_figure(hr, panels, box, hr_scores=hr_scores)
    except ValueError as exc:
        raise SRZooError(f"--box: {exc}") from None
    write_atomically(args.output, lambda tmp: figure.save(tmp, format="PNG"), "-o")
    rounded = lambda v: None if v is None else round(v, 4)  # noqa: E731
    print(json.dumps({"figure": str(args.output), "box": list(box),
                      "scores": {p.title: {"psnr": rounded(p.psnr), "ssim": rounded(p.ssim),
                                           **{k: rounded(v) for k, v in p.extra.items()}} for p in panels},
                      **({"hr": {k: rounded(v) for k, v in hr_scores.items()}} if hr_scores else {})},
                     allow_nan=False))
    return 0
