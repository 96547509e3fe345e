"""Peak memory of scoring (Y-channel PSNR + SSIM) a large image against a small one, each in a fresh process.

    python benchmarks/scoring_memory.py [--sizes 1000 8000] [--end-to-end]

"inputs" is the process's peak resident memory once the SR and HR images (float32 RGB, as read) exist;
"scoring" is the peak added by ``YPSNR.update`` + ``YSSIM.update`` (banded, ``sr_zoo.metrics``), and
"one pass" the peak added by scoring the whole image at once (the earlier implementation), run only where
it fits. ``--end-to-end`` also runs ``sr-zoo benchmark --model bicubic --scale 4`` on one such PNG.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

_CHILD = r"""
import json, resource, sys, torch
size, mode = int(sys.argv[1]), sys.argv[2]
torch.set_num_threads(2)
def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
g = torch.Generator().manual_seed(0)
hr = torch.rand(1, 3, size, size, generator=g)
sr = (hr + 0.02).clamp_(0, 1)
import sr_zoo.metrics as m
base = peak_mb()
if mode == "banded":
    psnr, ssim = m.YPSNR(crop_border=4), m.YSSIM(crop_border=4)
    psnr.update(sr, hr); ssim.update(sr, hr)
    value = (float(psnr.compute()), float(ssim.compute()))
else:  # the whole image at once: torchmetrics' PSNR and the 'valid' SSIM map of the earlier implementation
    from torchmetrics.functional.image import peak_signal_noise_ratio
    y_sr, y_hr = m.to_y_255(sr, 4), m.to_y_255(hr, 4)
    value = (float(peak_signal_noise_ratio(y_sr, y_hr, data_range=255.0)), float(m.ssim_valid(y_sr, y_hr)))
print(json.dumps({"inputs": base, "peak": peak_mb(), "value": value}))
"""


def _child(size: int, mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, str(size), mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _end_to_end(size: int) -> float:
    import cv2
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "big"
        folder.mkdir()
        rng = np.random.default_rng(0)
        image = cv2.resize(rng.integers(0, 256, (size // 16, size // 16, 3), dtype=np.uint8), (size, size))
        cv2.imwrite(str(folder / "big.png"), image)
        del image
        cmd = [sys.executable, "-c", "import resource, sys; from sr_zoo.cli import main; code = main(sys.argv[1:]); "
               "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024); sys.exit(code)",
               "benchmark", "--model", "bicubic", "--scale", "4", "--data", str(folder), "--device", "cpu"]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 8000])
    parser.add_argument("--one-pass-max", type=int, default=2000, help="largest size also scored in one pass")
    parser.add_argument("--end-to-end", action="store_true")
    args = parser.parse_args()
    print("peak resident memory, MB (ru_maxrss), scoring crop_border=4 (BAND_PIXELS from sr_zoo.metrics)")
    print("| image | inputs | scoring adds | one pass adds |")
    print("|---|---|---|---|")
    rows = {}
    for size in args.sizes:
        banded = _child(size, "banded")
        one = _child(size, "one-pass") if size <= args.one_pass_max else None
        rows[size] = banded["peak"] - banded["inputs"]
        one_text = f"{one['peak'] - one['inputs']:.0f}" if one else "not run (too large)"
        print(f"| {size}x{size} | {banded['inputs']:.0f} | {rows[size]:.0f} | {one_text} |")
    if len(rows) > 1:
        small, large = min(rows), max(rows)
        print(f"scoring memory {large}x{large} / {small}x{small}: {rows[large] / max(rows[small], 1):.2f}x "
              f"for {(large / small) ** 2:.0f}x the pixels")
    if args.end_to_end:
        for size in args.sizes:
            peak = _end_to_end(size)
            print(f"sr-zoo benchmark --model bicubic --scale 4 on one {size}x{size} PNG: peak {peak:.0f} MB")


if __name__ == "__main__":
    main()
