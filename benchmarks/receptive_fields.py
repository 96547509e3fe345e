"""Receptive radius of every zoo model (default configuration), in input pixels: the tile overlap that
``sr-zoo upscale --tile`` needs for tiled and whole-image results to agree.

    python benchmarks/receptive_fields.py [--max-probe 128]

Measured by ``sr_zoo.inference.tiling.receptive_radius`` (autograd from one LR pixel's outputs), the probe doubling
from 32 pixels; a radius that reaches half the largest probe is printed as "at least".
"""

from __future__ import annotations

import argparse

import torch

from sr_zoo.inference.tiling import receptive_radius
from sr_zoo.models import create_model, list_models, model_info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-probe", type=int, default=128)
    args = parser.parse_args()
    print("| model | scale | radius (input pixels) | tile alignment |")
    print("|---|---|---|---|")
    for name in list_models():
        scales = model_info(name).scales
        scale = 3 if scales is None or 3 in scales else 4
        torch.manual_seed(0)
        model = create_model(name, scale)
        probe, radius = 32, 0
        while probe <= args.max_probe:
            radius = receptive_radius(model, scale, probe=probe)
            if radius < probe // 2 - 1:
                break
            probe *= 2
        shown = f"at least {radius}" if probe > args.max_probe else str(radius)
        align = getattr(model.net, "tile_align", 1)
        print(f"| {name} | x{scale} | {shown} | {align} |")


if __name__ == "__main__":
    main()
