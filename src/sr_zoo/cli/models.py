"""``sr-zoo models``: every model with its paper, scales, inference parameter count per scale, and the
scales the zoo has weights for (``create_model(name, scale, pretrained=True)``, ``sr-zoo upscale``); then
every set of weights by name (the zoo's own, the SRCNN/FSRCNN authors') with its Set5 score.

The count is that of ``model.net``, the network that upscales: a GAN's discriminator and SRSEG's
segmentation head exist only in training and are not counted. The counts are a table here, not built
networks (building all of them takes seconds and imports torch and Lightning); a test builds each model
and compares. The weights come from ``models/weights/manifest.json`` (scores measured here) and
``sr_zoo.models.authors`` (scores the authors published: each paper folder's ``published.json``), read as JSON
through the specs.
"""

from __future__ import annotations

import argparse

from sr_zoo.inference.published import AUTHORS_TABLE  # JSON: no torch
from sr_zoo.models import list_models, model_info
from sr_zoo.models.authors import AUTHORS  # a table: no torch
from sr_zoo.models.pretrained import manifest  # the manifest, read as JSON: no torch

_SHOWN_SCALES = (2, 3, 4, 8)  # for a model of any scale

PARAMETERS: dict[str, dict[int, int]] = {name: model_info(name).parameters for name in list_models()}
"""Parameters of ``create_model(name, scale).net`` with the default hyper-parameters, per shown scale."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the zoo's models", description="List every model of the zoo.")
    p.set_defaults(run=run)


def parameter_count(name: str, scale: int) -> int:
    """Parameters of the inference network (``model.net``) of ``name`` at ``scale``, built now (torch):
    what ``PARAMETERS`` records."""
    from sr_zoo.models import create_model

    return sum(p.numel() for p in create_model(name, scale).net.parameters())


def run(args: argparse.Namespace) -> int:
    rows = [("model", "scales", "weights", "inference parameters", "paper")]
    for name in list_models():
        info = model_info(name)
        scales = info.scales or _SHOWN_SCALES
        counts = ", ".join(f"x{s}: {info.parameters[s]:,}" for s in scales)
        shown = "any" if info.scales is None else " ".join(str(s) for s in info.scales)
        weights = " ".join(f"x{s}" for s in info.weights) or ("none needed" if name == "bicubic" else "-")
        rows.append((name, shown, weights, counts, info.paper))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4])
    print("weights: scales with the zoo's own weights (sr-zoo upscale uses them); '-': train one with sr-zoo fit")
    print()
    print(_weights_table())
    return 0


def _weights_table() -> str:
    """A row per set of weights by name: model, ``--weights`` name, scale, Set5 PSNR / SSIM and where it is from."""
    rows = []
    for key, entry in sorted(manifest().items()):
        name, scale = key.rsplit("_x", 1)
        set5 = entry.get("scores", {}).get("Set5", {})
        score = f"{set5['psnr']:.2f} / {set5['ssim']:.4f}" if set5 else "-"
        rows.append((name, "zoo", f"x{scale}", score, "trained here (measured here)"))
    for (name, scale), entry in sorted(AUTHORS.items()):
        paper = [r for r in model_info(name).published if (r.test, r.scale, r.table) == ("Set5", scale, AUTHORS_TABLE)]
        score = f"{paper[0].psnr:.2f} / {paper[0].ssim:.4f}" if paper else "-"
        rows.append((name, "authors", f"x{scale}", score, f"{entry.what} (published; fetched on first use)"))
    rows = [("model", "--weights", "scale", "Set5 (PSNR / SSIM)", "")] + sorted(rows, key=lambda r: r[:3])
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4] for r in rows).rstrip()
