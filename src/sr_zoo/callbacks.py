"""Lightning callbacks for the papers' schedules, and for writing predictions."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import lightning as L
from lightning.pytorch.callbacks import BasePredictionWriter, Callback
from lightning.pytorch.utilities import rank_zero_info

from sr_zoo.data.io import write_image

__all__ = ["SRPredictionWriter", "TwoStepDataSchedule"]


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
