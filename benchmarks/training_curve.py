"""A training run's curve: every snapshot of a run (``checkpoints/step*.ckpt``, then ``last.ckpt``) scored on
test sets, against the patches it had seen.

    python benchmarks/training_curve.py RUN_DIR [--data DIR ...] [--json FILE]

Scores are ``sr-zoo benchmark``'s (Set5 and Set14 of ``$SR_ZOO_DATA``, default ../shared/data). A curve is
for reading how a run went; the shipped weights are a run's last checkpoint, never the best point of it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path

from sr_zoo.data.eval_sets import BenchmarkDataset
from sr_zoo.inference.evaluation import evaluate
from sr_zoo.models import create_model
from sr_zoo.models._registry import checkpoint_model
from sr_zoo.training.checkpointing import load_checkpoint_file

DATA = Path(os.environ.get("SR_ZOO_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder (its checkpoints/ holds step*.ckpt and last.ckpt)")
    parser.add_argument("--data", type=Path, nargs="+", default=[DATA / "Set5", DATA / "Set14"])
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args(argv)
    folder = args.run / "checkpoints"
    snapshots = sorted(folder.glob("step*.ckpt"), key=lambda p: int(re.sub(r"\D", "", p.stem)))
    snapshots += [folder / "last.ckpt"] if (folder / "last.ckpt").is_file() else []
    rows = []
    print("| step | patches seen | " + " | ".join(d.name for d in args.data) + " |")
    print("|---|---|" + "---|" * len(args.data))
    for path in snapshots:
        saved = load_checkpoint_file(path)
        name, scale = checkpoint_model(saved, path)
        step = int(saved["global_step"])
        batch = int(saved.get("datamodule_hyper_parameters", {}).get("batch_size", 0)) or None
        model = create_model(name, scale, checkpoint=path).eval()
        scores = {d.name: evaluate(model, BenchmarkDataset(d, scale), name) for d in args.data}
        row = {"checkpoint": path.name, "step": step, "patches": step * batch if batch else None,
               **{k: {"psnr": round(r.psnr, 4), "ssim": round(r.ssim, 4)} for k, r in scores.items()}}
        rows.append(row)
        seen = f"{row['patches']:,}" if row["patches"] else "?"
        print(f"| {step:,} | {seen} | " + " | ".join(f"{r.psnr:.2f} / {r.ssim:.4f}" for r in scores.values()) + " |",
              flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps({"run": str(args.run), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
