"""Where training stands, for schedules: the one clock every staged schedule reads.

A schedule (data steps, curriculum stages and blends, loss alternation, GAN stages) is a function of
``Position``, evaluated before every training batch, so a run resumed at any batch continues the same
stage at the same point. With ``SRDataModule`` the position is the data stream's own (the batch's
epoch and index as the sampler made it, restored from the checkpoint); with other data it is
Lightning's ``current_epoch`` and ``batch_idx``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import lightning as L
from lightning.pytorch.callbacks import Callback

from sr_zoo.training.loop_internals import batches_started, epoch_counters

__all__ = ["Position", "Schedule", "ScheduleCallback", "ScheduleEffect", "StageSchedule", "align_epoch_counter",
           "training_position"]


@dataclass(frozen=True)
class Position:
    """A training batch's place: ``batch`` of ``batches_per_epoch`` in ``epoch``, ``step`` in the run
    (batches, counted from 0; not optimizer steps, of which a GAN makes several per batch)."""

    epoch: int
    batch: int
    batches_per_epoch: int
    step: int

    @property
    def epochs(self) -> float:
        """Epochs completed before this batch, with the fraction of the current one."""
        return self.epoch + self.batch / max(1, self.batches_per_epoch)


def training_position(trainer: L.Trainer, batch_idx: int | None = None) -> Position:
    """The batch being trained (inside batch hooks: pass ``batch_idx``), else the next one to train."""
    datamodule = getattr(trainer, "datamodule", None)
    progress = getattr(datamodule, "progress", None)
    # The data stream's position, once it has one (or at a fresh start); else Lightning's counters
    # (other loaders, or a checkpoint written before sr_zoo recorded positions).
    if progress is not None and (progress.batches > 0 or batches_started(trainer) < 0):
        per_batch = datamodule.items_per_batch
        if batch_idx is not None:  # the batch just recorded by the datamodule
            return Position(progress.epoch, math.ceil(progress.consumed / per_batch) - 1,
                            math.ceil(progress.epoch_items / per_batch), progress.batches - 1)
        epoch, start = progress.next_start()
        current = epoch == progress.epoch and progress.epoch_items > 0
        per_epoch = math.ceil(progress.epoch_items / per_batch) if current else 0
        return Position(epoch, start // per_batch, per_epoch, progress.batches)
    per_epoch = trainer.num_training_batches
    per_epoch = int(per_epoch) if math.isfinite(per_epoch) else 0
    if batch_idx is not None:
        return Position(trainer.current_epoch, batch_idx, per_epoch, batches_started(trainer))
    return Position(trainer.current_epoch, 0, per_epoch, batches_started(trainer) + 1)


def align_epoch_counter(trainer: L.Trainer) -> None:
    """Set Lightning's epoch counter back to the data stream's epoch after a stop inside an epoch.

    A run stopped by ``max_steps`` inside epoch ``e`` leaves Lightning counting ``e`` as finished; resumed,
    it would number the rest of ``e`` as ``e + 1`` and stop one epoch early at ``max_epochs``. The data
    stream knows better. (Lightning's ``batch_idx`` for that remainder restarts at 0; schedules use the
    data stream's position, not ``batch_idx``.) Called by ``SRModule.on_train_start``.
    """
    progress = getattr(getattr(trainer, "datamodule", None), "progress", None)
    if progress is None or progress.batches == 0:
        return
    epoch, start = progress.next_start()
    current = epoch_counters(trainer)
    if start > 0 and current.completed == current.processed == epoch + 1:
        current.ready = current.started = current.processed = current.completed = epoch


@dataclass(frozen=True)
class ScheduleEffect:
    """What a schedule sets for the batch at a position, as ``sr-zoo fit --print_schedule`` shows it.

    ``sources``: training sources it adds; ``rate_factor``: every learning rate times this, relative to the
    start of training; ``losses``: the loss in words, where the schedule chooses it; ``rules``: decisions that
    depend on losses or scores, which no position can show, in words.
    """

    sources: Sequence[str] = ()
    rate_factor: float = 1.0
    losses: str | None = None
    rules: Sequence[str] = field(default_factory=tuple)


class Schedule(Callback):
    """A callback that changes training as it goes; ``describe`` says how, for the schedule trace."""

    def describe(self, pl_module: L.LightningModule, position: Position) -> ScheduleEffect:
        """What this schedule sets for the batch at ``position`` (a function of the position and of the
        callback's arguments). It may set the model's own schedule state (stage, loss) as training would,
        which the trace reads back. The default: nothing."""
        return ScheduleEffect()


class ScheduleCallback(Schedule):
    """A schedule: ``apply(trainer, pl_module, position)`` sets the state for the batch at ``position``.

    It runs before every training batch, and before training, each epoch and the sanity check for
    the batch to come (so validation and a resumed run see the right stage). ``apply`` must be a
    function of the position (plus state saved with the callback), never of how often it ran.
    """

    def apply(self, trainer: L.Trainer, pl_module: L.LightningModule, position: Position) -> None:
        raise NotImplementedError

    def on_sanity_check_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.apply(trainer, pl_module, training_position(trainer))

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.apply(trainer, pl_module, training_position(trainer))

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.apply(trainer, pl_module, training_position(trainer))

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        self.apply(trainer, pl_module, training_position(trainer, batch_idx))


class StageSchedule(ScheduleCallback):
    """Named stages in order, each ``length`` iterations (batches) or epochs long (``None``: to the end);
    calls ``pl_module.set_stage(name)`` with the stage of every batch. Zero-length stages are skipped.

    E.g. the MSFM GAN's ``[("pretrain", 20000), ("adversarial", None)]`` in iterations, SRSEG's
    ``[("pretrain", 25), ("segmentation", 25), ("adversarial", None)]`` in epochs (SRSEG, section 3.5).
    """

    def __init__(self, stages: Sequence[tuple[str, int | None]], unit: str = "iteration") -> None:
        if unit not in ("iteration", "epoch"):
            raise ValueError(f"unit must be 'iteration' or 'epoch', got {unit!r}")
        if not stages or any(length is not None and length < 0 for _, length in stages):
            raise ValueError(f"stages need names and lengths >= 0 (None for the last), got {stages!r}")
        self.stages = [(name, length) for name, length in stages if length != 0]
        self.unit = unit

    def stage_at(self, position: Position) -> str:
        """The stage of the batch at ``position``."""
        count = position.step if self.unit == "iteration" else position.epoch
        start = 0
        for name, length in self.stages:
            if length is None or count < start + length:
                return name
            start += length
        return self.stages[-1][0]

    def apply(self, trainer: L.Trainer, pl_module: L.LightningModule, position: Position) -> None:
        pl_module.set_stage(self.stage_at(position))

    def describe(self, pl_module: L.LightningModule, position: Position) -> ScheduleEffect:
        pl_module.set_stage(self.stage_at(position))
        return ScheduleEffect()
