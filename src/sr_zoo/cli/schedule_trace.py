"""What a recipe will do, printed before it runs: ``sr-zoo fit --config R --print_schedule``.

The trace builds the recipe's model, datamodule and trainer with the same command-line parser that
trains, then walks the schedule unit by unit (epochs, or iterations for the GANs that count them) with
the same objects training uses: the model's ``StageSchedule``/``Curriculum``/``LossSchedule`` callbacks,
its ``configure_optimizers`` (whose schedulers are stepped once per unit, as in training) and its
``loss_weights``. A row is printed at every boundary: stage, learning rates, loss weights or loss, data.
Decisions that depend on the losses (``SteadyStateStop``, a saturation-triggered ``TwoStepDataSchedule``)
are printed as the rule they follow.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import torch

from sr_zoo.training.progress import Position, StageSchedule

__all__ = ["TraceRow", "format_trace", "print_schedule", "trace"]


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
    depend on the losses (plateau stops and switches)."""
    from sr_zoo.models.gan import GANModule
    from sr_zoo.training.schedules import Curriculum, LossSchedule, SteadyStateStop, TwoStepDataSchedule

    callbacks = _callbacks(model, trainer)
    gan = isinstance(model, GANModule)
    unit = model.schedule_unit if gan else "epoch"
    notes: list[str] = []
    if unit == "iteration":
        if trainer.max_steps in (None, -1):
            raise ValueError("the trace of a schedule in iterations needs --trainer.max_steps")
        horizon = _iterations_for_steps(model, trainer.max_steps)
        notes.append(f"max_steps {trainer.max_steps} optimizer steps = {horizon} iterations")
    else:
        if trainer.max_epochs in (None, -1):
            raise ValueError("the trace of a schedule in epochs needs --trainer.max_epochs")
        horizon = trainer.max_epochs
    stage_schedule = StageSchedule(model.stages(), unit=unit) if gan else None
    curriculum = next((c for c in callbacks if isinstance(c, Curriculum)), None)
    loss_schedule = next((c for c in callbacks if isinstance(c, LossSchedule)), None)
    two_step = next((c for c in callbacks if isinstance(c, TwoStepDataSchedule)), None)
    for stop in (c for c in callbacks if isinstance(c, SteadyStateStop)):
        decays = (f"rates x{stop.lr_factor} on each of the first {stop.lr_decays} plateaus, then stop"
                  if stop.lr_decays else "stop")
        notes.append(f"SteadyStateStop: after {stop.plateau.patience} epochs without a "
                     f"{stop.plateau.min_improvement:.1%} "
                     f"improvement of the epoch mean of {stop.monitor}: {decays}")
    if two_step is not None:
        if two_step.switch_epoch is None:
            notes.append(f"TwoStepDataSchedule: when the loss saturates ({two_step.plateau.patience} epochs without a "
                         f"{two_step.plateau.min_improvement:.1%} improvement): + {', '.join(two_step.add_sources)}, "
                         f"rates x{two_step.lr_factor}" + ("; the second step stops the same way"
                                                           if two_step.stop_when_saturated else ""))
        if two_step.step_checkpoint:
            notes.append(f"the model at the end of step one is kept as {two_step.step_checkpoint}")
    optimizers, schedulers = _optimizers_and_schedulers(model)
    switched = False
    rows: list[TraceRow] = []
    stage_losses: dict[str, str] = {}  # loss_weights(stage) is a function of the stage: formatted once per stage
    last: tuple | None = None  # the previous unit's raw values: a row is built only when one of them changes
    with warnings.catch_warnings():  # no optimizer steps here: torch's warning about the order is moot
        warnings.simplefilter("ignore", UserWarning)
        for u in range(horizon):
            position = Position(epoch=u if unit == "epoch" else 0, batch=0, batches_per_epoch=1, step=u)
            sources = list(datamodule.train_sources)
            if two_step is not None and two_step.switch_epoch is not None and u >= two_step.switch_epoch:
                sources += [s for s in two_step.add_sources if s not in sources]
                if not switched:  # as TwoStepDataSchedule.apply does it, once
                    for optimizer in optimizers:
                        for group in optimizer.param_groups:
                            group["lr"] *= two_step.lr_factor
                    switched = True
            if stage_schedule is not None:
                model.set_stage(stage_schedule.stage_at(position))
            if curriculum is not None:
                stage, _ = curriculum.stage(u, len(model.net.levels))
                model.set_curriculum(stage + 1, curriculum.blend(position, len(model.net.levels)))
            if loss_schedule is not None:
                model.set_loss(loss_schedule.loss_kind(u))
                losses = model.loss_kind.upper() if u < loss_schedule.l1_epochs else \
                    f"L2 / L1 alternating every {loss_schedule.period} epochs"
            elif hasattr(model, "loss_weights"):
                losses = stage_losses.get(model.current_stage)
                if losses is None:
                    losses = stage_losses[model.current_stage] = ", ".join(
                        f"{k} {v:g}" for k, v in model.loss_weights(model.current_stage).items())
            else:
                losses = ""
            rates = tuple(group["lr"] for optimizer in optimizers for group in optimizer.param_groups)
            current = (model.current_stage, rates, losses, sources)
            if current != last:
                last = current
                row = TraceRow(u, unit, model.current_stage, rates, losses, ", ".join(sources))
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


def print_schedule(argv: Sequence[str]) -> int:
    """``sr-zoo fit ... --print_schedule``: parse as ``fit`` would, print the trace, train nothing."""
    from sr_zoo.cli.lightning import SRZooCLI, one_line_parse_errors, parser_kwargs, translate_args
    from sr_zoo.data import SRDataModule
    from sr_zoo.models import SRModule

    args = [a for a in translate_args(argv) if a not in ("fit", "--print_schedule")]
    warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
    with one_line_parse_errors("sr-zoo fit"):
        cli = SRZooCLI(SRModule, SRDataModule, subclass_mode_model=True, args=args, run=False,
                       auto_configure_optimizers=False, save_config_callback=None,
                       parser_kwargs=parser_kwargs("sr-zoo fit"), trainer_defaults={"logger": False})
    rows, notes = trace(cli.model, cli.datamodule, cli.trainer)
    end = rows and (_iterations_for_steps(cli.model, cli.trainer.max_steps) if rows[0].unit == "iteration"
                    else cli.trainer.max_epochs)
    print(format_trace(rows, notes, end or None))
    return 0
