"""``sr-zoo models``: every model with its paper, scales and inference parameter count per scale.

The count is that of ``model.net``, the network that upscales: a GAN's discriminator and SRSEG's
segmentation head exist only in training and are not counted.
"""

from __future__ import annotations

import argparse

from sr_zoo.models import create_model, list_models, model_info

_SHOWN_SCALES = (2, 3, 4, 8)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the zoo's models", description="List every model of the zoo.")
    p.set_defaults(run=run)


def parameter_count(name: str, scale: int) -> int:
    """Parameters of the inference network (``model.net``) of ``name`` at ``scale``."""
    return sum(p.numel() for p in create_model(name, scale).net.parameters())


def run(args: argparse.Namespace) -> int:
    rows = [("model", "scales", "inference parameters", "paper")]
    for name in list_models():
        info = model_info(name)
        scales = info.scales or _SHOWN_SCALES
        counts = ", ".join(f"x{s}: {parameter_count(name, s):,}" for s in scales)
        shown = "any" if info.scales is None else " ".join(str(s) for s in info.scales)
        rows.append((name, shown, counts, info.paper))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3])
    return 0
