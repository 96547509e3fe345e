"""``sr-zoo convert``: the SRCNN/FSRCNN authors' released ``.mat`` weights as a zoo checkpoint
(``sr_zoo.models.convert``), which ``--ckpt`` and ``create_model(checkpoint=)`` load.

The parser imports neither torch nor the models; ``run`` imports them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sr_zoo.models.authors import AUTHORS_MODELS  # a table: no torch, no numpy


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "convert",
        help="convert the SRCNN/FSRCNN authors' .mat weights to a zoo checkpoint",
        description="Read a weight file released with the SRCNN or FSRCNN authors' MATLAB test code (any SRCNN "
        "f1-f2-f3 or FSRCNN d-s-m; the model and variant from its arrays, the scale from its name, e.g. x3.mat) "
        "and write a zoo checkpoint for --ckpt. Every array is used once and every parameter filled, or it says "
        "which is not.",
    )
    p.add_argument("file", type=Path, metavar="FILE", help="the authors' .mat file")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.ckpt", help="the checkpoint to write")
    p.add_argument("--model", choices=AUTHORS_MODELS, default=None,
                   help="the network (default: from the file's arrays)")
    p.add_argument("--scale", type=int, default=None, help="upscaling factor (default: from the file name)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from sr_zoo.cli.outputs import check_output_file, refuse_overwriting_inputs
    from sr_zoo.models.convert import convert_mat
    from sr_zoo.training.checkpointing import atomic_torch_save

    refuse_overwriting_inputs([args.output], [args.file], "-o", args.output, beside=False)
    check_output_file(args.output, "-o")
    checkpoint = convert_mat(args.file, args.model, args.scale)  # a missing or unreadable file: one line
    atomic_torch_save(checkpoint, args.output)
    meta, hparams = checkpoint["sr_zoo"], checkpoint["hyper_parameters"]
    if meta["model"] == "srcnn":
        variant = f"{hparams['f1']}-{hparams['f2']}-{hparams['f3']}"
    else:
        variant = f"({hparams['d']}, {hparams['s']}, {hparams['m']})"
    count = sum(v.numel() for k, v in checkpoint["state_dict"].items() if k.startswith("net."))
    print(f"sr-zoo: wrote {args.output}: {meta['model']} {variant} x{meta['scale']}, {count:,} parameters from "
          f"{len(checkpoint['converted_from']['arrays'])} arrays of {args.file.name} (replicate padding, as the "
          f"authors' code); use it with --ckpt {args.output}")
    return 0
