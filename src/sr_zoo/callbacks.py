"""Lightning callbacks for the papers' schedules, and for writing predictions."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import lightning as L
from lightning.pytorch.callbacks import BasePredictionWriter, Callback
from lightning.pytorch.utilities import rank_zero_info

from sr_zoo.data.io import write_image

__all__ = ["Curriculum", "LossSchedule", "SRPredictionWriter", "TwoStepDataSchedule"]


class TwoStepDataSchedule(Callback):
    """EMTCM's two-step training (papers/emtcm.txt 4.2): the first sources until ``switch_epoch``, then
    ``add_sources`` as well, with every learning rate multiplied by ``lr_factor`` (halved).

    The switch happens at the end of epoch ``switch_epoch - 1``, before that epoch's checkpoint is
    written, so a checkpoint holds the halved rates; a run resumed after the switch trains on the
    extended data again (the callback's state says so) and keeps the rates stored with the optimizer.
    """

    def __init__(self, switch_epoch: int, add_sources: Sequence[str] = ("general100",), lr_factor: float = 0.5) -> None:
        self.switch_epoch = switch_epoch
        self.add_sources = list(add_sources)
        self.lr_factor = lr_factor
        self.switched = False

    def _extend_data(self, trainer: L.Trainer) -> None:
        datamodule = trainer.datamodule
        sources = datamodule.train_sources + [s for s in self.add_sources if s not in datamodule.train_sources]
        datamodule.set_train_sources(sources)
        trainer.fit_loop._combined_loader = None  # Lightning rebuilds the train loader at the next epoch start

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.switched:  # resumed after the switch
            self._extend_data(trainer)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.switched or trainer.current_epoch + 1 != self.switch_epoch:
            return
        self._extend_data(trainer)
        for optimizer in trainer.optimizers:
            for group in optimizer.param_groups:
                group["lr"] *= self.lr_factor
        self.switched = True
        rank_zero_info(f"sr_zoo: epoch {self.switch_epoch}: training on {', '.join(trainer.datamodule.train_sources)}, "
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


class Curriculum(Callback):
    """CSRCNN's curriculum (papers/csrcnn.txt III-B): train the x2 level first, then add each next level.

    ``stage_epochs[i]`` is the number of epochs of stage ``i`` (x2, x4, ...); the last stage runs to the
    end of training. A new level is blended in over ``blend_epochs``: its output is mixed with the
    doubled output of the level below, the weight rising linearly from 0 to 1 (ProSR's fade-in, which
    III-B cites; the paper gives no schedule). Nothing is frozen. During a stage the model validates at
    the stage's factor (the datamodule's benchmark sets are rebuilt at it). The stage follows from the
    epoch alone, so a run resumed mid-curriculum continues the same stage.
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

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        net = pl_module.net
        stage, _ = self.stage(trainer.current_epoch, len(net.levels))
        if net.active_levels != stage + 1 or getattr(trainer.datamodule, "eval_scale", None) != 2 ** (stage + 1):
            net.active_levels = stage + 1
            datamodule = trainer.datamodule
            if datamodule is not None and hasattr(datamodule, "set_eval_scale"):
                datamodule.set_eval_scale(2 ** (stage + 1))
                trainer.fit_loop.epoch_loop.val_loop._combined_loader = None  # rebuilt at the next validation
            rank_zero_info(f"sr_zoo: curriculum stage {stage + 1}: x{2 ** (stage + 1)}")

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int) -> None:
        net = pl_module.net
        stage, start = self.stage(trainer.current_epoch, len(net.levels))
        if stage == 0 or self.blend_epochs <= 0:
            net.blend = 1.0
            return
        progress = trainer.current_epoch - start + batch_idx / max(1, trainer.num_training_batches)
        net.blend = min(1.0, progress / self.blend_epochs)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        pl_module.net.blend = 1.0


class LossSchedule(Callback):
    """CSRCNN's losses (papers/csrcnn.txt III-C): L1 for ``l1_epochs``, then fine-tuning that alternates
    L2 and L1 every ``period`` epochs (starting with L2). Sets ``pl_module.loss_kind`` each epoch."""

    def __init__(self, l1_epochs: int = 20, period: int = 2) -> None:
        if period < 1:
            raise ValueError(f"period must be >= 1, got {period}")
        self.l1_epochs, self.period = l1_epochs, period

    def loss_kind(self, epoch: int) -> str:
        if epoch < self.l1_epochs:
            return "l1"
        return "l2" if ((epoch - self.l1_epochs) // self.period) % 2 == 0 else "l1"

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        pl_module.loss_kind = self.loss_kind(trainer.current_epoch)
