"""What a recipe will do, printed before it runs: ``sr-zoo fit --config R --print_schedule``.

The trace builds the recipe's model, datamodule and trainer with the same command-line parser that
trains, then walks the schedule unit by unit (epochs, or iterations for the GANs that count them) with
the same objects training uses: every ``Schedule`` callback of the trainer and the model, asked what it
sets at each position (``Schedule.describe``), the model's ``configure_optimizers`` (whose schedulers are
stepped once per unit, as in training) and its ``loss_weights``. A row is printed at every boundary:
stage, learning rates, loss weights or loss, data. Decisions that depend on losses or scores (plateau
rules) are printed as the rules the schedules state.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import torch

from sr_zoo.errors import SRZooError
from sr_zoo.training.progress import Position, Schedule

__all__ = ["TraceRow", "format_trace", "schedule_table", "trace"]


@dataclass(frozen=True)
class TraceRow:
    """From unit ``start`` on (in ``unit``s): the stage, rates, loss terms and training data."""

    start: int
    unit: str
    stage: str
    rates: tuple[float, ...]
    losses: str
    data: str

    def key(self) -> tuple:
        return self.stage, tuple(f"{r:.6g}" for r in self.rates), self.losses, self.data


def _optimizers_and_schedulers(model: Any) -> tuple[list[torch.optim.Optimizer], list[Any]]:
    configured = model.configure_optimizers()
    if configured is None:
        return [], []
    if isinstance(configured, torch.optim.Optimizer):
        return [configured], []
    if isinstance(configured, dict):
        scheduler = configured.get("lr_scheduler")
        scheduler = scheduler["scheduler"] if isinstance(scheduler, dict) else scheduler
        return [configured["optimizer"]], [scheduler] if scheduler is not None else []
    optimizers, schedulers = configured
    return list(optimizers), list(schedulers)


def _iterations_for_steps(model: Any, max_steps: int) -> int:
    """The iterations (batches) after which a GAN's optimizer steps reach ``max_steps``."""
    low, high = 0, max(1, max_steps)
    while low < high:
        mid = (low + high) // 2
        if model.optimizer_steps(mid) >= max_steps:
            high = mid
        else:
            low = mid + 1
    return low


def _callbacks(model: Any, trainer: Any) -> list[Any]:
    """The trainer's callbacks, with those the model brings replacing ones of the same type (Lightning's rule)."""
    own = list(model.configure_callbacks() or [])
    kinds = {type(c) for c in own}
    return [c for c in trainer.callbacks if type(c) not in kinds] + own


def trace(model: Any, datamodule: Any, trainer: Any) -> tuple[list[TraceRow], list[str]]:
    """The schedule of ``trainer.fit(model, datamodule)``: rows at each change, and the rules that
    depend on the losses (plateau stops and switches). Each ``Schedule`` callback says what it sets at a
    position (``describe``); the trace adds the rates of the model's own learning-rate schedulers."""
    from sr_zoo.models.gan import GANModule

    schedules = [c for c in _callbacks(model, trainer) if isinstance(c, Schedule)]
    unit = model.schedule_unit if isinstance(model, GANModule) else "epoch"
    notes: list[str] = []
    if unit == "iteration":
        if trainer.max_steps in (None, -1):
            raise SRZooError("--print_schedule: a schedule in iterations needs --trainer.max_steps")
        horizon = _iterations_for_steps(model, trainer.max_steps)
        notes.append(f"max_steps {trainer.max_steps} optimizer steps = {horizon} iterations")
    elif trainer.max_epochs not in (None, -1):
        horizon = trainer.max_epochs
    elif trainer.max_steps not in (None, -1):  # epochs of unknown length: the rows that hold from the start
        horizon = 1
        notes.append(f"ends at max_steps {trainer.max_steps:,} optimizer steps (epochs are not counted ahead)")
    else:
        raise SRZooError("--print_schedule: the run has no end (set --trainer.max_epochs or --trainer.max_steps)")
    optimizers, schedulers = _optimizers_and_schedulers(model)
    applied_factor = 1.0  # the schedules' rate factor already in the optimizers
    rows: list[TraceRow] = []
    stage_losses: dict[str, str] = {}  # loss_weights(stage) is a function of the stage: formatted once per stage
    last: tuple | None = None  # the previous unit's raw values: a row is built only when one of them changes
    with warnings.catch_warnings():  # no optimizer steps here: torch's warning about the order is moot
        warnings.simplefilter("ignore", UserWarning)
        for u in range(horizon):
            position = Position(epoch=u if unit == "epoch" else 0, batch=0, batches_per_epoch=1, step=u)
            effects = [s.describe(model, position) for s in schedules]
            if u == 0:
                notes += [rule for effect in effects for rule in effect.rules]
            sources = list(datamodule.train_sources)
            sources += [s for effect in effects for s in effect.sources if s not in sources]
            factor = math.prod(effect.rate_factor for effect in effects)
            if factor != applied_factor:
                for optimizer in optimizers:
                    for group in optimizer.param_groups:
                        group["lr"] *= factor / applied_factor
                applied_factor = factor
            losses = next((effect.losses for effect in effects if effect.losses is not None), None)
            if losses is None and hasattr(model, "loss_weights"):
                losses = stage_losses.get(model.current_stage)
                if losses is None:
                    losses = stage_losses[model.current_stage] = ", ".join(
                        f"{k} {v:g}" for k, v in model.loss_weights(model.current_stage).items())
            rates = tuple(group["lr"] for optimizer in optimizers for group in optimizer.param_groups)
            current = (model.current_stage, rates, losses or "", sources)
            if current != last:
                last = current
                row = TraceRow(u, unit, model.current_stage, rates, losses or "", ", ".join(sources))
                if not rows or row.key() != rows[-1].key():
                    rows.append(row)
            for scheduler in schedulers:  # once per unit, after the unit's batches, as in training
                scheduler.step()
    return rows, notes


def format_trace(rows: Sequence[TraceRow], notes: Sequence[str], end: int | None = None) -> str:
    """A markdown table of the rows (and the notes below it)."""
    lines = [f"| from {rows[0].unit if rows else 'epoch'} | stage | learning rates | losses | data |",
             "|---:|---|---|---|---|"]
    for row in rows:
        rates = " / ".join(dict.fromkeys(f"{r:.3g}" for r in row.rates)) or "-"
        lines.append(f"| {row.start:,} | {row.stage} | {rates} | {row.losses or '-'} | {row.data} |")
    if end is not None:
        lines.append(f"| {end:,} | (end) | | | |")
    return "\n".join(lines + [f"- {n}" for n in notes])


def schedule_table(model: Any, datamodule: Any, trainer: Any) -> str:
    """The trace of ``trainer.fit(model, datamodule)`` as ``--print_schedule`` prints it."""
    rows, notes = trace(model, datamodule, trainer)
    if not rows or (rows[0].unit == "epoch" and trainer.max_epochs in (None, -1)):
        end = None  # a run bounded by optimizer steps only: its epochs are not counted ahead
    elif rows[0].unit == "iteration":
        end = _iterations_for_steps(model, trainer.max_steps)
    else:
        end = trainer.max_epochs
    return format_trace(rows, notes, end)
