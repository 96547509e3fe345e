"""Relative reproduction of EMTCM's Tables 2 and 6 on a CPU budget (EMTCM paper, Sec. 4.2-4.3).

No GPU is lent to this project, so the papers' absolute numbers are out of reach; their *orderings*
are not. Every model here trains on the same data (T91 with the emtcm preset: 20 versions per image,
x3, batches of 16 LR patches of 16x16, the same seed and so the same batches) for the same CPU
time, with Adam at the papers' rate pair (1e-3 for the body, 1e-4 for the last layer), then is scored
on Set5 and Set14 x3 with the evaluation pipeline. The table puts each row next to its paper figure:

* SRCNN, FSRCNN, EMTCM: Table 2 (all trained on T91): Set5 32.45 < 33.06 < 33.73.
* EMTCM-FD (no cross-entropy, ``beta=0``) and EMTCM-HVS (no SSIM, ``hvs_task=False``): Table 6,
  33.43 and 33.63 against EMTCM's 33.73.
* EMTCM with the cross-entropy summed over pixels (``ce_pixels=sum``): the other reduction of eq. 7.

The budget is CPU seconds of the training process (``time.process_time``, data loading included: no
loader workers), each run in its own process with one thread: with several threads an oversubscribed
machine makes them spin and burn CPU time without progress, which would shorten some runs. ``--jobs``
runs that many in parallel (one per core).
Usage: python benchmarks/relative_reproduction.py [--cpu-seconds 900] [--jobs 2] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("WANDB_MODE", "disabled")

import lightning as L  # noqa: E402
import torch  # noqa: E402
from lightning.pytorch.callbacks import Callback  # noqa: E402

from sr_zoo.data import SRDataModule  # noqa: E402
from sr_zoo.data.eval_sets import BenchmarkDataset  # noqa: E402
from sr_zoo.inference.evaluation import evaluate  # noqa: E402
from sr_zoo.models import create_model  # noqa: E402

SCALE = 3
# name: (zoo model, its arguments, paper's Set5 / Set14 x3 and where they are)
RUNS: dict[str, tuple[str, dict, tuple[float, float] | None, str]] = {
    "srcnn": ("srcnn", {"lr": 1e-3, "last_lr": 1e-4}, (32.45, 29.01), "Table 2"),
    "fsrcnn": ("fsrcnn", {"lr": 1e-3, "deconv_lr": 1e-4}, (33.06, 29.37), "Table 2"),
    "emtcm": ("emtcm", {}, (33.73, 29.90), "Tables 2, 6"),
    "emtcm-fd (no CE)": ("emtcm", {"beta": 0.0}, (33.43, 29.75), "Table 6"),
    "emtcm-hvs (no SSIM)": ("emtcm", {"hvs_task": False}, (33.63, 29.82), "Table 6"),
    "emtcm, CE summed over pixels": ("emtcm", {"ce_pixels": "sum"}, None, "-"),
}


class CPUTimeBudget(Callback):
    """Stops training once this process has used ``seconds`` of CPU time since the fit started."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.start = 0.0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.start = time.process_time()

    def on_train_batch_end(self, trainer: L.Trainer, *args: object) -> None:
        if time.process_time() - self.start >= self.seconds:
            trainer.should_stop = True


def train_and_score(name: str, cpu_seconds: float, data_root: Path, seed: int) -> dict:
    torch.set_num_threads(1)
    model_name, kwargs, paper, table = RUNS[name]
    L.seed_everything(seed, verbose=False)
    model = create_model(model_name, SCALE, **kwargs)
    datamodule = SRDataModule(train=["t91"], val=["set5"], scale=SCALE, recipe="emtcm", batch_size=16, num_workers=0,
                              root=str(data_root), seed=seed)
    budget = CPUTimeBudget(cpu_seconds)
    trainer = L.Trainer(max_epochs=-1, callbacks=[budget], logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                        num_sanity_val_steps=0, accelerator="cpu", devices=1)
    trainer.fit(model, datamodule=datamodule)
    used = time.process_time() - budget.start
    model.eval()
    return {"run": name, "steps": trainer.global_step, "cpu_seconds": round(used), "scores": score(model, data_root),
            "paper": paper, "table": table}


def score(model: torch.nn.Module, data_root: Path) -> dict[str, tuple[float, float]]:
    """Set5 and Set14 x3 PSNR / SSIM with the evaluation pipeline."""
    results = {}
    for folder in ("Set5", "Set14"):
        result = evaluate(model, BenchmarkDataset(data_root / folder, SCALE))
        results[folder] = (round(result.psnr, 2), round(result.ssim, 4))
    return results


def bicubic(data_root: Path) -> dict:
    return {"run": "bicubic", "steps": 0, "cpu_seconds": 0, "scores": score(create_model("bicubic", SCALE), data_root),
            "paper": (30.39, 27.55), "table": "reference bicubic"}


def table(rows: list[dict]) -> str:
    lines = ["| x3, same data and CPU budget | steps | CPU s | Set5 | Set14 | paper Set5 / Set14 (table) |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        s5, s14 = row["scores"]["Set5"], row["scores"]["Set14"]
        paper = "-" if row["paper"] is None else f"{row['paper'][0]:.2f} / {row['paper'][1]:.2f}"
        lines.append(f"| {row['run']} | {row['steps']} | {row['cpu_seconds']} | {s5[0]:.2f} / {s5[1]:.4f} "
                     f"| {s14[0]:.2f} / {s14[1]:.4f} | {paper} ({row['table']}) |")
    return "\n".join(lines)


def orderings(rows: list[dict]) -> list[str]:
    """Each paper ordering, and whether this run's Set5 PSNR keeps it."""
    psnr = {row["run"]: row["scores"]["Set5"][0] for row in rows}
    checks = [("srcnn", "fsrcnn", "Table 2"), ("fsrcnn", "emtcm", "Table 2"),
              ("emtcm-fd (no CE)", "emtcm", "Table 6"), ("emtcm-hvs (no SSIM)", "emtcm", "Table 6"),
              ("emtcm-fd (no CE)", "emtcm-hvs (no SSIM)", "Table 6")]
    out = []
    for low, high, source in checks:
        if low in psnr and high in psnr:
            held = "holds" if psnr[low] < psnr[high] else "does not hold"
            out.append(f"{source}: {low} < {high} on Set5 PSNR {held} here ({psnr[low]:.2f} vs {psnr[high]:.2f})")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-seconds", type=float, default=900.0, help="CPU budget per model")
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--runs", nargs="+", default=list(RUNS), choices=list(RUNS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="runs in parallel, one thread each")
    parser.add_argument("--out", type=Path, default=Path("runs/relative_reproduction.json"))
    args = parser.parse_args()
    for folder in ("T91", "Set5", "Set14"):
        if not (args.data / folder).is_dir():
            parser.error(f"--data {args.data}: no {folder} folder (the real images, see ../shared/data/PROVENANCE.md)")
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, {args.jobs} runs at a time with one thread each; "
          f"{args.cpu_seconds:.0f} CPU s per model", flush=True)
    rows = [bicubic(args.data)]
    context = multiprocessing.get_context("spawn")  # a fresh interpreter per run: no state shared between runs
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=context) as pool:
        futures = {name: pool.submit(train_and_score, name, args.cpu_seconds, args.data, args.seed)
                   for name in args.runs}
        for name in args.runs:
            rows.append(futures[name].result())
            print(json.dumps(rows[-1]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1))
    print(table(rows))
    print("\n".join(orderings(rows)))


if __name__ == "__main__":
    main()
