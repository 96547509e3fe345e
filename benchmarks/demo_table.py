"""What ``sr-zoo fit --model NAME --scale S`` (no recipe: the zoo's 3-minute demo on the bundled photos) does on
this machine, for every model: optimizer steps, wall time, and the demo validation's last PSNR against bicubic.

    python benchmarks/demo_table.py [--models NAME ...] [--json FILE]

Each demo runs as a user runs it (a fresh process, the default W&B logger offline without an account, loader
workers on), in a temporary folder; the table is read from its closing summary. Scales: each paper's headline
scale (CSRCNN x8, the x4 GANs and SRSEG, x3 for EMTCM and its baselines).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCALES = {"bicubic": 3, "csrcnn": 8, "emtcm": 3, "fsrcnn": 3, "msfmgan": 4, "srcnn": 3, "srgan": 4, "srresnet": 4,
          "srseg": 4}
SUMMARY = re.compile(r"fit done: \S+ x\d+, (\d+) epoch\(s\), ([\d,]+) optimizer steps in (\d+)m(\d+)s")
SCORES = re.compile(r"  (\S+): best [\d.]+ / [\d.]+ \(epoch \d+\), last ([\d.]+) / ([\d.]+); bicubic ([\d.]+) / [\d.]+")
STAGE = re.compile(r"  scored at x(\d+): the run ended in its training stage")  # a curriculum still below the scale


def run_demo(name: str, scale: int) -> dict:
    """One demo in a temporary folder: its summary's numbers (or its last lines if it had none)."""
    with tempfile.TemporaryDirectory(prefix=f"demo_{name}_") as folder:
        start = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "sr_zoo", "fit", "--model", name, "--scale", str(scale)],
                              cwd=folder, capture_output=True, text=True, env={**os.environ, "WANDB_MODE": "offline"})
        wall = time.monotonic() - start
    summary, scores, stage = SUMMARY.search(done.stdout), SCORES.search(done.stdout), STAGE.search(done.stdout)
    row = {"model": name, "scale": scale, "scored_at": int(stage[1]) if stage else scale, "exit": done.returncode,
           "wall_s": round(wall)}
    if summary:
        row.update(epochs=int(summary[1]), steps=int(summary[2].replace(",", "")),
                   fit_s=int(summary[3]) * 60 + int(summary[4]))
    if scores:
        row.update(val_set=scores[1], psnr=float(scores[2]), ssim=float(scores[3]), bicubic=float(scores[4]))
    if not summary:
        row["tail"] = (done.stdout + done.stderr)[-600:]
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(SCALES), choices=list(SCALES))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    rows = []
    print("| model | scale (scored at) | optimizer steps | fit (wall) | demo validation: last PSNR / SSIM | bicubic | "
          "difference |")
    print("|---|---|---|---|---|---|---|")
    for name in args.models:
        row = run_demo(name, SCALES[name])
        rows.append(row)
        if "psnr" in row:
            scored = f" (x{row['scored_at']})" if row["scored_at"] != row["scale"] else ""
            fit = f"{row['fit_s'] // 60}m{row['fit_s'] % 60:02d}s"
            print(f"| {name} | x{row['scale']}{scored} | {row['steps']:,} | {fit} ({row['wall_s']} s) | "
                  f"{row['psnr']:.2f} / {row['ssim']:.4f} | {row['bicubic']:.2f} | "
                  f"{row['psnr'] - row['bicubic']:+.2f} dB |", flush=True)
        else:
            print(f"| {name} | x{row['scale']} | {row.get('steps', '-')} | ({row['wall_s']} s, exit {row['exit']}) "
                  f"| - | - | - |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
