"""Peak memory of ``sr-zoo upscale`` on one image, whole against tiled, each in a fresh process.

    python benchmarks/upscale_memory.py [--model msfmgan] [--scale 4] [--size 200] [--tile 48] [--budget-mb 1500]

Runs the command on a ``size`` x ``size`` PNG twice (without and with ``--tile``), reports peak resident
memory (ru_maxrss of the child), the ratio, whether the tiled run stayed within ``--budget-mb`` (and the
whole-image run did not), and the largest difference between the two outputs (8-bit levels).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

_CHILD = ("import resource, sys, torch; torch.manual_seed(0); from sr_zoo.cli import main; code = main(sys.argv[1:]); "
          "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024); sys.exit(code)")


def _run(args: list[str]) -> float:
    out = subprocess.run([sys.executable, "-c", _CHILD, *args], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr[-2000:])
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="msfmgan")
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--tile", type=int, default=48)
    parser.add_argument("--budget-mb", type=float, default=1500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rng = np.random.default_rng(0)
        small = rng.integers(0, 256, (args.size // 8, args.size // 8, 3), dtype=np.uint8)
        image = cv2.resize(small, (args.size, args.size))
        cv2.imwrite(str(tmp / "in.png"), image)
        common = ["upscale", "--model", args.model, "--scale", str(args.scale), str(tmp / "in.png"), "--device", "cpu"]
        whole = _run([*common, "-o", str(tmp / "whole")])
        tiled = _run([*common, "-o", str(tmp / "tiled"), "--tile", str(args.tile)])
        a = cv2.imread(str(tmp / "whole" / "in.png")).astype(int)
        b = cv2.imread(str(tmp / "tiled" / "in.png")).astype(int)
    print(f"sr-zoo upscale --model {args.model} --scale {args.scale} on one {args.size}x{args.size} image "
          f"(untrained weights, seed fixed per process), peak resident memory:")
    print("| run | peak MB | within the budget |")
    print("|---|---|---|")
    print(f"| whole image | {whole:.0f} | {'yes' if whole <= args.budget_mb else 'no'} ({args.budget_mb:.0f} MB) |")
    fits = "yes" if tiled <= args.budget_mb else "no"
    print(f"| --tile {args.tile} (overlap: receptive radius) | {tiled:.0f} | {fits} |")
    print(f"tiled / whole: {tiled / whole:.2f}x; largest output difference: {np.abs(a - b).max()} levels")


if __name__ == "__main__":
    main()
