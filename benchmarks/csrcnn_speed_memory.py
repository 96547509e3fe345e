"""CSRCNN forward time and peak memory, asymmetric (6/4/2) against symmetric (4/4/4), 48x48 LR input.

CSRCNN paper, Sec. IV-C says the asymmetric x8 network needs "approximately half" the memory and time
of the symmetric one; Table VI gives 6.1 / 11.6 / 20.1 ms and 1,043 / 1,665 / 3,783 MB at x2 / x4 / x8
on a GTX 1080 Ti. This prints, for x2 / x4 / x8, each variant's median forward time and the peak
memory of the forward pass, and the asymmetric/symmetric ratios, all measured in this one run; the
``table6`` variant is the network Table VI counts (4/4/4 with two more HR convolutions per level,
the CSRCNN card), printed beside the paper's figures. Each configuration runs in a fresh process: on CPU
the peak is the growth of the process's maximum resident set during the forward passes; on CUDA it is
``torch.cuda.max_memory_allocated``, and ``device MB`` is the GPU's used memory (``mem_get_info``: total
less free, so every process on that GPU, this one's CUDA context and cache included: what a tool such as
nvidia-smi shows, the likelier reading of the paper's MB; on a GPU of its own, this process's).

Run:  python benchmarks/csrcnn_speed_memory.py [--device cpu|cuda] [--repeats 3] [--json PATH]
      [--smoke: an 8x8 LR input, one repeat, every configuration in this process: checks the code path only]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from sr_zoo.models.csrcnn import CSRCNNNet

# name -> (BP-U blocks per level, extra HR convolutions per refined block)
VARIANTS = {"asymmetric": ((6, 4, 2), 0), "symmetric": ((4, 4, 4), 0), "table6": ((4, 4, 4), 2)}
SCALES = (2, 4, 8)
# CSRCNN paper, Table VI (GTX 1080 Ti, 48x48 LR input): parameters (K), GPU memory (MB), time (ms).
PAPER = {2: {"params_k": 1549, "mb": 1043, "ms": 6.123}, 4: {"params_k": 3059, "mb": 1665, "ms": 11.586},
         8: {"params_k": 4568, "mb": 3783, "ms": 20.083}}


def measure(scale: int, variant: str, device: str, repeats: int, size: int = 48) -> dict:
    levels = {2: 1, 4: 2, 8: 3}[scale]
    blocks, extra = VARIANTS[variant]
    net = CSRCNNNet(scale, blocks_per_level=blocks[:levels], extra_hr_convs=extra).to(device).eval()
    lr = torch.rand(1, 3, size, size, device=device)
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
    result = {"ms": statistics.median(times) * 1e3, "params": sum(p.numel() for p in net.parameters())}
    if device == "cuda":
        result["mb"] = (torch.cuda.max_memory_allocated() - base) / 2**20
        free, total = torch.cuda.mem_get_info()
        result["device_mb"] = (total - free) / 2**20
    else:
        result["mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base_rss) / 1024
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="8x8 LR, one repeat, in this process (a code check)")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the rows as JSON")
    parser.add_argument("--one", nargs=3, metavar=("SCALE", "VARIANT", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    size, repeats = (8, 1) if args.smoke else (48, args.repeats)
    if args.one:
        print(json.dumps(measure(int(args.one[0]), args.one[1], args.device, repeats, int(args.one[2]))))
        return 0
    name = torch.cuda.get_device_name(0) if args.device == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"CSRCNN forward, LR {size}x{size}, {args.device} ({name}), torch {torch.__version__}, median of {repeats}")
    print(f"{'scale':<6}{'variant':<12}{'params':>11}{'ms':>10}{'peak MB':>10}{'device MB':>11}")
    rows = []
    for scale in SCALES:
        measured = {}
        for variant in VARIANTS:
            if args.smoke:
                r = measure(scale, variant, args.device, repeats, size)
            else:
                out = subprocess.run([sys.executable, __file__, "--device", args.device, "--repeats", str(repeats),
                                      "--one", str(scale), variant, str(size)], capture_output=True, text=True,
                                     check=True)
                r = json.loads(out.stdout)
            measured[variant] = r
            rows.append({"scale": scale, "variant": variant, **r})
            device_mb = f"{r['device_mb']:>11.0f}" if "device_mb" in r else f"{'-':>11}"
            print(f"x{scale:<5}{variant:<12}{r['params']:>11,}{r['ms']:>10.1f}{r['mb']:>10.0f}{device_mb}")
        a, s = measured["asymmetric"], measured["symmetric"]
        ratios = a["params"] / s["params"], a["ms"] / s["ms"], a["mb"] / s["mb"] if s["mb"] else float("nan")
        print(f"x{scale:<5}{'asym/sym':<12}{ratios[0]:>11.2f}{ratios[1]:>10.2f}{ratios[2]:>10.2f}")
        p = PAPER[scale]
        print(f"x{scale:<5}{'paper VI':<12}{p['params_k'] * 1000:>11,}{p['ms']:>10.1f}{'':>10}{p['mb']:>11,}"
              "  (GTX 1080 Ti)")
    if args.json is not None:
        args.json.write_text(json.dumps({
            "device": args.device, "device_name": name, "torch": torch.__version__, "lr_size": size,
            "repeats": repeats, "smoke": args.smoke, "rows": rows,
            "paper": {"source": "CSRCNN paper, Table VI, GTX 1080 Ti, 48x48 LR", "network": "table6",
                      **{f"x{k}": v for k, v in PAPER.items()}},
        }, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
