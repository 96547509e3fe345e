"""CSRCNN forward time and peak memory, asymmetric (6/4/2) against symmetric (4/4/4), 48x48 LR input.

CSRCNN paper, Sec. IV-C says the asymmetric x8 network needs "approximately half" the memory and time
of the symmetric one; Table VI gives 6.1 / 11.6 / 20.1 ms and 1,043 / 1,665 / 3,783 MB at x2 / x4 / x8
on a GTX 1080 Ti. This prints, for x2 / x4 / x8, each variant's median forward time and the peak
memory of the forward pass, and the asymmetric/symmetric ratios, all measured in this one run. Each
configuration runs in a fresh process: on CPU the peak is the growth of the process's maximum
resident set during the forward passes; on CUDA it is ``torch.cuda.max_memory_allocated``.

Run:  python benchmarks/csrcnn_speed_memory.py [--device cpu|cuda] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch

from sr_zoo.models.csrcnn import CSRCNNNet

VARIANTS = {"asymmetric": (6, 4, 2), "symmetric": (4, 4, 4)}
SCALES = (2, 4, 8)


def measure(scale: int, variant: str, device: str, repeats: int) -> dict:
    levels = {2: 1, 4: 2, 8: 3}[scale]
    net = CSRCNNNet(scale, blocks_per_level=VARIANTS[variant][:levels]).to(device).eval()
    lr = torch.rand(1, 3, 48, 48, device=device)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    times = []
    with torch.no_grad():
        net(lr)  # warm-up
        for _ in range(repeats):
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            net(lr)
            if device == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    if device == "cuda":
        peak_mb = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base_rss) / 1024
    params = sum(p.numel() for p in net.parameters())
    return {"ms": statistics.median(times) * 1e3, "mb": peak_mb, "params": params}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one", nargs=2, metavar=("SCALE", "VARIANT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(int(args.one[0]), args.one[1], args.device, args.repeats)))
        return 0
    print(f"CSRCNN forward, LR 48x48, {args.device}, torch {torch.__version__}, median of {args.repeats}")
    print(f"{'scale':<6}{'variant':<12}{'params':>11}{'ms':>10}{'peak MB':>10}")
    for scale in SCALES:
        rows = {}
        for variant in VARIANTS:
            out = subprocess.run([sys.executable, __file__, "--device", args.device, "--repeats", str(args.repeats),
                                  "--one", str(scale), variant], capture_output=True, text=True, check=True)
            rows[variant] = json.loads(out.stdout)
            r = rows[variant]
            print(f"x{scale:<5}{variant:<12}{r['params']:>11,}{r['ms']:>10.1f}{r['mb']:>10.0f}")
        a, s = rows["asymmetric"], rows["symmetric"]
        ratios = a["params"] / s["params"], a["ms"] / s["ms"], a["mb"] / s["mb"]
        print(f"x{scale:<5}{'asym/sym':<12}{ratios[0]:>11.2f}{ratios[1]:>10.2f}{ratios[2]:>10.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
