"""``sr-zoo export``: a zoo model as an ONNX or TorchScript file, with an optional parity check.

The parser and the argument checks import neither torch nor the models; ``run`` imports them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sr_zoo.cli.weights import add_weights_arguments, chosen_weights
from sr_zoo.errors import SRZooError
from sr_zoo.models import check_scale, model_info

_SUFFIXES = {".onnx": "onnx", ".pt": "torchscript", ".ts": "torchscript", ".torchscript": "torchscript"}
DEFAULT_TOLERANCE = 1e-4  # what tests/inference/test_export.py holds every model to, on outputs in [0, 1]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a model to ONNX or TorchScript",
        description="Write a zoo model (RGB in [0, 1] to RGB, Y-channel models included) as an ONNX (opset 17) or "
        "TorchScript file with dynamic batch, height and width. Run it with sr-zoo upscale --onnx FILE or "
        "sr_zoo.inference.export.ExportedModel. --check IMAGE compares it with the eager model on an image.",
    )
    p.add_argument("--model", required=True, help="zoo model name (sr-zoo models lists them)")
    p.add_argument("--scale", type=int, required=True, help="upscaling factor")
    add_weights_arguments(p)
    p.add_argument("--format", choices=("onnx", "torchscript"), default=None,
                   help="file format (default: from the output's suffix, .onnx or .pt; else onnx)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="the file to write")
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (default 17: the widest runtime support)")
    p.add_argument("--check", type=Path, default=None, metavar="IMAGE",
                   help="after writing, run the exported and the eager model on IMAGE and print the largest "
                   "difference; exit status 1 if it exceeds --tolerance")
    p.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                   help=f"largest difference --check accepts, on outputs in [0, 1] (default {DEFAULT_TOLERANCE:g})")
    p.set_defaults(run=run)


def output_format(output: Path, requested: str | None) -> str:
    """``--format``, else the one the output's suffix names, else ONNX."""
    if requested is not None:
        return requested
    return _SUFFIXES.get(output.suffix.lower(), "onnx")


def run(args: argparse.Namespace) -> int:
    info = model_info(args.model)
    check_scale(info.name, args.scale)
    if args.check is not None and not args.check.is_file():
        raise SRZooError(f"--check {args.check}: no such image file")
    if args.opset is not None and not 7 <= args.opset <= 23:
        raise SRZooError(f"--opset: {args.opset} is not an ONNX opset this exporter writes (7 to 23; default 17)")
    if args.tolerance < 0:
        raise SRZooError(f"--tolerance: expected a number >= 0, got {args.tolerance}")
    weights = chosen_weights(args)
    fmt = output_format(args.output, args.format)
    from sr_zoo.cli.outputs import check_output_file, refuse_overwriting_inputs

    inputs = [p for p in (args.ckpt, args.check) if p is not None]
    refuse_overwriting_inputs([args.output], inputs, "-o", args.output, beside=False)
    check_output_file(args.output, "-o")
    from sr_zoo.inference.export import ONNX_OPSET, ExportedModel, export_model, parity
    from sr_zoo.models import inference_model

    model = inference_model(info.name, args.scale, args.ckpt, weights)
    export_model(model, args.output, fmt, opset=args.opset or ONNX_OPSET)
    size = args.output.stat().st_size
    print(f"sr-zoo: wrote {args.output} ({fmt}, {size / 1e6:.1f} MB): {info.name} x{args.scale}, "
          "RGB (N, 3, H, W) in [0, 1] -> (N, 3, sH, sW)")
    if args.check is None:
        return 0
    from sr_zoo.files.images import read_image

    lr = read_image(args.check)[None]
    difference = parity(ExportedModel(args.output), model, lr)
    height, width = lr.shape[-2:]
    verdict = "within" if difference <= args.tolerance else "ABOVE"
    print(f"sr-zoo: --check {args.check} ({width}x{height}): max |exported - eager| = {difference:.2e}, "
          f"{verdict} the tolerance {args.tolerance:g}")
    return 0 if difference <= args.tolerance else 1
