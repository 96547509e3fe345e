"""``sr-zoo compare``: a figure comparing bicubic and models on one image, as in the papers."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from sr_zoo.cli.devices import resolve_device
from sr_zoo.data.benchmark import make_lr, modcrop
from sr_zoo.data.io import read_image
from sr_zoo.errors import SRZooError
from sr_zoo.figures import Panel, comparison_figure
from sr_zoo.metrics import y_psnr, y_ssim
from sr_zoo.models import check_scale, inference_model, model_info


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="a comparison figure (PNG) of models on one image",
        description="Make the papers' kind of figure: the HR image with a boxed region, then that region for "
        "bicubic and each model, zoomed, with PSNR/SSIM (Y channel, border = scale) under each. The LR input "
        "is made from the HR image by MATLAB bicubic, as in the benchmarks.",
    )
    p.add_argument("image", type=Path, help="an HR image")
    p.add_argument("--scale", type=int, required=True)
    p.add_argument("--models", nargs="+", required=True, metavar="NAME[=CKPT]",
                   help="zoo models, each optionally with a checkpoint: bicubic fsrcnn emtcm=runs/last.ckpt")
    p.add_argument("--box", type=int, nargs=4, default=None, metavar=("LEFT", "TOP", "WIDTH", "HEIGHT"),
                   help="region to zoom, in HR pixels (default: a central square of a quarter of the short side)")
    p.add_argument("-o", "--output", type=Path, required=True, help="the PNG to write")
    p.add_argument("--device", default="auto")
    p.set_defaults(run=run)


def _parse_models(specs: list[str], scale: int) -> list[tuple[str, str, Path | None]]:
    parsed = []
    for spec in specs:
        name, _, ckpt = spec.partition("=")
        info = model_info(name)
        check_scale(info.name, scale)
        title = f"{info.name} ({Path(ckpt).stem})" if ckpt else info.name
        parsed.append((title, info.name, Path(ckpt) if ckpt else None))
    return parsed


@torch.no_grad()
def run(args: argparse.Namespace) -> int:
    models = _parse_models(args.models, args.scale)
    if args.output.suffix.lower() != ".png":
        raise SRZooError(f"-o {args.output}: the figure is a PNG; name it .png")
    hr = modcrop(read_image(args.image), args.scale)
    h, w = hr.shape[-2:]
    side = max(8, min(h, w) // 4)
    box = tuple(args.box) if args.box else ((w - side) // 2, (h - side) // 2, side, side)
    device = resolve_device(args.device)
    lr = make_lr(hr, args.scale)[None].to(device)
    panels = []
    for title, name, ckpt in models:
        model = inference_model(name, args.scale, ckpt).to(device)
        sr = model(lr)
        psnr = float(y_psnr(sr, hr[None].to(device), args.scale)[0])
        ssim = float(y_ssim(sr, hr[None].to(device), args.scale)[0])
        panels.append(Panel(title, sr[0].cpu(), psnr, ssim))
    try:
        figure, _ = comparison_figure(hr, panels, box)
    except ValueError as exc:
        raise SRZooError(f"--box: {exc}") from None
    args.output.parent.mkdir(parents=True, exist_ok=True)
    figure.save(args.output)
    print(json.dumps({"figure": str(args.output), "box": list(box),
                      "scores": {p.title: {"psnr": round(p.psnr, 4), "ssim": round(p.ssim, 4)} for p in panels}}))
    return 0
