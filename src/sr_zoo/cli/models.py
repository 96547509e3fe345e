"""``sr-zoo models``: every model with its paper, scales, inference parameter count per scale, and the
scales the zoo has weights for (``create_model(name, scale, pretrained=True)``, ``sr-zoo upscale``).

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


def weight_scales(name: str) -> list[int]:
    """The scales at which the zoo has weights for ``name`` (shipped or downloadable)."""
    from sr_zoo.models.pretrained import available_pretrained

    return sorted(int(key.rsplit("_x", 1)[1]) for key in available_pretrained() if key.rsplit("_x", 1)[0] == name)


def run(args: argparse.Namespace) -> int:
    rows = [("model", "scales", "weights", "inference parameters", "paper")]
    for name in list_models():
        info = model_info(name)
        scales = info.scales or _SHOWN_SCALES
        counts = ", ".join(f"x{s}: {parameter_count(name, s):,}" for s in scales)
        shown = "any" if info.scales is None else " ".join(str(s) for s in info.scales)
        weights = " ".join(f"x{s}" for s in weight_scales(name)) or ("none needed" if name == "bicubic" else "-")
        rows.append((name, shown, weights, counts, info.paper))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4])
    print("weights: scales with the zoo's own weights (sr-zoo upscale uses them); '-': train one with sr-zoo fit")
    return 0
