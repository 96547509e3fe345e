"""What every zoo model logs while it trains, at a fraction of what ``self.log`` at every step costs: the step
loss where it is read, the epoch's mean loss (``train/epoch_loss``) and each optimizer's rate. A part of
``SRModule`` (``sr_zoo.models.base``); the Lightning internals it reads are ``sr_zoo.training.loop_internals``'."""

from __future__ import annotations

import time
from typing import Any

import torch
from lightning.pytorch.utilities.data import extract_batch_size
from torch import Tensor

from sr_zoo.training.loop_internals import epoch_may_end, logger_writes
from sr_zoo.training.progress_bar import REDRAW_INTERVAL

__all__ = ["STEP_LOG_INTERVAL", "TrainingLogs"]

STEP_LOG_INTERVAL = REDRAW_INTERVAL
"""Seconds between the step values ``TrainingLogs.log_step_value`` hands to Lightning besides the loggers' steps:
the progress bar's redraw interval, the only other reader."""


class TrainingLogs:
    """``log_step_value`` and ``log_epoch_mean`` for training steps, and the epoch-end logging of a
    ``LightningModule``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._epoch_sums: dict[str, tuple[Tensor, int]] = {}  # log_epoch_mean's batch-weighted sums, by name
        self._epoch_logged = False  # whether log_epoch_mean's sums went to Lightning during this epoch
        self._step_logged_at = -float("inf")  # when log_step_value last handed a value to Lightning

    def on_train_start(self) -> None:
        super().on_train_start()  # type: ignore[misc]
        self._epoch_sums, self._epoch_logged = {}, False  # nothing left from a fit that failed

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        """``train/epoch_loss``, the epoch's mean training loss (averaged over ranks), for dashboards: the
        quantity whose plateau the recipes' steady-state stops detect (they keep their own resumable mean)."""
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if isinstance(loss, Tensor):
            size = batch["lr"].shape[0] if isinstance(batch, dict) and "lr" in batch else extract_batch_size(batch)
            self.log_epoch_mean("train/epoch_loss", loss, size)
        if self._epoch_sums and (self._epoch_logged or epoch_may_end(self.trainer)):
            self._log_epoch_sums()

    def log_step_value(self, name: str, value: Tensor, batch_size: int) -> None:
        """``self.log(name, value, prog_bar=True)`` in a training step where the value is read: the steps whose
        values the loggers write (every ``log_every_n_steps``), and at least every ``STEP_LOG_INTERVAL`` seconds
        for the progress bar. A ``self.log`` costs Lightning 0.3-1 ms of CPU (``benchmarks/lightning_overhead.py``),
        a few percent of a small model's step; what loggers record is the same as logging every step."""
        now = time.monotonic()
        if self._trainer is None or logger_writes(self._trainer) or now - self._step_logged_at >= STEP_LOG_INTERVAL:
            self._step_logged_at = now
            self.log(name, value, prog_bar=True, batch_size=batch_size)

    def log_epoch_mean(self, name: str, value: Tensor, batch_size: int) -> None:
        """What ``self.log(name, value, on_step=False, on_epoch=True, sync_dist=True, batch_size=batch_size)``
        logs, for a training batch (in ``training_step``, or in ``on_train_batch_end`` before ``super()``'s), at a
        fraction of its cost.

        Each ``self.log`` call costs Lightning 0.3-1 ms of CPU (``benchmarks/lightning_overhead.py``), 0.3-1 ms
        per training batch and name here. The batch-weighted sum is kept here instead and handed to Lightning
        after the batch that may end the epoch (its last, ``max_steps``, a stop request), so callbacks see the
        mean in their ``on_train_epoch_end``; an epoch ended otherwise (a stop decided in a validation inside
        it) hands it over in the module's ``on_train_epoch_end``, which monitoring callbacks still see.
        """
        value = value.detach()
        if value.dtype not in (torch.float32, torch.float64):
            value = value.float()  # as Lightning keeps a logged value
        total, count = self._epoch_sums.get(name, (0.0, 0))
        self._epoch_sums[name] = (total + value * batch_size, count + batch_size)

    def _log_epoch_sums(self) -> None:
        # Lightning adds up what is logged (value x batch_size, and batch_size) over the epoch and ranks:
        # a sum handed over in parts, or at once, gives the same mean.
        for name, (total, count) in self._epoch_sums.items():
            self.log(name, total / count, on_step=False, on_epoch=True, sync_dist=True, batch_size=count)
        self._epoch_sums = {}
        self._epoch_logged = True  # from now on with every batch: the epoch went on after one that could end it

    def on_train_epoch_end(self) -> None:
        super().on_train_epoch_end()
        if self._epoch_sums:  # an end no batch hook saw coming
            self._log_epoch_sums()
        self._epoch_logged = False
        for i, optimizer in enumerate(self.trainer.optimizers):
            if optimizer.param_groups:  # bicubic's placeholder optimizer has none
                self.log(f"train/{self.lr_log_name(i)}", optimizer.param_groups[0]["lr"])

    def lr_log_name(self, index: int) -> str:
        """The name (under ``train/``) of the rate of optimizer ``index``: ``lr``, ``lr1``, ..."""
        return f"lr{index if index else ''}"
