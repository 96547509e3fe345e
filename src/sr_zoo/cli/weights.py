"""``--ckpt`` and ``--weights``: which weights the commands that run a model outside Lightning (benchmark,
upscale, export) load. The parser imports no torch."""

from __future__ import annotations

import argparse
from pathlib import Path

from sr_zoo.errors import SRZooError

__all__ = ["WEIGHTS", "add_weights_arguments", "chosen_weights"]

WEIGHTS = ("zoo", "authors")
"""Weights by name: the zoo's own (``create_model(pretrained=True)``) and the paper authors' (SRCNN, FSRCNN)."""


def add_weights_arguments(parser: argparse.ArgumentParser) -> None:
    """``--ckpt PATH`` (a checkpoint) or ``--weights zoo|authors`` (by name; default zoo)."""
    parser.add_argument("--ckpt", type=Path, default=None,
                        help="weights: a checkpoint of this model and scale (from sr-zoo fit or sr-zoo convert)")
    parser.add_argument("--weights", choices=WEIGHTS, default=None,
                        help="weights by name when no --ckpt: zoo (default: the zoo's own, shipped) or authors (the "
                        "SRCNN/FSRCNN authors' released weights, fetched on first use); sr-zoo models lists them")


def chosen_weights(args: argparse.Namespace) -> str:
    """``--weights`` (default ``zoo``); one line if it is given with ``--ckpt``."""
    if args.ckpt is not None and args.weights is not None:
        raise SRZooError(f"--weights {args.weights}: pass either --ckpt or --weights, not both")
    return args.weights or "zoo"
