"""What the benchmark scripts share: synchronising a device before reading a clock, a dataset that serves one
fixed batch, and a callback that times training batches. Scripts import it as ``_common`` (Python puts a
script's folder first on ``sys.path``)."""

from __future__ import annotations

import time

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import Dataset


def sync(device: torch.device | str) -> None:
    """Wait for the device's queued work (CUDA runs asynchronously), so that a clock read after it is right."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


class FixedBatches(Dataset):
    """The same ``batch`` (a dict of tensors), ``n`` times: the step's cost without the loader's (use it with
    ``DataLoader(..., batch_size=None)``)."""

    def __init__(self, batch: dict[str, Tensor], n: int) -> None:
        self.batch, self.n = batch, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        return self.batch


class BatchTimer(L.Callback):
    """Seconds of each training batch, from its start to its end hook (device synchronised at both)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._start = 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:  # noqa: ANN001
        sync(pl_module.device)
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # noqa: ANN001
        sync(pl_module.device)
        self.times.append(time.perf_counter() - self._start)

    def rate(self, warmup: int = 1) -> float:
        """Batches per second after the first ``warmup`` batches."""
        timed = self.times[warmup:]
        return len(timed) / sum(timed)
