"""CSRCNN's own schedules as Lightning callbacks (CSRCNN paper, Sec. III-B and III-C): the curriculum that adds
the pyramid's levels one at a time, and the L1 then alternating L2/L1 losses. The model returns both from
``configure_callbacks``; they change it only through ``set_curriculum`` and ``set_loss``."""

from __future__ import annotations

from typing import Sequence

import lightning as L
from lightning.pytorch.utilities import rank_zero_info

from sr_zoo.training.progress import Position, ScheduleCallback, ScheduleEffect

__all__ = ["Curriculum", "LossSchedule"]


class Curriculum(ScheduleCallback):
    """CSRCNN's curriculum (CSRCNN paper, Sec. III-B): train the x2 level first, then add each next level.

    ``stage_epochs[i]`` is the number of epochs of stage ``i`` (x2, x4, ...); the last stage runs to the
    end of training. A new level is blended in over ``blend_epochs``: its output is mixed with the
    doubled output of the level below, the weight rising linearly from 0 to 1 (ProSR's fade-in, which
    III-B cites; the paper gives no schedule), batch by batch. Nothing is frozen. During a stage the
    model validates at the stage's factor. Stage and blend are functions of the training position, so
    a run resumed at any batch continues the same stage at the same blend.
    """

    def __init__(self, stage_epochs: Sequence[int] = (5, 5), blend_epochs: float = 1.0) -> None:
        self.stage_epochs = list(stage_epochs)
        self.blend_epochs = blend_epochs

    def stage(self, epoch: int, levels: int) -> tuple[int, int]:
        """``(stage, first epoch of that stage)`` for ``epoch`` in a model of ``levels`` levels."""
        start = 0
        for stage, length in enumerate(self.stage_epochs[: levels - 1]):
            if epoch < start + length:
                return stage, start
            start += length
        return levels - 1, start

    def blend(self, position: Position, levels: int) -> float:
        """Weight of the newest level's own output at ``position`` (1 once blended in)."""
        stage, start = self.stage(position.epoch, levels)
        if stage == 0 or self.blend_epochs <= 0:
            return 1.0
        return min(1.0, (position.epochs - start) / self.blend_epochs)

    def apply(self, trainer: L.Trainer, pl_module: L.LightningModule, position: Position) -> None:
        net = pl_module.net
        stage, _ = self.stage(position.epoch, len(net.levels))
        changed = net.active_levels != stage + 1
        self.describe(pl_module, position)
        if changed:
            rank_zero_info(f"sr_zoo: curriculum stage {stage + 1}: x{2 ** (stage + 1)}")
        datamodule = trainer.datamodule
        if datamodule is not None and hasattr(datamodule, "set_eval_scale"):
            datamodule.set_eval_scale(2 ** (stage + 1))

    def describe(self, pl_module: L.LightningModule, position: Position) -> ScheduleEffect:
        levels = len(pl_module.net.levels)
        stage, _ = self.stage(position.epoch, levels)
        pl_module.set_curriculum(stage + 1, self.blend(position, levels))  # the model names the stage
        return ScheduleEffect()

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        pl_module.set_curriculum(pl_module.net.active_levels, 1.0)


class LossSchedule(ScheduleCallback):
    """CSRCNN's losses (CSRCNN paper, Sec. III-C): L1 for ``l1_epochs``, then fine-tuning that alternates
    L2 and L1 every ``period`` epochs (starting with L2). Calls ``pl_module.set_loss(kind)`` for each batch."""

    def __init__(self, l1_epochs: int = 20, period: int = 2) -> None:
        if period < 1:
            raise ValueError(f"period must be >= 1, got {period}")
        self.l1_epochs, self.period = l1_epochs, period

    def loss_kind(self, epoch: int) -> str:
        if epoch < self.l1_epochs:
            return "l1"
        return "l2" if ((epoch - self.l1_epochs) // self.period) % 2 == 0 else "l1"

    def apply(self, trainer: L.Trainer, pl_module: L.LightningModule, position: Position) -> None:
        pl_module.set_loss(self.loss_kind(position.epoch))

    def describe(self, pl_module: L.LightningModule, position: Position) -> ScheduleEffect:
        pl_module.set_loss(self.loss_kind(position.epoch))
        return ScheduleEffect(losses=self.loss_kind(position.epoch).upper() if position.epoch < self.l1_epochs
                              else f"L2 / L1 alternating every {self.period} epochs")
