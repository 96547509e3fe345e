"""Training speed: ``sr-zoo fit`` with a recipe as a user runs it against a bare PyTorch loop doing the same work.

    python benchmarks/training_speed.py [--recipe experiments/fsrcnn_x3.yaml] [--block 50] [--blocks 8]
        [--threads N] [--workers N] [--batch-size N] [--bank-dir DIR] [--profile N] [SR-ZOO FIT ARGUMENTS AFTER --]

``sr-zoo fit`` runs in this process with the recipe and the defaults a user gets (its data path, the W&B logger
offline without an account, the progress bar, checkpoints), validation off. After a warm-up (its first epoch and
ten batches: the patch bank made, every cache filled), fit is paused every ``--block`` batches, and while it
waits two bare loops train ``--block`` steps each: the recipe's network (same class, initial weights and Adam
parameter groups, a copy of its own) on batches of the recipe's patches made beforehand and held in memory as
contiguous Y tensors (LR 16x16 / HR 48x48 at x3): forward, the module's loss (``pixel_loss``: MSE, EMTCM's
multi-task loss), zero_grad, backward, step, nothing else; once
channels-last (the layout fit trains the pixel-loss models in on a CPU), once in PyTorch's default NCHW. A fit
block is timed from the end of one pause to the start of the next: its batches, the loader's waits, every hook.

The blocks last seconds and alternate, so neighbours see the machine in the same state; rates measured in
separate runs drifted by a quarter on this machine, the ratio of neighbouring blocks does not. The table gives
each way's samples per second (median over blocks) and the median ratio of a fit block to the channels-last
bare block before it, with its range. ``--threads`` sets torch's threads for both (default: torch's own, as a
user gets it); ``--workers`` overrides the recipe's loader workers for fit. ``--profile N`` also runs cProfile
over fit's timed blocks (not the bare loops) and prints the N functions with the most own time, each as a share
of the profiled time: where fit's time beyond the network goes (cProfile slows Python code, not the kernels, so
the shares of Python work are upper bounds; the rates printed come from the same, profiled, run).
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import importlib
import os
import pstats
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml
from lightning.pytorch.callbacks import Callback

ROOT = Path(__file__).resolve().parents[1]
TIMES: list[float] = []  # batch start times of the current fit run (filled by StepClock, read by fit_rate)
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


def recipe_parts(recipe: Path, batch_size: int | None) -> tuple[torch.nn.Module, dict]:
    """A recipe's model (built from its seed, as fit builds it) and its data arguments."""
    config = yaml.safe_load(recipe.read_text())
    module_name, class_name = config["model"]["class_path"].rsplit(".", 1)
    model_class = getattr(importlib.import_module(module_name), class_name)
    data = dict(config["data"])
    data["batch_size"] = batch_size or data.get("batch_size", 16)
    torch.manual_seed(config.get("seed_everything", 0))
    model = model_class(scale=data["scale"], **config["model"].get("init_args", {}))
    return model, data


def patch_batches(data: dict, batches: int) -> tuple[list[tuple[torch.Tensor, torch.Tensor]], int]:
    """``batches`` batches of the recipe's training patches as contiguous Y tensors in memory (an epoch's,
    repeated if the epoch is shorter: the arithmetic does not depend on which patches), and the batches in an
    epoch."""
    from sr_zoo.data import SRDataModule
    from sr_zoo.ops.color import rgb_to_y

    # The Y bank fit serves a Y model (bank_channels=1); a recipe without a bank serves RGB patches, made Y here.
    datamodule = SRDataModule(**{**data, "val": [], "test": [], "num_workers": 0, "seed": 0, "bank_channels": 1})
    datamodule.setup("fit")
    bank, loader = [], datamodule.train_dataloader()
    for batch in loader:
        lr, hr = (t if t.shape[1] == 1 else rgb_to_y(t) for t in (batch["lr"], batch["hr"]))
        bank.append((lr.contiguous(), hr.contiguous()))
        if len(bank) == batches:
            break
    return [bank[i % len(bank)] for i in range(batches)], len(loader)


@dataclass
class BareLoop:
    """A bare training loop: a model's network in ``memory_format`` and its optimizer, over ``batches``."""

    model: torch.nn.Module
    batches: list[tuple[torch.Tensor, torch.Tensor]]
    memory_format: torch.memory_format = torch.contiguous_format
    optimizer: torch.optim.Optimizer = field(init=False)

    def __post_init__(self) -> None:
        self.net = self.model.net.to(memory_format=self.memory_format)
        self.optimizer = self.model.configure_optimizers()

    def run(self, steps: int) -> float:
        """Samples per second of ``steps`` steps: forward, the module's loss, zero_grad, backward, step."""
        start = time.perf_counter()
        for i in range(steps):
            lr, hr = self.batches[i % len(self.batches)]
            loss = self.model.pixel_loss(self.net(lr), hr)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
        return steps * self.batches[0][0].shape[0] / (time.perf_counter() - start)


def bare_loop(model: torch.nn.Module, bank: list, warmup: int,
              memory_format: torch.memory_format = torch.contiguous_format) -> float:
    """Samples per second of a bare loop over the whole bank after its first ``warmup`` steps."""
    loop = BareLoop(model, bank, memory_format)
    loop.run(warmup)
    return loop.run(len(bank) - warmup)


@dataclass
class Plan:
    """What ``Interleave`` does, set by ``interleaved`` (the callback is named to fit by its class path)."""

    warmup: int = 0
    block: int = 50
    blocks: int = 8
    batch_size: int = 64
    ways: dict[str, BareLoop] = field(default_factory=dict)
    bare: dict[str, list[float]] = field(default_factory=dict)
    fit: list[float] = field(default_factory=list)
    resumed: float | None = None
    profiler: cProfile.Profile | None = None  # on during fit's timed blocks (--profile)


PLAN = Plan()


class Interleave(Callback):
    """Pauses fit every ``PLAN.block`` batches after the warm-up and runs a block of each bare loop meanwhile."""

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:  # noqa: ANN001
        done = trainer.global_step - PLAN.warmup
        if done < 0 or done % PLAN.block:
            return
        if PLAN.profiler is not None:
            PLAN.profiler.disable()
        if PLAN.resumed is not None:
            PLAN.fit.append(PLAN.block * PLAN.batch_size / (time.perf_counter() - PLAN.resumed))
        if len(PLAN.fit) == PLAN.blocks:
            return
        for name, way in PLAN.ways.items():
            PLAN.bare.setdefault(name, []).append(way.run(PLAN.block))
        PLAN.resumed = time.perf_counter()
        if PLAN.profiler is not None:
            PLAN.profiler.enable()


def _fit(recipe: Path, steps: int, batch_size: int, extra: list[str]) -> None:
    """``sr-zoo fit --config RECIPE`` for ``steps`` batches, validation off, in a temporary folder."""
    from sr_zoo.cli import main

    recipe = recipe.resolve()  # before changing folder
    with tempfile.TemporaryDirectory() as folder:
        cwd = os.getcwd()
        os.chdir(folder)
        try:
            code = main(["fit", "--config", str(recipe), "--data.val", "[]", "--data.test", "[]",
                         "--data.batch_size", str(batch_size), "--trainer.max_epochs", "-1",
                         "--trainer.max_steps", str(steps), *extra])
        finally:
            os.chdir(cwd)
    if code != 0:
        raise SystemExit(f"sr-zoo fit exited {code}")


def fit_rate(recipe: Path, steps: int, warmup: int, batch_size: int, extra: list[str]) -> tuple[float, float]:
    """Samples per second of ``sr-zoo fit --config RECIPE`` after ``warmup`` batches, timed by ``StepClock``, and
    the median milliseconds between one batch's end and the next one's start."""
    clock = importlib.import_module("training_speed")  # StepClock's module (this file runs as __main__)
    clock.TIMES.clear()
    clock.ENDS.clear()
    _fit(recipe, steps, batch_size, [*extra, "--trainer.callbacks+=training_speed.StepClock"])
    times, ends = clock.TIMES, clock.ENDS
    gaps = [1e3 * (start - end) for end, start in zip(ends[warmup:], times[warmup + 1:])]
    return _rate(times, warmup, batch_size), statistics.median(gaps)


def interleaved(recipe: Path, data: dict, warmup: int, block: int, blocks: int, extra: list[str],
                profile: bool = False) -> tuple[Plan, float]:
    """Fit with bare-loop blocks between its own (``Interleave``); the plan with every block's rate (and fit's
    cProfile if ``profile``), and the median milliseconds between fit's batches."""
    module = importlib.import_module("training_speed")  # the module whose PLAN the callback reads
    batches, _ = patch_batches(data, block)
    model = recipe_parts(recipe, data["batch_size"])[0]
    module.PLAN = Plan(warmup, block, blocks, data["batch_size"], ways={
        "channels-last": BareLoop(copy.deepcopy(model), batches, torch.channels_last),
        "NCHW": BareLoop(copy.deepcopy(model), batches),
    }, profiler=cProfile.Profile() if profile else None)
    for way in module.PLAN.ways.values():  # their first steps (allocation, oneDNN's kernel choice) not timed
        way.run(3)
    module.TIMES.clear()
    module.ENDS.clear()
    _fit(recipe, warmup + block * blocks + 1, data["batch_size"],
         [*extra, "--trainer.callbacks+=training_speed.StepClock", "--trainer.callbacks+=training_speed.Interleave"])
    gaps = [1e3 * (start - end) for end, start in zip(module.ENDS[warmup:], module.TIMES[warmup + 1:])]
    return module.PLAN, statistics.median(gaps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", type=Path, default=ROOT / "experiments" / "fsrcnn_x3.yaml")
    parser.add_argument("--block", type=int, default=50, help="steps in a block")
    parser.add_argument("--blocks", type=int, default=8, help="timed blocks of each way")
    parser.add_argument("--warmup", type=int, default=None, help="fit batches before the first block "
                        "(default: an epoch + 10)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--bank-dir", default=None, help="where fit keeps its patch bank (default: DATA/banks)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="profile fit's timed blocks and print the N functions with the most own time")
    args, extra = parser.parse_known_args()
    extra = [a for a in extra if a != "--"]
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.workers is not None:
        extra += ["--data.num_workers", str(args.workers)]
    if args.bank_dir:
        extra += ["--data.bank_dir", args.bank_dir]
    os.environ.setdefault("SR_ZOO_DATA", str(ROOT.parent / "shared" / "data"))
    sys.path.insert(0, str(Path(__file__).parent))  # the callbacks by class path: training_speed.StepClock
    _, data = recipe_parts(args.recipe, args.batch_size)
    data["bank_dir"] = args.bank_dir
    _, epoch = patch_batches(data, 1)
    warmup = args.warmup if args.warmup is not None else epoch + 10
    print(f"recipe {args.recipe.name}: batch {data['batch_size']}, torch threads {torch.get_num_threads()}; "
          f"{args.blocks} blocks of {args.block} steps per way after {warmup} fit batches", flush=True)
    plan, gap = interleaved(args.recipe, data, warmup, args.block, args.blocks, extra, profile=args.profile > 0)
    ratios = [f / b for f, b in zip(plan.fit, plan.bare["channels-last"])]
    for i, ratio in enumerate(ratios):
        print(f"  block {i + 1}: bare NCHW {plan.bare['NCHW'][i]:7.1f}  bare channels-last "
              f"{plan.bare['channels-last'][i]:7.1f}  sr-zoo fit {plan.fit[i]:7.1f} samples/s  ratio {ratio:.3f}")
    median, spread = statistics.median, f"blocks {min(ratios):.3f}-{max(ratios):.3f}"
    print(f"\n| way | samples/s |\n|---|---|\n| bare PyTorch loop (NCHW) | {median(plan.bare['NCHW']):.1f} |\n"
          f"| bare PyTorch loop (channels-last) | {median(plan.bare['channels-last']):.1f} |\n"
          f"| sr-zoo fit | {median(plan.fit):.1f} (between batches: {gap:.1f} ms) |\n"
          f"| ratio fit / channels-last bare loop | {median(ratios):.3f} ({spread}) |")
    if plan.profiler is not None:
        print_profile(plan.profiler, args.profile)


def print_profile(profiler: cProfile.Profile, top: int) -> None:
    """The ``top`` functions by own time, as shares of all the profiled time, with their calls per fit step."""
    stats = pstats.Stats(profiler)
    rows = stats.stats  # {(file, line, function): (primitive calls, calls, own time, cumulative time, callers)}
    total = sum(row[2] for row in rows.values())
    steps = next((row[1] for (_, _, name), row in rows.items() if name == "training_step"), 1)
    print(f"\nfit's timed blocks under cProfile: {total:.2f} s in {steps} steps; own time by function:\n"
          "| share | ms/step | calls/step | function |\n|---|---|---|---|")
    for (file, line, name), row in sorted(rows.items(), key=lambda item: -item[1][2])[:top]:
        where = f"{Path(file).name}:{line}" if line else file
        share, per_step, calls = 100 * row[2] / total, 1e3 * row[2] / steps, row[1] / steps
        print(f"| {share:5.1f}% | {per_step:.3f} | {calls:.1f} | {name} ({where}) |")


if __name__ == "__main__":
    main()
