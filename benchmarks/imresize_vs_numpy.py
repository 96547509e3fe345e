"""Benchmark ``sr_zoo.ops.imresize`` against a plain NumPy reference of MATLAB's bicubic imresize.

Measures, on a 512x512 RGB image (random, or ``--image PATH``), a x4 downscale (scale 1/4)
followed by a x4 upscale (scale 4) for:

  * a straightforward float64 NumPy implementation written here from MATLAB's ``imresize.m``
    (independent of the torch code: per-output loops for taps and weights, one axis at a time),
  * ``sr_zoo.ops.imresize`` on CPU, float64 and float32,
  * ``sr_zoo.ops.imresize`` on CUDA, float32 (only if a GPU is available).

For each it prints the median time over ``--repeats`` runs (after one warm-up run), the speed-up
over NumPy, and the max abs difference from the NumPy output (after the down step and after
down+up). It exits non-zero if torch float64 differs by more than 1e-6 or float32 by more than 1e-5.

Run:  python benchmarks/imresize_vs_numpy.py [--size 512] [--repeats 5] [--seed 0] [--image PATH]

Timings depend on the machine (CPU, thread count, GPU); the differences should not.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from typing import Callable

import numpy as np
import torch

from sr_zoo.ops import imresize

TOL_FLOAT64 = 1e-6
TOL_FLOAT32 = 1e-5


# ---------------------------------------------------------------- NumPy reference (MATLAB imresize.m)
def cubic(x: float) -> float:
    """Keys' cubic kernel, a = -0.5."""
    ax = abs(x)
    if ax <= 1:
        return 1.5 * ax**3 - 2.5 * ax**2 + 1.0
    if ax <= 2:
        return -0.5 * ax**3 + 2.5 * ax**2 - 4.0 * ax + 2.0
    return 0.0


def contributions(in_len: int, out_len: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """0-based input indices and weights, each ``(out_len, taps)``, as in MATLAB's ``contributions``."""
    shrink = scale < 1  # antialiasing: widen the kernel by 1/scale
    width = 4.0 / scale if shrink else 4.0
    taps = math.ceil(width) + 2
    indices = np.zeros((out_len, taps), dtype=np.int64)
    weights = np.zeros((out_len, taps), dtype=np.float64)
    for i in range(out_len):
        u = (i + 1) / scale + 0.5 * (1 - 1 / scale)  # 1-based output -> 1-based input coordinate
        left = math.floor(u - width / 2)
        for k in range(taps):
            j = left + k  # 1-based, may be outside [1, in_len]
            d = u - j
            weights[i, k] = scale * cubic(scale * d) if shrink else cubic(d)
            m = (j - 1) % (2 * in_len)  # symmetric mirror: aux = [1:n, n:-1:1]
            indices[i, k] = m if m < in_len else 2 * in_len - 1 - m
        weights[i] /= weights[i].sum()
    return indices, weights


def resize_axis(x: np.ndarray, axis: int, out_len: int, scale: float) -> np.ndarray:
    """Resize ``x`` along ``axis`` with an explicit loop over output rows."""
    indices, weights = contributions(x.shape[axis], out_len, scale)
    src = np.moveaxis(x, axis, 0)
    out = np.zeros((out_len,) + src.shape[1:], dtype=np.float64)
    for i in range(out_len):
        for k in range(indices.shape[1]):
            out[i] += weights[i, k] * src[indices[i, k]]
    return np.moveaxis(out, 0, axis)


def imresize_numpy(img: np.ndarray, scale: float) -> np.ndarray:
    """MATLAB ``imresize(img, scale, 'bicubic')`` for a ``(C, H, W)`` float64 array (same scale on H and W,
    so H is resized first)."""
    h, w = img.shape[1], img.shape[2]
    out = resize_axis(img, 1, math.ceil(scale * h), scale)
    return resize_axis(out, 2, math.ceil(scale * w), scale)


# ---------------------------------------------------------------- benchmark
def median_ms(fn: Callable[[], object], repeats: int, sync: Callable[[], None] = lambda: None) -> float:
    fn()  # warm-up (also fills the weight cache of the torch version)
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512, help="side of the random image (default 512)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs; the median is shown (default 5)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--image", help="use this image (read with sr_zoo.data.read_image) instead of noise")
    args = parser.parse_args()

    if args.image:
        from sr_zoo.data import read_image

        img = read_image(args.image).double().numpy()
        source = args.image
    else:
        img = np.random.default_rng(args.seed).random((3, args.size, args.size))
        source = f"random, seed {args.seed}"
    print(f"image: {img.shape[0]}x{img.shape[1]}x{img.shape[2]} (CxHxW, {source}); x1/4 down then x4 up; "
          f"median of {args.repeats}; torch {torch.__version__}, {torch.get_num_threads()} CPU threads")

    def np_run() -> tuple[np.ndarray, np.ndarray]:
        down = imresize_numpy(img, 0.25)
        return down, imresize_numpy(down, 4.0)

    ref_down, ref_up = np_run()
    rows = [("numpy float64", median_ms(np_run, args.repeats), 0.0, 0.0)]
    variants = [("torch cpu float64", "cpu", torch.float64), ("torch cpu float32", "cpu", torch.float32)]
    if torch.cuda.is_available():
        variants.append(("torch cuda float32", "cuda", torch.float32))

    failures = []
    for name, device, dtype in variants:
        x = torch.from_numpy(img).to(device=device, dtype=dtype)

        def run(x: torch.Tensor = x) -> tuple[torch.Tensor, torch.Tensor]:
            down = imresize(x, scale=0.25)
            return down, imresize(down, scale=4)

        sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
        ms = median_ms(run, args.repeats, sync)
        down, up = (t.double().cpu().numpy() for t in run())
        d_down, d_up = float(np.abs(down - ref_down).max()), float(np.abs(up - ref_up).max())
        rows.append((name, ms, d_down, d_up))
        tol = TOL_FLOAT64 if dtype == torch.float64 else TOL_FLOAT32
        if max(d_down, d_up) > tol:
            failures.append(f"{name}: max abs diff vs NumPy {max(d_down, d_up):.3e} exceeds {tol:g}")

    np_ms = rows[0][1]
    print(f"\n{'variant':<20}{'median ms':>12}{'vs numpy':>11}{'maxdiff down':>15}{'maxdiff down+up':>18}")
    for name, ms, d_down, d_up in rows:
        print(f"{name:<20}{ms:>12.2f}{np_ms / ms:>10.1f}x{d_down:>15.2e}{d_up:>18.2e}")
    if not torch.cuda.is_available():
        print("(no CUDA device: GPU row skipped)")

    if failures:
        print("\nFAIL: " + "; ".join(failures), file=sys.stderr)
        return 1
    print(f"\nOK: float64 within {TOL_FLOAT64:g}, float32 within {TOL_FLOAT32:g} of the NumPy reference")
    return 0


if __name__ == "__main__":
    sys.exit(main())
