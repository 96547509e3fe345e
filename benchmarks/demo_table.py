"""What ``sr-zoo fit --model NAME --scale S`` (no recipe: the zoo's 3-minute demo on the bundled photos) does on
this machine, for every model: optimizer steps, wall time, and the demo validation's last PSNR against bicubic.

    python benchmarks/demo_table.py [--models NAME ...] [--json FILE]

Each demo runs as a user runs it (a fresh process in a temporary folder, the environment as it is: the default
W&B logger is offline without an account, so leave ``WANDB_MODE`` unset for the default; the threads, batch and
patch the demo chooses by its measured step). The table is read from the demo's first line (its plan) and its
closing summary. Scales: each paper's headline scale (CSRCNN x8, the x4 GANs and SRSEG, x3 for EMTCM and its
baselines).
"""

from __future__ import annotations

import argparse
import json
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
PLAN = re.compile(r"demo \(batch (\d+) of (\d+)x\d+ patches(?:, about ([\d,]+) steps of [\d.e-]+ s \(measured\))?"
                  r"(?:, (\d+) threads?)?")
STAGE = re.compile(r"  scored at x(\d+): the run ended in its training stage")  # a curriculum still below the scale


def run_demo(name: str, scale: int) -> dict:
    """One demo in a temporary folder: its summary's numbers (or its last lines if it had none)."""
    with tempfile.TemporaryDirectory(prefix=f"demo_{name}_") as folder:
        start = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "sr_zoo", "fit", "--model", name, "--scale", str(scale)],
                              cwd=folder, capture_output=True, text=True)  # the user's environment: W&B as set
        wall = time.monotonic() - start
    summary, scores, stage = SUMMARY.search(done.stdout), SCORES.search(done.stdout), STAGE.search(done.stdout)
    plan = PLAN.search(done.stdout)
    row = {"model": name, "scale": scale, "scored_at": int(stage[1]) if stage else scale, "exit": done.returncode,
           "wall_s": round(wall)}
    if plan:
        row.update(batch=int(plan[1]), patch=int(plan[2]), threads=int(plan[4]) if plan[4] else None,
                   planned_steps=int(plan[3].replace(",", "")) if plan[3] else None)
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
    print("| model | scale (scored at) | batch x patch (threads) | optimizer steps (planned) | fit (wall) | "
          "demo validation: last PSNR / SSIM | bicubic | difference |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.models:
        row = run_demo(name, SCALES[name])
        rows.append(row)
        plan = (f"{row['batch']} x {row['patch']}" + (f" ({row['threads']})" if row.get("threads") else "")
                if "batch" in row else "-")
        planned = f" ({row['planned_steps']:,})" if row.get("planned_steps") else ""
        if "psnr" in row:
            scored = f" (x{row['scored_at']})" if row["scored_at"] != row["scale"] else ""
            fit = f"{row['fit_s'] // 60}m{row['fit_s'] % 60:02d}s"
            print(f"| {name} | x{row['scale']}{scored} | {plan} | {row['steps']:,}{planned} | {fit} "
                  f"({row['wall_s']} s) | {row['psnr']:.2f} / {row['ssim']:.4f} | {row['bicubic']:.2f} | "
                  f"{row['psnr'] - row['bicubic']:+.2f} dB |", flush=True)
        else:
            print(f"| {name} | x{row['scale']} | {plan} | {row.get('steps', '-')} | ({row['wall_s']} s, exit "
                  f"{row['exit']}) | - | - | - |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
