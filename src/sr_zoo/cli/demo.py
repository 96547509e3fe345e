"""The demo ``sr-zoo fit --model NAME --scale S`` runs when given no recipe and no budget (issue 28, item 4).

A few minutes on the bundled demo photos, sized to the machine: on a CPU the threads are the idle cores
(``sr_zoo.cli.threads``: torch's default of one per core slowed SRCNN's step tenfold with another process busy on
one of this project's two cores), the batch and patch come from the measured time of the network's forward and
backward pass (``demo_batch``), and validation runs on the photos' central crops twice, halfway and at the end.
The first line says what the demo is, what it can show, and which recipe trains the model for real.
"""

from __future__ import annotations

import inspect
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sr_zoo.cli.threads import busy_cores, idle_threads, usable_cores
from sr_zoo.errors import SRZooError

__all__ = ["DEMO_BUDGET", "DEMO_MIN_STEPS", "DEMO_PLAN_ENV", "DemoPlan", "budget_seconds", "budget_words",
           "demo_arguments", "demo_batch", "demo_threads", "plan_demo", "planned_steps", "recipe_hint"]

DEMO_BUDGET = "00:00:03:00"
"""``fit`` without a recipe or a budget of its own: three minutes (Lightning's own default is 1000 epochs)."""

DEMO_MIN_STEPS = 300
"""The demo's batch and patch are the largest that leave at least this many optimizer steps in its budget: our
choice, so that the loss visibly falls (the README's demo table shows what each model reached)."""

DEMO_PLAN_ENV = "_SR_ZOO_DEMO_PLAN"
"""Set by a demo for its command's duration: ``batch,patch,threads`` for the processes DDP starts with the same argv."""

_BATCHES = (16, 8, 4, 2, 1)
_TRAINING_SHARE = 0.8  # of the budget, for the network's passes: the rest is start-up, data and two validations


@dataclass(frozen=True)
class DemoPlan:
    """What the demo will run: its batch, HR patch side, the measured seconds per step and the threads used."""

    batch_size: int
    patch_size: int
    step_seconds: float | None  # None: not measured (a GPU, a resumed demo, a batch or patch the user chose)
    threads: int | None  # None: not set here (a GPU, or OMP_NUM_THREADS given)
    busy: int = 0  # cores other work kept busy

    @property
    def steps(self) -> int | None:
        return None if self.step_seconds is None else planned_steps(self.step_seconds)

    def arguments(self) -> list[str]:
        return [f"--data.batch_size={self.batch_size}", f"--data.patch_size={self.patch_size}"]

    def to_env(self) -> str:
        """The plan for the processes Lightning's DDP launcher starts with the same command line."""
        return f"{self.batch_size},{self.patch_size},{self.threads or 0}"

    @classmethod
    def from_env(cls, value: str) -> DemoPlan:
        batch, patch, threads = (int(v) for v in value.split(","))
        return cls(batch, patch, None, threads or None)

    def describe(self) -> str:
        """``batch 16 of 72x72 patches, about 1,300 steps of 0.11 s (measured), 1 thread (1 of 2 cores busy)``."""
        text = f"batch {self.batch_size} of {self.patch_size}x{self.patch_size} patches"
        if self.step_seconds is not None:
            text += f", about {self.steps:,} steps of {self.step_seconds:.2g} s (measured)"
        if self.threads is not None:
            text += f", {self.threads} thread{'s' if self.threads > 1 else ''}"
            if self.busy:
                text += f" ({self.busy} of {usable_cores()} cores busy)"
        return text


def budget_seconds() -> int:
    """``DEMO_BUDGET`` (``DD:HH:MM:SS``) in seconds."""
    days, hours, minutes, seconds = (int(part) for part in DEMO_BUDGET.split(":"))
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def planned_steps(step_seconds: float) -> int:
    """How many steps of ``step_seconds`` the demo plans for: its budget's training share over the step."""
    return int(budget_seconds() * _TRAINING_SHARE / max(step_seconds, 1e-9))


def budget_words() -> str:
    """``3-minute`` (or ``5-second`` for a budget under a minute)."""
    seconds = budget_seconds()
    return f"{seconds // 60}-minute" if seconds >= 60 else f"{seconds}-second"


def demo_arguments(config: Any) -> list[str]:
    """The demo's budget and validation for a parsed ``fit`` with no recipe (``--config``) and no budget of its own
    (``max_epochs``, ``max_steps``, ``max_time``, wherever given): ``DEMO_BUDGET``; validation on the demo photos'
    crops unless the user named sets, halfway and at the end (Lightning's time-based interval; the stop at the budget
    validates) unless the user set when to validate. Else nothing."""
    if config.get("subcommand") != "fit":
        return []
    settings = config["fit"]
    trainer = settings.get("trainer")
    if settings.get("config") or trainer is None or trainer.get("max_time") is not None \
            or trainer.get("max_epochs") is not None or trainer.get("max_steps") not in (None, -1):
        return []
    extra = [f"--trainer.max_time={DEMO_BUDGET}"]
    if settings.get("data.val") is None:  # the crops, not Set5/Set14 found under the data root: a CSRCNN x8
        extra.append("--data.val=[demo]")  # validation of their 19 images took minutes of a 3-minute demo here
    if trainer.get("val_check_interval") is None and trainer.get("check_val_every_n_epoch") == 1:  # Lightning's
        half = max(1, budget_seconds() // 2)
        extra += ["--trainer.check_val_every_n_epoch=null",
                  f"--trainer.val_check_interval=00:{half // 3600:02d}:{half // 60 % 60:02d}:{half % 60:02d}"]
    return extra


def demo_threads() -> tuple[int | None, int]:
    """Torch's threads for a CPU demo, set to one per idle core (``sr_zoo.cli.threads``) unless ``OMP_NUM_THREADS``
    chose; and how many cores were busy."""
    import torch

    if os.environ.get("OMP_NUM_THREADS"):
        return None, 0
    busy = busy_cores()
    threads = idle_threads(busy)
    torch.set_num_threads(threads)
    return threads, busy


def demo_batch(net: Any, channels: int, scale: int, patch_size: int, min_side: int,
               layout: Any = None) -> tuple[int, int, float]:
    """The demo's batch, HR patch side and estimated seconds per step: the first of batches 16, 8, 4, 2, 1 at
    ``patch_size``, then batch 1 at half the side, that leaves ``DEMO_MIN_STEPS`` steps in the budget, by the
    measured time of ``net``'s forward and backward pass on one LR patch (after a warm-up), scaled by batch and
    pixels (conservative above batch 1: the measured per-sample time falls with the batch on a CPU). ``layout``:
    the memory format the model trains in (default contiguous); ``min_side``: the network's smallest LR input."""
    import torch

    layout = layout or torch.contiguous_format
    side = patch_size // scale
    net = net.train().to(memory_format=layout)
    x = torch.rand(1, channels, side, side).contiguous(memory_format=layout)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        out = net(x)
        if out.requires_grad:  # bicubic has nothing to train: its step is the forward pass
            out.float().mean().backward()
        times.append(time.perf_counter() - start)
    per_sample = max(min(times[1:]), 1e-9)
    budget = budget_seconds() * _TRAINING_SHARE
    candidates = [(b, side) for b in _BATCHES] + [(1, min(side, max(min_side, side // 2)))]
    for batch, lr_side in candidates:
        step = per_sample * batch * (lr_side / side) ** 2
        if budget / step >= DEMO_MIN_STEPS:
            break
    return batch, lr_side * scale, step


def plan_demo(config: Any, name: str | None, scale: int | None) -> DemoPlan:
    """The demo's threads, batch and patch for a parsed ``fit`` (``config``) of zoo model ``name``: a resumed demo's
    from its checkpoint (the same data stream); else on a CPU measured (``demo_threads``, ``demo_batch``, on the model
    its ``--model.init_args`` build) unless the user chose the batch or patch; on a GPU the datamodule's defaults.
    The processes Lightning's DDP launcher starts take the first process's plan (``DEMO_PLAN_ENV``)."""
    import torch
    from lightning.fabric.accelerators.cuda import num_cuda_devices

    from sr_zoo.data import SRDataModule

    if os.environ.get(DEMO_PLAN_ENV):
        plan = DemoPlan.from_env(os.environ[DEMO_PLAN_ENV])
        if plan.threads:
            torch.set_num_threads(plan.threads)
        return plan
    settings = config["fit"]
    default_batch = inspect.signature(SRDataModule).parameters["batch_size"].default
    chosen = settings.get("data.batch_size") != default_batch or settings.get("data.patch_size") is not None
    accelerator = str(settings.get("trainer.accelerator") or "auto").lower()
    patch = SRDataModule(scale=scale or 4, patch_size=settings.get("data.patch_size"),
                         recipe=settings.get("data.recipe") or "none", val=[], download=False).patch_size
    on_gpu = accelerator not in ("cpu", "mps") and num_cuda_devices() > 0
    threads, busy = (None, 0) if on_gpu else demo_threads()
    resumed = _checkpoint_data(settings.get("ckpt_path"))
    if resumed and not chosen:  # a resumed demo continues with the batch and patch its data stream was made of
        plan = DemoPlan(resumed.get("batch_size", default_batch), resumed.get("patch_size") or patch, None, threads,
                        busy)
    elif on_gpu or chosen or name is None or scale is None:
        plan = DemoPlan(settings.get("data.batch_size"), patch, None, threads, busy)
    else:
        model = _model(name, scale, settings.get("model.init_args"))
        layout = getattr(model, "training_memory_format", None)
        batch, patch, step = demo_batch(model.net, 1 if model.y_channel else 3, scale, patch, model.min_input_side,
                                        layout(torch.device("cpu")) if layout else None)
        plan = DemoPlan(batch, patch, step, threads, busy)
    os.environ[DEMO_PLAN_ENV] = plan.to_env()  # removed when the command ends (run_lightning_cli)
    return plan


def _model(name: str, scale: int, init_args: Any) -> Any:
    """The model as the run's ``--model.init_args`` build it, or with its defaults where they do not (a value the
    run itself rejects: LightningCLI says so in one line after this)."""
    from sr_zoo.models import create_model

    kwargs = {k: v for k, v in dict(init_args or {}).items() if k != "scale" and not k.startswith("_")}
    try:
        return create_model(name, scale, **kwargs)
    except (TypeError, ValueError, SRZooError):
        return create_model(name, scale)


def _checkpoint_data(ckpt_path: Any) -> dict[str, Any]:
    """The datamodule hyper-parameters a checkpoint given as ``--ckpt_path`` recorded (empty if none)."""
    from sr_zoo.cli.preflight import ckpt_file
    from sr_zoo.training.checkpointing import load_checkpoint_file

    path = ckpt_file(ckpt_path)
    if path is None or not os.path.isfile(path):
        return {}
    try:
        saved = load_checkpoint_file(path).get("datamodule_hyper_parameters")
    except SRZooError:  # not a checkpoint: check_run says so in one line after this
        return {}
    return dict(saved) if isinstance(saved, dict) else {}


def recipe_hint(name: str | None, scale: int | None) -> str:
    """Which recipe trains the run's model at its scale (experiments/ of a checkout), or how to give a budget."""
    experiments = Path(__file__).resolve().parents[3] / "experiments"
    recipes = sorted(p.name for p in experiments.glob(f"{name}_x{scale}*.yaml")) if name and scale else []
    if recipes:
        return (f"the paper's training is `sr-zoo fit --config experiments/{recipes[0]}` (its data and schedule: "
                "hundreds of thousands of steps, hours of a GPU); --trainer.max_epochs N trains longer here")
    return "--trainer.max_epochs N, or a recipe from experiments/, trains for real"
