"""Training speed: ``sr-zoo fit`` with a recipe as a user runs it against a bare PyTorch loop doing the same work.

    python benchmarks/training_speed.py [--recipe experiments/fsrcnn_x3.yaml] [--steps 200] [--repeats 2]
        [--threads N] [--workers N] [--batch-size N] [SR-ZOO FIT ARGUMENTS AFTER --]

The bare loop trains the recipe's network (the same class, initial weights and Adam parameter groups) on a
bank of the recipe's own patches made beforehand and held in memory as Y tensors (LR 16x16 / HR 48x48 at x3):
forward, MSE, zero_grad, backward, step, nothing else. ``sr-zoo fit`` runs in this process with the recipe
and the defaults a user gets (its loader workers, the W&B logger offline without an account, the progress
bar, checkpoints), validation off (samples per second of training); a callback notes the time at each batch.
Both are timed from the start of batch ``--warmup`` (default: one epoch and 10 batches, so that fit's loader
has decoded every image once, as in a long run) to the start of the last, so neither start-up counts.
They alternate ``--repeats`` times in this one run (bare, fit, bare, fit ...) so that both see the machine
in the same minutes; the table gives each rate (median over repeats) and the ratio fit / bare.

Rates depend on the machine and its load; the ratio is what this measures. ``--threads`` sets torch's
threads for both (default: torch's own default, as a user gets it); ``--workers`` overrides the recipe's
loader workers for fit.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml
from lightning.pytorch.callbacks import Callback

ROOT = Path(__file__).resolve().parents[1]
TIMES: list[float] = []  # batch start times of the current fit run (filled by StepClock, read by main)
ENDS: list[float] = []  # and batch end times (after the optimizer step and the module's batch-end hook)


class StepClock(Callback):
    """Notes the wall time at the start of each training batch (after the loader has delivered it) and at its
    end: the time between an end and the next start is the loader's wait and Lightning's hooks."""

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:  # noqa: ANN001
        TIMES.append(time.perf_counter())

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # noqa: ANN001
        ENDS.append(time.perf_counter())


def _rate(times: list[float], warmup: int, batch_size: int) -> float:
    timed = times[warmup:]
    return batch_size * (len(timed) - 1) / (timed[-1] - timed[0])


def _recipe_parts(recipe: Path, batch_size: int | None) -> tuple[torch.nn.Module, dict]:
    config = yaml.safe_load(recipe.read_text())
    module_name, class_name = config["model"]["class_path"].rsplit(".", 1)
    model_class = getattr(importlib.import_module(module_name), class_name)
    data = dict(config["data"])
    data["batch_size"] = batch_size or data.get("batch_size", 16)
    torch.manual_seed(config.get("seed_everything", 0))
    model = model_class(scale=data["scale"], **config["model"].get("init_args", {}))
    return model, data


def _bank(data: dict, batches: int) -> tuple[list[tuple[torch.Tensor, torch.Tensor]], int]:
    """``batches`` batches of the recipe's training patches, as Y tensors in memory (an epoch's, repeated if
    the epoch is shorter: the arithmetic does not depend on which patches), and the batches in an epoch."""
    from sr_zoo.data import SRDataModule
    from sr_zoo.ops.color import rgb_to_y

    datamodule = SRDataModule(**{**data, "val": [], "test": [], "num_workers": 0, "seed": 0})
    datamodule.setup("fit")
    bank, loader = [], datamodule.train_dataloader()
    for batch in loader:
        bank.append((rgb_to_y(batch["lr"]), rgb_to_y(batch["hr"])))
        if len(bank) == batches:
            break
    return [bank[i % len(bank)] for i in range(batches)], len(loader)


def bare_loop(model: torch.nn.Module, bank: list, warmup: int) -> float:
    """Samples per second of the network's training on the bank: forward, MSE, zero_grad, backward, step."""
    net = model.net
    optimizer = model.configure_optimizers()
    times = []
    for lr, hr in bank:
        times.append(time.perf_counter())
        loss = torch.nn.functional.mse_loss(net(lr), hr)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    times.append(time.perf_counter())
    return _rate(times, warmup, bank[0][0].shape[0])


def fit_rate(recipe: Path, steps: int, warmup: int, batch_size: int, extra: list[str]) -> tuple[float, float]:
    """Samples per second of ``sr-zoo fit --config RECIPE`` (validation off), timed by ``StepClock``, and the
    median milliseconds between one batch's end and the next one's start."""
    from sr_zoo.cli import main

    recipe = recipe.resolve()  # before changing folder
    clock = importlib.import_module("training_speed")  # StepClock's module (this file runs as __main__)
    times, ends = clock.TIMES, clock.ENDS
    times.clear()
    ends.clear()
    with tempfile.TemporaryDirectory() as folder:
        cwd = os.getcwd()
        os.chdir(folder)
        try:
            code = main(["fit", "--config", str(recipe), "--data.val", "[]", "--data.test", "[]",
                         "--data.batch_size", str(batch_size), "--trainer.max_epochs", "-1",
                         "--trainer.max_steps", str(steps), "--trainer.callbacks+=training_speed.StepClock", *extra])
        finally:
            os.chdir(cwd)
    if code != 0:
        raise SystemExit(f"sr-zoo fit exited {code}")
    gaps = [1e3 * (start - end) for end, start in zip(ends[warmup:], times[warmup + 1:])]
    return _rate(times, warmup, batch_size), statistics.median(gaps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", type=Path, default=ROOT / "experiments" / "fsrcnn_x3.yaml")
    parser.add_argument("--steps", type=int, default=200, help="timed steps")
    parser.add_argument("--warmup", type=int, default=None, help="steps not timed (default: an epoch + 10)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    args, extra = parser.parse_known_args()
    extra = [a for a in extra if a != "--"]
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.workers is not None:
        extra += ["--data.num_workers", str(args.workers)]
    os.environ.setdefault("SR_ZOO_DATA", str(ROOT.parent / "shared" / "data"))
    sys.path.insert(0, str(Path(__file__).parent))  # StepClock by class path: training_speed.StepClock
    model, data = _recipe_parts(args.recipe, args.batch_size)
    print(f"recipe {args.recipe.name}: batch {data['batch_size']}, torch threads {torch.get_num_threads()}, "
          f"{args.repeats} repeats; making the bank ...", flush=True)
    _, epoch = _bank(data, 1)
    warmup = args.warmup if args.warmup is not None else epoch + 10
    bank, _ = _bank(data, warmup + args.steps)
    print(f"{args.steps} timed steps after {warmup} (an epoch is {epoch} batches)", flush=True)
    bare, fit = [], []
    for _ in range(args.repeats):
        bare.append(bare_loop(_recipe_parts(args.recipe, args.batch_size)[0], bank, warmup))
        rate, gap = fit_rate(args.recipe, warmup + args.steps, warmup, data["batch_size"], extra)
        fit.append(rate)
        print(f"  bare {bare[-1]:7.1f} samples/s   sr-zoo fit {fit[-1]:7.1f} samples/s "
              f"(between batches: {gap:.1f} ms)", flush=True)
    b, f = statistics.median(bare), statistics.median(fit)
    print(f"\n| way | samples/s |\n|---|---|\n| bare PyTorch loop | {b:.1f} |\n| sr-zoo fit | {f:.1f} |\n"
          f"| ratio fit / bare | {f / b:.3f} |")


if __name__ == "__main__":
    main()
