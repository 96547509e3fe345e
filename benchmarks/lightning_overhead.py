"""Lightning's training overhead: the same steps in a bare PyTorch loop and in ``Trainer.fit`` as ``sr-zoo fit``
configures it, per-step times side by side, the ratio Trainer / bare per model.

    python benchmarks/lightning_overhead.py [--steps 60] [--repeats 3] [--models fsrcnn_x3 csrcnn_x2 ...]
        [--variants plain no_ckpt cli no_pbar no_pbar_values] [--threads 1] [--device cpu|cuda] [--sizes small|recipe]
        [--pairing steps|runs] [--clock cpu|wall] [--json PATH] [--smoke] [--profile cli]

Both ways train the same module (``create_model`` under the same seed: the same initial weights) on the same
in-memory random patches, served by the same loader (an ``SRDataModule`` whose training set is in memory:
its resumable sampler, collate and data-position bookkeeping), with the module's own optimizers
(``configure_optimizers``). The bare loop is the module's training step in plain PyTorch: ``training_step``
called outside a Trainer (its ``self.log`` calls return at once), zero_grad, backward, step; for the GAN the
discriminator and generator updates of ``GANModule.training_step`` written out. ``same work`` in the table is
the largest difference of any weight between the bare loop and the ``cli`` run after the same batches (first
repeat): 0 when both did the same arithmetic. The Trainer variants, each with the model's own callbacks
(its schedules):

    plain    Trainer without logger, checkpoints or progress bar (the loop and the module's ``self.log``)
    no_ckpt  the CLI's defaults (``sr_zoo.cli.lightning.trainer_defaults``: W&B logger, interrupt checkpoint,
             run summary; progress bar) without the ``ModelCheckpoint``
    cli      the CLI's defaults as they are
    no_pbar  (on request) the CLI's defaults without the progress bar
    no_pbar_values  (on request) the CLI's defaults, the module logging nothing to the progress bar

A step is timed from the start of one batch to the start of the next (at ``on_train_batch_start``, after the
fetch), so it holds every per-batch cost, the hooks after a batch included, and none of fit's start-up; the
first ``--warmup`` batches are not timed. ``--pairing steps`` (the CPU's default) interleaves steps: before
each Trainer batch a bare batch of a twin model runs in the same process, timed on its own, so that both see
the machine in the same second (a shared machine's load changes by tens of percent within a minute); a run's
figure is its median step, the ratio the median over repeats of each run's Trainer / bare. ``--pairing runs``
(a GPU's default, where per-step timing would synchronize the device) interleaves whole runs (bare, plain,
no_ckpt, cli, the order rotated each repeat), timed at both ends only, each against the median bare run.
On the CPU the clock is the process's CPU time (``--clock cpu``), which other programs disturb less.
W&B runs with ``WANDB_MODE=disabled`` unless the environment sets it (``offline`` writes a run).

Sizes: ``small`` (the CPU's default) trains the papers' networks on small batches and patches (tens to a few
hundred ms a step on one thread); ``recipe`` (a GPU's default) on the recipes' batch and patch sizes. The GAN
is the MSFM GAN's adversarial stage without its VGG16 term (nothing is downloaded). ``--smoke``: toy networks
and sizes, a few steps, one repeat (that everything runs). ``--profile VARIANT``: instead of the table, a
cProfile of one such run's timed batches per model, the functions taking the most time per batch.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import math
import os
import pstats
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from torch import Tensor
from torch.utils.data import Dataset

os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("SR_ZOO_OFFLINE", "1")

import lightning as L  # noqa: E402
from _common import sync  # noqa: E402
from lightning.pytorch.callbacks import Callback, ModelCheckpoint  # noqa: E402

from sr_zoo.cli.lightning import finish_trainer, trainer_defaults  # noqa: E402
from sr_zoo.data import SRDataModule  # noqa: E402
from sr_zoo.data.sampling import SampleKey  # noqa: E402
from sr_zoo.models import GANModule, create_model  # noqa: E402

VARIANTS = ("plain", "no_ckpt", "cli")
# On request (--variants): the CLI's defaults without the progress bar; and with the module logging nothing
# to the progress bar (Lightning reads each progress-bar value to the host after every batch: on a GPU a wait
# for the batch's work, whatever the bar's refresh rate).
EXTRA_VARIANTS = ("no_pbar", "no_pbar_values")


@dataclass(frozen=True)
class Case:
    """A model and the batch it trains on: ``(batch, LR patch side)`` by size set."""

    model: str
    scale: int
    sizes: dict[str, tuple[int, int]]
    kwargs: dict[str, Any] = field(default_factory=dict)
    size_kwargs: dict[str, dict[str, Any]] = field(default_factory=dict)  # e.g. smaller networks for --smoke


CASES = {
    # FSRCNN and EMTCM: the emtcm data recipe's 16x16 LR patches; batch 64 and 16 as their recipes.
    "fsrcnn_x3": Case("fsrcnn", 3, {"small": (16, 16), "recipe": (64, 16)},
                      size_kwargs={"smoke": {"d": 8, "s": 4, "m": 1}}),
    "emtcm_x3": Case("emtcm", 3, {"small": (4, 16), "recipe": (16, 16)}),
    # CSRCNN x2 as experiments/csrcnn_x2.yaml builds it (one level: no curriculum); 32 LR patches of 32x32.
    "csrcnn_x2": Case("csrcnn", 2, {"small": (2, 16), "recipe": (32, 32)},
                      {"stage_epochs": [], "l1_epochs": 800, "loss_period": 10},
                      size_kwargs={"smoke": {"blocks_per_level": 1}}),
    # The MSFM GAN's adversarial stage (D step + G step per batch), without VGG16 (perceptual_weight 0): 32x32
    # HR patches on the CPU, the paper's 128x128 (batch 128) on a GPU.
    "msfmgan_x4": Case("msfmgan", 4, {"small": (2, 8), "recipe": (128, 32)}, {"perceptual_weight": 0.0},
                       size_kwargs={"smoke": {"widths": [4, 8, 8], "d_widths": [4, 8, 8, 8]}}),
}
SMOKE_SIZE = (2, 8)


# ---------------------------------------------------------------------------------------------- data
class MemoryPatches(Dataset):
    """Random LR/HR patch pairs held in memory, served as ``PatchDataset`` serves them (one item per
    ``SampleKey``, with its place in the data stream), ``length`` items per epoch."""

    def __init__(self, lr: Tensor, hr: Tensor, length: int) -> None:
        self.lr, self.hr, self.length = lr, hr, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key: SampleKey) -> dict[str, Tensor]:
        i = key.index % len(self.lr)
        return {"lr": self.lr[i : i + 1], "hr": self.hr[i : i + 1],
                "position": (key.epoch, key.ordinal + 1, key.epoch_items)}


class MemoryDataModule(SRDataModule):
    """``SRDataModule`` (loader, sampler, data position, hooks) over ``patches`` instead of image files; no
    validation sets."""

    patches: MemoryPatches

    def _train_dataset(self, sources: list[str]) -> MemoryPatches:  # type: ignore[override]
        return self.patches


def make_data(case: Case, batch: int, lr_side: int, batches: int, pool: tuple[Tensor, Tensor]) -> MemoryDataModule:
    data = MemoryDataModule(train=["memory"], val=[], scale=case.scale, patch_size=lr_side * case.scale,
                            batch_size=batch, num_workers=0, seed=0, download=False)
    data.patches = MemoryPatches(*pool, length=batches * batch)
    return data


def make_pool(case: Case, batch: int, lr_side: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    """A few batches' worth of distinct random patches (items repeat after that)."""
    n = min(4 * batch, 256)
    g = torch.Generator().manual_seed(seed)
    hr_side = lr_side * case.scale
    return torch.rand(n, 3, lr_side, lr_side, generator=g), torch.rand(n, 3, hr_side, hr_side, generator=g)


def build(case: Case, sizes: str) -> L.LightningModule:
    torch.manual_seed(0)
    return create_model(case.model, case.scale, **{**case.kwargs, **case.size_kwargs.get(sizes, {})})


# ---------------------------------------------------------------------------------------------- timing
clock: Callable[[], float] = time.perf_counter  # main() sets it: time.process_time on the CPU


def per_step(times: list[float], device: torch.device) -> float:
    """Seconds per step from the start times of the timed batches: on a GPU (timed only at both ends, so that
    nothing waits for the GPU in between) the mean; on the CPU the median step, which ignores the steps
    another program on the machine interrupted."""
    if device.type == "cuda":
        return (times[-1] - times[0]) / (len(times) - 1)
    return statistics.median(b - a for a, b in zip(times, times[1:]))


class StepTimer(Callback):
    """The start times of batches ``first`` to ``last`` (after each batch was fetched; on a GPU only of both
    ends, after a synchronization)."""

    def __init__(self, first: int, last: int, profiler: cProfile.Profile | None = None) -> None:
        self.first, self.last, self.batch, self.times = first, last, 0, []
        self.profiler = profiler  # profiles the timed batches

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        if _timed(self.batch, self.first, self.last, pl_module.device):
            self.times.append(clock())
            if self.profiler is not None and self.batch in (self.first, self.last):
                self.profiler.enable() if self.batch == self.first else self.profiler.disable()
        self.batch += 1


def _timed(batch: int, first: int, last: int, device: torch.device) -> bool:
    """Whether the start of ``batch`` is timed (a GPU is synchronized first)."""
    if batch in (first, last):
        sync(device)
        return True
    return first < batch < last and device.type != "cuda"


# ---------------------------------------------------------------------------------------------- bare loop
def _requires_grad_only(trained: list[Tensor], others: list[Tensor]) -> None:
    """What ``toggle_optimizer`` does: the other optimizer's parameters get no gradient."""
    for p in others:
        p.requires_grad_(False)
    for p in trained:
        p.requires_grad_(True)


def bare_step_fn(model: L.LightningModule) -> Callable[[dict[str, Tensor], int], None]:
    """One training batch in plain PyTorch: the work of ``model.training_step`` under the Trainer."""
    configured = model.configure_optimizers()
    if isinstance(model, GANModule):
        (opt_g, opt_d), schedulers = configured if isinstance(configured, tuple) else (configured, [])
        g_params = [p for group in opt_g.param_groups for p in group["params"]]
        d_params = [p for group in opt_d.param_groups for p in group["params"]]
        d_steps = model.hparams.d_steps
        if model.current_stage != "adversarial":
            raise SystemExit(f"{model.model_name}: the bare GAN loop writes out the adversarial stage only")

        def gan_step(batch: dict[str, Tensor], batch_idx: int) -> None:
            lr, hr = batch["lr"], batch["hr"]
            sr = model.generate(lr)
            for _ in range(d_steps):
                _requires_grad_only(d_params, g_params)
                real_logits, fake_logits = model.discriminator(hr), model.discriminator(sr.detach())
                loss_d = model.adversarial_loss.discriminator(real_logits, fake_logits)
                opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                opt_d.step()
                _requires_grad_only(g_params + d_params, [])
                with torch.no_grad():  # the values the module logs
                    torch.sigmoid(real_logits.float()).mean(), torch.sigmoid(fake_logits.float()).mean()
            _requires_grad_only(g_params, d_params)
            terms = model.content_losses(sr, batch)
            weight = model.loss_weights(model.current_stage).get("adversarial")
            if weight:
                terms["adversarial"] = weight * model.adversarial_loss.generator(model.discriminator(sr))
            loss = sum(terms.values())
            opt_g.zero_grad(set_to_none=True)
            loss.backward()
            opt_g.step()
            _requires_grad_only(g_params + d_params, [])
            for scheduler in schedulers:
                scheduler.step()

        return gan_step

    optimizer = configured

    def step(batch: dict[str, Tensor], batch_idx: int) -> None:
        out = model.training_step(batch, batch_idx)
        loss = out["loss"] if isinstance(out, dict) else out
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


class BareLoop:
    """``model`` trained in plain PyTorch on its own loader over ``pool``: ``step(i)`` fetches batch ``i``,
    drops its data position, moves it to ``device`` and trains on it."""

    def __init__(self, case: Case, size: tuple[int, int], pool: tuple[Tensor, Tensor], batches: int,
                 device: torch.device, sizes: str) -> None:
        self.model = build(case, sizes).to(device).train()
        if hasattr(self.model, "training_memory_format"):  # the layout fit trains it in (PixelLossModule.setup)
            self.model.net.to(memory_format=self.model.training_memory_format(device))
        data = make_data(case, *size, batches + 1, pool)
        data.setup("fit")
        self.train = bare_step_fn(self.model)
        self.loader: Iterator = iter(data.train_dataloader())
        self.device = device

    def fetch(self) -> dict[str, Tensor]:
        batch = next(self.loader)
        batch.pop("position")
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def step(self, batch: dict[str, Tensor], i: int) -> None:
        with warnings.catch_warnings():  # training_step's self.log without a Trainer: returns at once
            warnings.filterwarnings("ignore", message=".*self.trainer. reference is not registered")
            self.train(batch, i)


def run_bare(case: Case, size: tuple[int, int], pool: tuple[Tensor, Tensor], batches: int, warmup: int,
             device: torch.device, sizes: str) -> tuple[float, dict[str, Tensor]]:
    bare = BareLoop(case, size, pool, batches, device, sizes)
    times = []
    for i in range(batches):
        batch = bare.fetch()
        if _timed(i, warmup, batches - 1, device):
            times.append(clock())
        bare.step(batch, i)
    sync(device)
    return per_step(times, device), _weights(bare.model)


def _weights(model: torch.nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


class PairedTimer(Callback):
    """Steps interleaved: before each Trainer batch, one batch of ``bare`` (fetch and step), timed on its own;
    the Trainer's step is the time from the end of one bare batch to the start of the next Trainer batch
    (its hooks, logging, the next fetch). Both see the machine in the same second."""

    def __init__(self, bare: BareLoop, first: int) -> None:
        self.bare, self.first, self.batch = bare, first, 0
        self.trainer_times: list[float] = []
        self.bare_times: list[float] = []
        self._end: float | None = None

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        sync(pl_module.device)
        start = clock()
        if self._end is not None and self.batch > self.first:
            self.trainer_times.append(start - self._end)
        self.bare.step(self.bare.fetch(), self.batch)
        sync(pl_module.device)
        self._end = clock()
        if self.batch >= self.first:
            self.bare_times.append(self._end - start)
        self.batch += 1


# ---------------------------------------------------------------------------------------------- Trainer
def trainer_args(variant: str) -> dict[str, Any]:
    if variant == "plain":
        return {"logger": False, "enable_checkpointing": False, "enable_progress_bar": False, "callbacks": []}
    defaults = trainer_defaults(lazy_logger=False)
    if variant == "no_ckpt":
        defaults["callbacks"] = [c for c in defaults["callbacks"] if not isinstance(c, ModelCheckpoint)]
        defaults["enable_checkpointing"] = False
    if variant == "no_pbar":
        defaults["enable_progress_bar"] = False
    return defaults


def _without_pbar_values(model: L.LightningModule) -> None:
    """``model.log`` with ``prog_bar=False`` whatever the caller asks."""
    log = model.log

    def without(*args: Any, **kwargs: Any) -> None:
        log(*args, **{**kwargs, "prog_bar": False})

    model.log = without  # type: ignore[method-assign]


def fit(case: Case, size: tuple[int, int], pool: tuple[Tensor, Tensor], batches: int, device: torch.device,
        variant: str, sizes: str, timer: StepTimer | PairedTimer) -> dict[str, Tensor]:
    """``Trainer.fit`` of a new model for ``batches`` batches, configured as ``variant``, ``timer`` first."""
    model = build(case, sizes)
    if variant == "no_pbar_values":
        _without_pbar_values(model)
    data = make_data(case, *size, batches + 1, pool)
    args = trainer_args(variant)
    args["callbacks"] = [timer, *args["callbacks"]]
    max_steps = model.optimizer_steps(batches) if isinstance(model, GANModule) else batches
    trainer = L.Trainer(accelerator=device.type, devices=1, max_steps=max_steps, limit_val_batches=0,
                        num_sanity_val_steps=0, **args)
    finish_trainer(trainer)
    trainer.fit(model, datamodule=data)
    if timer.batch != batches:
        raise SystemExit(f"{case.model}: the Trainer ran {timer.batch} batches, not {batches}")
    return _weights(model)


def run_trainer(case: Case, size: tuple[int, int], pool: tuple[Tensor, Tensor], batches: int, warmup: int,
                device: torch.device, variant: str, sizes: str,
                profiler: cProfile.Profile | None = None) -> tuple[float, dict[str, Tensor]]:
    timer = StepTimer(warmup, batches - 1, profiler)
    weights = fit(case, size, pool, batches, device, variant, sizes, timer)
    return per_step(timer.times, device), weights


def run_paired(case: Case, size: tuple[int, int], pool: tuple[Tensor, Tensor], batches: int, warmup: int,
               device: torch.device, variant: str, sizes: str) -> tuple[float, float, dict[str, Tensor], dict]:
    """Trainer and bare steps interleaved in one run: (Trainer s/step, bare s/step, both final weights)."""
    timer = PairedTimer(BareLoop(case, size, pool, batches, device, sizes), warmup)
    weights = fit(case, size, pool, batches, device, variant, sizes, timer)
    median = statistics.median if device.type != "cuda" else statistics.mean
    return median(timer.trainer_times), median(timer.bare_times), weights, _weights(timer.bare.model)


# ---------------------------------------------------------------------------------------------- main
def measure(name: str, case: Case, args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    """Per-step times of the bare loop and each Trainer variant, ``args.repeats`` times, interleaved."""
    size = SMOKE_SIZE if args.sizes == "smoke" else case.sizes[args.sizes]
    pool = make_pool(case, *size)
    batches = args.warmup + args.steps + 1
    runs: dict[str, list[float]] = {v: [] for v in ("bare", *args.variants)}
    ratios: dict[str, list[float]] = {v: [] for v in args.variants}
    order = list(args.variants) if args.pairing == "steps" else ["bare", *args.variants]
    same_work = math.nan
    for r in range(args.repeats):
        states: dict[str, tuple[dict, dict]] = {}
        for variant in order[r % len(order):] + order[: r % len(order)]:
            if args.pairing == "steps":
                seconds, bare_seconds, state, bare_state = run_paired(case, size, pool, batches, args.warmup, device,
                                                                      variant, args.sizes)
                runs["bare"].append(bare_seconds)
                ratios[variant].append(seconds / bare_seconds)
                states[variant] = (state, bare_state)
            elif variant == "bare":
                seconds, state = run_bare(case, size, pool, batches, args.warmup, device, args.sizes)
                states["bare"] = (state, state)
            else:
                seconds, state = run_trainer(case, size, pool, batches, args.warmup, device, variant, args.sizes)
                states[variant] = (state, {})
            runs[variant].append(seconds)
        if r == 0:
            variant = "cli" if "cli" in states else args.variants[-1]
            bare = states[variant][1] or states["bare"][0]
            same_work = max(float((bare[k].float() - v.float()).abs().max())
                            for k, v in states[variant][0].items() if v.is_floating_point())
    row: dict[str, Any] = {"model": name, "batch": size[0], "lr_patch": size[1],
                           "bare_ms": 1000 * statistics.median(runs["bare"]), "same_work": same_work}
    for variant in args.variants:
        if args.pairing == "runs":  # each run against the median bare run (a slow bare run spoils no ratio)
            ratios[variant] = [t / statistics.median(runs["bare"]) for t in runs[variant]]
        row[f"{variant}_ms"] = 1000 * statistics.median(runs[variant])
        row[f"{variant}_ratio"] = statistics.median(ratios[variant])
        row[f"{variant}_ratios"] = ratios[variant]
    return row


def profile(name: str, case: Case, args: argparse.Namespace, device: torch.device) -> None:
    """cProfile of the timed batches of one Trainer run: the functions taking the most time per batch."""
    size = SMOKE_SIZE if args.sizes == "smoke" else case.sizes[args.sizes]
    profiler = cProfile.Profile()
    run_trainer(case, size, make_pool(case, *size), args.warmup + args.steps + 1, args.warmup, device, args.profile,
                args.sizes, profiler)
    entries = sorted(pstats.Stats(profiler).stats.items(), key=lambda e: -e[1][3])[: args.profile_lines]
    print(f"profile: {name}, Trainer {args.profile!r}, {args.steps} batches: per batch, cumulative and own "
          "microseconds, calls")
    for (path, line, function), (_, calls, own, cumulative, _) in entries:
        where = f"{Path(path).parent.name}/{Path(path).name}:{line}({function})" if line else function
        per_batch = 1e6 * cumulative / args.steps, 1e6 * own / args.steps, calls / args.steps
        print("  {:9.1f} {:9.1f} {:6.1f}  ".format(*per_batch) + where)


def format_table(rows: list[dict[str, Any]], variants: list[str]) -> str:
    head = f"{'model':<11} {'batch':>9} {'bare ms':>9}" + "".join(f" {v + ' ms':>11} {'ratio':>6}" for v in variants)
    lines = [head + f" {'same work':>10}"]
    for row in rows:
        line = f"{row['model']:<11} {row['batch']:>3}x{row['lr_patch']:<2}LR {row['bare_ms']:>9.2f}"
        for v in variants:
            line += f" {row[f'{v}_ms']:>11.2f} {row[f'{v}_ratio']:>6.3f}"
        lines.append(line + f" {row['same_work']:>10.1e}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="timed steps per run (after the warm-up)")
    parser.add_argument("--warmup", type=int, default=10, help="batches before the timed ones")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS + EXTRA_VARIANTS)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads, both ways")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--sizes", choices=("small", "recipe"), default=None,
                        help="batch and patch sizes (default: small on the CPU, recipe on a GPU)")
    parser.add_argument("--clock", choices=("auto", "wall", "cpu"), default="auto",
                        help="wall time, or the process's CPU time (auto: CPU time on the CPU, which other "
                        "programs on the machine disturb less; wall time on a GPU)")
    parser.add_argument("--pairing", choices=("auto", "steps", "runs"), default="auto",
                        help="steps: each Trainer batch follows a bare batch in the same run; runs: separate bare "
                        "and Trainer runs (auto: steps on the CPU; runs on a GPU, where per-step timing would "
                        "synchronize it)")
    parser.add_argument("--json", type=Path, help="also write the table as JSON here")
    parser.add_argument("--smoke", action="store_true", help="toy networks and sizes, 3 timed steps, 1 repeat")
    parser.add_argument("--profile", choices=VARIANTS + EXTRA_VARIANTS,
                        help="instead of the table: cProfile of one run of this Trainer variant per model (its timed "
                        "batches)")
    parser.add_argument("--profile-lines", type=int, default=40)
    args = parser.parse_args(argv)
    if args.smoke:
        args.steps, args.warmup, args.repeats, args.sizes = 3, 2, 1, "smoke"
    if args.sizes is None:
        args.sizes = "recipe" if args.device == "cuda" else "small"
    if args.pairing == "auto":
        args.pairing = "runs" if args.device == "cuda" else "steps"
    if args.clock == "auto":
        args.clock = "wall" if args.device == "cuda" else "cpu"
    global clock
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device here")
    device = torch.device(args.device)
    rows = []
    threads, cwd = torch.get_num_threads(), os.getcwd()
    with tempfile.TemporaryDirectory(prefix="sr_zoo_overhead_") as tmp:
        os.chdir(tmp)  # the logger's and the checkpoints' folders, as `sr-zoo fit` run here would make them
        torch.set_num_threads(args.threads)
        try:
            for name in args.models:
                if args.profile:
                    profile(name, CASES[name], args, device)
                    continue
                rows.append(measure(name, CASES[name], args, device))
                print(f"# {name} done", file=sys.stderr, flush=True)
        finally:
            os.chdir(cwd)
            torch.set_num_threads(threads)
    if args.profile:
        return 0
    print(f"lightning_overhead: {args.device}, {args.threads} thread(s), {args.steps} timed steps after "
          f"{args.warmup}, {args.repeats} repeat(s), sizes {args.sizes}, {args.clock} clock, "
          f"interleaved {args.pairing}, WANDB_MODE={os.environ['WANDB_MODE']}; per-step medians, ratio: median "
          "over repeats of trainer / bare")
    print(format_table(rows, args.variants), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
