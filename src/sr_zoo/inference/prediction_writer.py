"""``SRPredictionWriter``: the ``predict`` command's images, written as files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import lightning as L
from lightning.pytorch.callbacks import BasePredictionWriter

from sr_zoo.files.images import write_image

__all__ = ["SRPredictionWriter"]


class SRPredictionWriter(BasePredictionWriter):
    """Writes each predicted SR image as ``<output_dir>/<name>.png`` (8-bit) during ``predict``."""

    def __init__(self, output_dir: str | os.PathLike = "predictions") -> None:
        super().__init__(write_interval="batch")
        self.output_dir = Path(output_dir)

    def write_on_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, prediction: Any,
                           batch_indices: Sequence[int] | None, batch: Any, batch_idx: int,
                           dataloader_idx: int) -> None:
        for sr, name in zip(prediction["sr"], prediction["name"]):
            write_image(self.output_dir / f"{name}.png", sr)
