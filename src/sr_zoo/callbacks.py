"""Lightning callbacks for the papers' schedules, and for writing predictions."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import lightning as L
from lightning.pytorch.callbacks import BasePredictionWriter
from lightning.pytorch.utilities import rank_zero_info

from sr_zoo.data.io import write_image
from sr_zoo.progress import Position, ScheduleCallback

__all__ = ["Curriculum", "LossSchedule", "SRPredictionWriter", "TwoStepDataSchedule"]


class TwoStepDataSchedule(ScheduleCallback):
    """EMTCM's two-step training (papers/emtcm.txt 4.2): the first sources until ``switch_epoch``, then
    ``add_sources`` as well, with every learning rate multiplied by ``lr_factor`` (halved).

    The data is a stage of the datamodule (``SRDataModule.add_train_stage``), chosen by the epoch of
    the data stream, so a resumed run trains on the data of the epoch it resumes in. The rates are
    multiplied once, before the first batch of epoch ``switch_epoch``; the callback's state and the
    optimizer's saved rates say whether that happened.
    """

    def __init__(self, switch_epoch: int, add_sources: Sequence[str] = ("general100",), lr_factor: float = 0.5) -> None:
        self.switch_epoch = switch_epoch
        self.add_sources = list(add_sources)
        self.lr_factor = lr_factor
        self.switched = False

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        datamodule = trainer.datamodule
        if stage != "fit" or datamodule is None:
            return
        if not hasattr(datamodule, "add_train_stage"):
            raise TypeError("TwoStepDataSchedule needs a datamodule with add_train_stage (SRDataModule)")
        base = datamodule.train_sources
        datamodule.add_train_stage(self.switch_epoch, base + [s for s in self.add_sources if s not in base])
        if not trainer.reload_dataloaders_every_n_epochs:
            trainer.reload_dataloaders_every_n_epochs = 1  # asks for the loader each epoch; it changes once

    def apply(self, trainer: L.Trainer, pl_module: L.LightningModule, position: Position) -> None:
        if self.switched or position.epoch < self.switch_epoch:
            return
        for optimizer in trainer.optimizers:
            for group in optimizer.param_groups:
                group["lr"] *= self.lr_factor
        self.switched = True
        sources = trainer.datamodule.sources_for_epoch(position.epoch)
        rank_zero_info(f"sr_zoo: epoch {self.switch_epoch}: training on {', '.join(sources)}, "
                       f"learning rates x{self.lr_factor}")

    def state_dict(self) -> dict[str, Any]:
        return {"switched": self.switched}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.switched = bool(state_dict["switched"])


class SRPredictionWriter(BasePredictionWriter):
    """Writes each predicted SR image as ``<output_dir>/<name>.png`` (8-bit) during ``predict``."""

    def __init__(self, output_dir: str | os.PathLike = "predictions") -> None:
        super().__init__(write_interval="batch")
        self.output_dir = Path(output_dir)

    def write_on_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, prediction: Any,
                           batch_indices: Sequence[int] | None, batch: Any, batch_idx: int, dataloader_idx: int) -> None:
        for sr, name in zip(prediction["sr"], prediction["name"]):
            write_image(self.output_dir / f"{name}.png", sr)


class Curriculum(ScheduleCallback):
    """CSRCNN's curriculum (papers/csrcnn.txt III-B): train the x2 level first, then add each next level.

    ``stage_epochs[i]`` is the number of epochs of stage ``i`` (x2, x4, ...); the last stage runs to the
    end of training. A new level is blended in over ``blend_epochs``: its output is mixed with the
    doubled output of the level below, the weight rising linearly from 0 to 1 (ProSR's fade-in, which
    III-B cites; the paper gives no schedule), batch by batch. Nothing is frozen. During a stage the
    model validates at the stage's factor. Stage and blend are functions of the training position, so
    a run resumed at any batch continues the same stage at the same blend.
    """

    def __init__(self, stage_epochs: Sequence[int] = (10, 10), blend_epochs: float = 1.0) -> None:
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
        net.blend = self.blend(position, len(net.levels))
        if net.active_levels != stage + 1:
            net.active_levels = stage + 1
            rank_zero_info(f"sr_zoo: curriculum stage {stage + 1}: x{2 ** (stage + 1)}")
        datamodule = trainer.datamodule
        if datamodule is not None and hasattr(datamodule, "set_eval_scale"):
            datamodule.set_eval_scale(2 ** (stage + 1))

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        pl_module.net.blend = 1.0


class LossSchedule(ScheduleCallback):
    """CSRCNN's losses (papers/csrcnn.txt III-C): L1 for ``l1_epochs``, then fine-tuning that alternates
    L2 and L1 every ``period`` epochs (starting with L2). Sets ``pl_module.loss_kind`` for each batch."""

    def __init__(self, l1_epochs: int = 20, period: int = 2) -> None:
        if period < 1:
            raise ValueError(f"period must be >= 1, got {period}")
        self.l1_epochs, self.period = l1_epochs, period

    def loss_kind(self, epoch: int) -> str:
        if epoch < self.l1_epochs:
            return "l1"
        return "l2" if ((epoch - self.l1_epochs) // self.period) % 2 == 0 else "l1"

    def apply(self, trainer: L.Trainer, pl_module: L.LightningModule, position: Position) -> None:
        pl_module.loss_kind = self.loss_kind(position.epoch)
