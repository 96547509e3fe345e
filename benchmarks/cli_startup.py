"""How fast ``sr-zoo`` answers: whole-process wall time and peak RSS of ``--help``, ``models``, argument
errors, the bare ``import torch`` / ``import lightning`` they are measured against, and the time to the first
image of ``sr-zoo upscale``.

    python benchmarks/cli_startup.py [--runs 5] [--src DIR] [--json PATH]

Each row runs in a fresh interpreter (``python -m sr_zoo ...``, what the ``sr-zoo`` script runs), its peak
RSS that child's ``ru_maxrss`` (``os.wait4``). The rows are run round-robin, ``--runs`` times each after one
unrecorded warm-up round (so each is measured with a warm file cache), and the table shows the median
and the minimum. ``upscale (first image)`` upscales one 64x64 PNG and is timed from the start of the
process to the moment its output file exists (it is written atomically: a file that exists is complete);
its ``whole process`` row adds the exit. ``--src DIR`` runs the package from ``DIR`` (e.g. ``src/`` of a
``git worktree`` of an older commit) instead of the installed one, for a before/after on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def _commands(work: Path) -> list[tuple[str, list[str], Path | None]]:
    """(row name, argv, output file to wait for or None)."""
    sr_zoo = [sys.executable, "-m", "sr_zoo"]
    image = work / "in" / "photo.png"
    return [
        ("sr-zoo --help", [*sr_zoo, "--help"], None),
        ("sr-zoo models", [*sr_zoo, "models"], None),
        ("sr-zoo upscale --help", [*sr_zoo, "upscale", "--help"], None),
        ("upscale --model nosuch (error)", [*sr_zoo, "upscale", str(image), "-o", str(work / "x"), "--model", "nosuch",
                                            "--scale", "2"], None),
        ("benchmark --model csrcnn --scale 5 (error)", [*sr_zoo, "benchmark", "--model", "csrcnn", "--scale", "5",
                                                        "--data", "set5"], None),
        ("python -c 'import torch'", [sys.executable, "-c", "import torch"], None),
        ("python -c 'import lightning'", [sys.executable, "-c", "import lightning"], None),
        ("upscale fsrcnn x2, 64x64 (first image)", [*sr_zoo, "upscale", str(image), "-o", str(work / "out_fsrcnn"),
                                                    "--model", "fsrcnn", "--scale", "2", "--device", "cpu"],
         work / "out_fsrcnn" / "photo.png"),
        ("upscale bicubic x2, 64x64 (first image)", [*sr_zoo, "upscale", str(image), "-o", str(work / "out_bicubic"),
                                                     "--model", "bicubic", "--scale", "2", "--device", "cpu"],
         work / "out_bicubic" / "photo.png"),
    ]


def _run_once(argv: list[str], output: Path | None, env: dict[str, str]) -> dict[str, float]:
    """Wall time, peak RSS (MiB) and exit status of one process; with ``output``, the time until it exists."""
    if output is not None and output.exists():
        output.unlink()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        first = None
        while True:  # os.wait4, not Popen.wait: it returns this child's own rusage
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG if output is not None else 0)
            if pid:
                break
            if first is None and output.exists():
                first = time.perf_counter() - start
            time.sleep(0.005)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        if output is not None and first is None and output.exists():
            first = wall  # written in the last few milliseconds before the exit
        if output is not None and first is None:
            err.seek(0)
            raise SystemExit(f"{' '.join(argv)}: wrote no {output} (exit {proc.returncode}): "
                             f"{err.read().decode(errors='replace')[-500:]}")
    result = {"wall_s": wall, "rss_mib": usage.ru_maxrss / 1024, "rc": proc.returncode}
    if first is not None:
        result["first_image_s"] = first
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per row (default 5)")
    parser.add_argument("--src", type=Path, default=None, help="run the sr_zoo package found in DIR (PYTHONPATH)")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw runs as JSON")
    args = parser.parse_args()
    env = {**os.environ, "WANDB_MODE": "disabled", "SR_ZOO_OFFLINE": "1"}
    if args.src is not None:
        env["PYTHONPATH"] = str(args.src.resolve()) + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "in").mkdir()
        pixels = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(work / "in" / "photo.png")
        rows = _commands(work)
        runs: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in rows}
        for round_ in range(args.runs + 1):  # round 0 warms the file cache and is not recorded
            for name, argv, output in rows:
                result = _run_once(argv, output, env)
                if round_:
                    runs[name].append(result)
    where = f"package from {args.src}" if args.src else "installed package"
    print(f"sr-zoo start-up, {args.runs} runs per row after a warm-up round ({where}; python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs)")
    header = f"{'command':44} {'exit':>4} {'median s':>9} {'min s':>7} {'median MiB':>11} {'min MiB':>8}"
    print(header)
    print("-" * len(header))
    for name, _, output in rows:
        got = runs[name]
        codes = sorted({int(r["rc"]) for r in got})
        key = "first_image_s" if output is not None else "wall_s"
        times = [r[key] for r in got]
        rss = [r["rss_mib"] for r in got]
        print(f"{name:44} {','.join(map(str, codes)):>4} {statistics.median(times):9.2f} {min(times):7.2f} "
              f"{statistics.median(rss):11.0f} {min(rss):8.0f}")
        if output is not None:
            walls = [r["wall_s"] for r in got]
            print(f"{'  ... whole process':44} {'':>4} {statistics.median(walls):9.2f} {min(walls):7.2f}")
    if args.json is not None:
        args.json.write_text(json.dumps({"runs": runs, "src": str(args.src) if args.src else None}, indent=1))


if __name__ == "__main__":
    main()
