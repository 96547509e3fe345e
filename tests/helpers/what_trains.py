"""A callback that records, for each training stage of a real run, which parameters changed.

Given to ``sr-zoo fit`` as ``--trainer.callbacks+=helpers.what_trains.WhatTrainsRecorder`` with
``WHAT_TRAINS_OUT`` naming a JSON file. Per stage (``pl_module.current_stage`` of each batch) it writes
the names of the parameters that differ between the stage's first and last batch, the model's own
declaration ``trained_parameters(stage)``, and, once, the trainable parameters that are in no optimizer.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback


class WhatTrainsRecorder(Callback):
    def __init__(self) -> None:
        self.segments: list[dict[str, Any]] = []
        self._stage: str | None = None
        self._start: dict[str, torch.Tensor] = {}
        self._before: dict[str, torch.Tensor] = {}
        self._batches = 0

    @staticmethod
    def _snapshot(pl_module: L.LightningModule) -> dict[str, torch.Tensor]:
        return {name: p.detach().clone() for name, p in pl_module.named_parameters()}

    def _close(self, pl_module: L.LightningModule, end: dict[str, torch.Tensor]) -> None:
        if self._stage is None:
            return
        changed = sorted(n for n, p in end.items() if not torch.equal(p, self._start[n]))
        self.segments.append({"stage": self._stage, "batches": self._batches, "changed": changed,
                              "declared": sorted(pl_module.trained_parameters(self._stage))})

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        self._before = self._snapshot(pl_module)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        stage = pl_module.current_stage  # the stage this batch trained in (schedules set it before the batch)
        if stage != self._stage:
            self._close(pl_module, self._before)
            self._stage, self._start, self._batches = stage, self._before, 0
        self._batches += 1

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._close(pl_module, self._snapshot(pl_module))
        optimized = {id(p) for optimizer in trainer.optimizers for group in optimizer.param_groups
                     for p in group["params"]}
        orphans = sorted(n for n, p in pl_module.named_parameters() if p.requires_grad and id(p) not in optimized)
        loggers = [{"type": type(logger).__name__, "offline": bool(getattr(logger, "_offline", False))}
                   for logger in trainer.loggers]
        record = {"model": pl_module.model_name, "stages": pl_module.training_stages(), "segments": self.segments,
                  "not_in_any_optimizer": orphans, "loggers": loggers}
        out = Path(os.environ["WHAT_TRAINS_OUT"])
        out.write_text(json.dumps(record, indent=1))
