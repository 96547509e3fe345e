"""``sr-zoo upscale``: upscale image files or folders with a zoo model, in bounded memory (tiles).

The parser and the argument checks import neither torch nor the models (``sr-zoo upscale --help`` and a
bad ``--model`` answer at once); ``run`` imports them once the arguments are known to be good.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from sr_zoo.cli.devices import add_device_argument
from sr_zoo.cli.weights import add_weights_arguments, chosen_weights
from sr_zoo.errors import SRZooError
from sr_zoo.models import check_scale, model_info

if TYPE_CHECKING:
    import numpy as np
    import torch

_BICUBIC_RADIUS = 3  # LR pixels the MATLAB bicubic kernel reaches when upscaling alpha
_MIN_TILE = 8  # no model is worth tiles smaller than this: each tile costs a model call and its overlap


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "upscale",
        help="upscale images with a model",
        description="Upscale image files or folders of images with a zoo model. Large images go through "
        "overlapping tiles (--tile) in bounded memory; the overlap defaults to the model's receptive field, "
        "so the result equals the whole-image pass. Keeps the format, bit depth, grayscale and alpha "
        "(resized bicubically) of each input, and applies its EXIF orientation. Gray + alpha comes back gray + "
        "alpha (8-bit PNG) or as RGBA with three equal channels (16-bit, TIFF, WebP). Never writes over an input.",
    )
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="image files and/or folders of images")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUTDIR", help="folder for the results")
    p.add_argument("--model", default=None, help="zoo model name (sr-zoo models lists them); required without --onnx")
    add_weights_arguments(p)
    p.add_argument("--scale", type=int, default=None, help="upscaling factor; required without --onnx")
    exported = p.add_mutually_exclusive_group()
    exported.add_argument("--onnx", dest="exported", type=Path, default=None, metavar="FILE",
                          help="run an exported model (sr-zoo export) through ONNX Runtime instead of --model; "
                          "--model/--scale, if given, must match the file")
    exported.add_argument("--torchscript", dest="exported", type=Path, metavar="FILE",
                          help="the same for a TorchScript file written by sr-zoo export")
    p.add_argument("--tile", type=int, default=None, metavar="PX",
                   help="tile size in input pixels (bounds memory; default: whole images)")
    p.add_argument("--tile-overlap", default="auto", metavar="PX",
                   help="context around each tile in input pixels (default: the model's receptive radius)")
    add_device_argument(p)
    p.add_argument("--self-ensemble", action="store_true",
                   help="x8 self-ensemble: the mean over the eight flips/rotations (8x the time; tiles still apply)")
    p.add_argument("--precision", default="32", choices=("32", "bf16", "16"), help="compute precision (default 32)")
    p.set_defaults(run=run)


def _gather(inputs: list[Path]) -> list[Path]:
    from sr_zoo.files.images import list_images

    files: list[Path] = []
    for item in inputs:
        if item.is_dir():
            files.extend(list_images(item))  # a folder without images is a one-line error
        elif item.is_file():
            files.append(item)
        else:
            raise SRZooError(f"{item}: no such file or folder")
    return files


def _upscaled(model: Callable[[torch.Tensor], torch.Tensor], array: np.ndarray, peak: int, path: Path,
              device: torch.device, **tiling: Any) -> np.ndarray:
    """``array`` ``(H, W, C)`` upscaled through ``sr_zoo.inference.upscaled_tiles``, each tile rounded into
    an integer canvas of the input's depth (so memory stays that of the output image, not float32)."""
    import numpy as np
    import torch

    from sr_zoo.inference.tiling import upscaled_tiles

    image = torch.from_numpy(array.transpose(2, 0, 1).astype(np.float32) / peak).to(device)
    scale = tiling["scale"]
    out = np.empty((array.shape[0] * scale, array.shape[1] * scale, array.shape[2]), dtype=array.dtype)
    for y0, y1, x0, x1, sr in upscaled_tiles(model, image, **tiling):
        if torch.isnan(sr).any():  # clamp and the integer cast would make it black, silently
            raise SRZooError(f"{path}: the model's output holds NaN (an overflow at --precision 16, or damaged "
                             "weights); nothing written for it")
        out[y0:y1, x0:x1] = torch.floor(sr.clamp(0, 1) * peak + 0.5).permute(1, 2, 0).numpy().astype(out.dtype)
    return out


def _check_tile(tile: int | None, name: str, model: Any) -> None:
    """``--tile`` no smaller than the model's minimum (its small-input side, its tile alignment); one line."""
    if tile is None:
        return
    least = max(_MIN_TILE, getattr(model, "min_input_side", 0), getattr(getattr(model, "net", model), "tile_align", 1))
    if tile < least:
        raise SRZooError(f"--tile {tile}: below {name}'s minimum of {least} pixels (smaller tiles would "
                         f"each be padded, or cost minutes of overlap); use --tile {least} or more")


def _overlap(value: str) -> int | None:
    """``--tile-overlap``: ``None`` for ``auto``, else pixels >= 0; one line otherwise."""
    if value == "auto":
        return None
    try:
        overlap = int(value)
    except ValueError:
        raise SRZooError(f"--tile-overlap: expected 'auto' or a number of pixels, got {value!r}") from None
    if overlap < 0:
        raise SRZooError(f"--tile-overlap: expected 'auto' or a number of pixels >= 0, got {overlap}")
    return overlap


def run(args: argparse.Namespace) -> int:
    if args.exported is None:
        for flag, value in (("--model", args.model), ("--scale", args.scale)):
            if value is None:
                raise SRZooError(f"{flag} is required (or run an exported model with --onnx FILE)")
    elif args.ckpt is not None or args.weights is not None:
        flag = "--ckpt" if args.ckpt is not None else "--weights"
        raise SRZooError(f"{flag}: an exported model holds its weights; pass either --onnx/--torchscript or {flag}")
    elif args.precision != "32":
        raise SRZooError(f"--precision {args.precision}: an exported model runs in float32, as it was exported")
    elif args.memory_format != "auto":
        raise SRZooError(f"--memory-format {args.memory_format}: applies to --model; an exported model runs in the "
                         "layout its runtime picks")
    elif not args.exported.is_file():
        what = "is a folder, not a file" if args.exported.is_dir() else "no such file"
        raise SRZooError(f"{args.exported}: {what} (the exported model to run)")
    name = None
    if args.model is not None:
        name = model_info(args.model).name  # the static registry: no model is imported for these checks
        if args.scale is not None:
            check_scale(name, args.scale)
    if args.tile is not None and args.tile < 1:
        raise SRZooError(f"--tile: expected a positive number of pixels, got {args.tile}")
    overlap = _overlap(args.tile_overlap)
    import torch

    with torch.no_grad():
        return _upscale(args, name, overlap)


def _exported_model(args: argparse.Namespace, name: str | None, device: torch.device) -> tuple[Any, str, int]:
    """The ``--onnx``/``--torchscript`` file as a model, its name and scale; ``--model``/``--scale`` must match."""
    from sr_zoo.inference.export import ExportedModel

    model = ExportedModel(args.exported, device=device)
    for flag, given, recorded in (("--model", name, model.model_name), ("--scale", args.scale, model.scale)):
        if given is not None and given != recorded:
            raise SRZooError(f"{flag} {given}: {args.exported} is {model.model_name} x{model.scale}")
    return model, model.model_name, model.scale


def _upscale(args: argparse.Namespace, name: str | None, overlap: int | None) -> int:
    from tqdm.auto import tqdm

    from sr_zoo.cli.devices import resolve_device
    from sr_zoo.cli.outputs import refuse_overwriting_inputs
    from sr_zoo.files.images import check_writable_dir, load_image_file, output_path, save_image_file
    from sr_zoo.inference.layout import to_inference_device
    from sr_zoo.inference.self_ensemble import SelfEnsemble
    from sr_zoo.inference.tiling import receptive_radius
    from sr_zoo.models import create_model, inference_model
    from sr_zoo.ops import imresize

    weights = chosen_weights(args)
    files = _gather(args.inputs)
    targets = [output_path(f, args.output) for f in files]
    clashes = {t for t in targets if targets.count(t) > 1}
    if clashes:
        raise SRZooError(f"-o {args.output}: several inputs would be written to {sorted(clashes)[0].name}")
    refuse_overwriting_inputs(targets, files, "-o", args.output)
    check_writable_dir(args.output, "-o")
    device = resolve_device(args.device)
    if args.exported is not None:
        model, name, scale = _exported_model(args, name, device)
        _check_tile(args.tile, name, model)
    else:
        scale = args.scale
        if args.tile is not None:  # the model's minimum tile, from a bare model: before any weights are read
            _check_tile(args.tile, name, create_model(name, scale))
        model = to_inference_device(inference_model(name, scale, args.ckpt, weights), device, args.memory_format)
    if args.self_ensemble:
        model = SelfEnsemble(model)
    if args.tile is not None and overlap is None:
        overlap = receptive_radius(model, scale)
    bicubic = lambda x: imresize(x, scale=scale)  # noqa: E731 - alpha is resized, not super-resolved
    for path, target in tqdm(list(zip(files, targets)), desc=f"{name} x{scale}", unit="img", disable=None):
        image = load_image_file(path)
        out = _upscaled(model, image.pixels, image.peak, path, device, scale=scale, tile=args.tile, overlap=overlap,
                        precision=args.precision)
        alpha = None
        if image.alpha is not None:
            alpha = _upscaled(bicubic, image.alpha[:, :, None], image.peak, path, device, scale=scale, tile=args.tile,
                              overlap=_BICUBIC_RADIUS)[:, :, 0]
        save_image_file(target, out, alpha)
    tiles = "whole images" if args.tile is None else f"tiles of {args.tile} px, overlap {overlap} px"
    what = f"{name} ({args.exported.name})" if args.exported is not None else name
    print(f"sr-zoo: upscaled {len(files)} image(s) x{scale} with {what} ({tiles}) into {args.output}")
    return 0
