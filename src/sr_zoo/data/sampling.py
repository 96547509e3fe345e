"""Resumable training order: every random choice is a function of ``(seed, epoch, index)``.

Why not torchdata's ``StatefulDataLoader`` or Lightning's loader-state hook: both snapshot the loader
when the checkpoint is written, and by then the worker processes and Lightning's fetcher have already
drawn batches that were never trained on, and Lightning skips the hook for checkpoints written at an
epoch end. Here nothing needs snapshotting: the order of epoch ``e`` is a permutation drawn from
``(seed, e)`` and each item's crops and flips from ``(seed, e, index)`` (counter-based randomness), so
the only state is where training stands, which the batches themselves report (``position``) and the
datamodule keeps (``TrainingProgress``). Worker count and worker RNG play no part.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Iterator, NamedTuple

import numpy as np
from torch.utils.data import DistributedSampler

__all__ = ["ResumableSampler", "SampleKey", "TrainingProgress", "item_rng"]


class SampleKey(NamedTuple):
    """What the sampler hands the dataset: the item ``index`` and where it sits in the data stream."""

    seed: int
    epoch: int
    ordinal: int  # position of this item in the rank's sequence for the epoch
    index: int
    epoch_items: int  # length of that sequence


def item_rng(key: SampleKey) -> np.random.Generator:
    """The generator of one item's random choices (crop offsets, flips, random degradations)."""
    return np.random.default_rng([key.seed, key.epoch, key.index, 0x5352])


@dataclass
class TrainingProgress:
    """Where training stands in the data stream, per rank (identical on every rank, which move in step).

    ``epoch`` is the epoch of the batch trained last (or being trained), ``consumed`` how many of the
    rank's ``epoch_items`` items of that epoch have gone to training, ``batches`` the batches trained
    in the whole run. Saved in checkpoints by ``SRDataModule.state_dict``.
    """

    seed: int = 0
    epoch: int = 0
    consumed: int = 0
    epoch_items: int = -1  # unknown until the first batch
    batches: int = 0

    def next_start(self) -> tuple[int, int]:
        """``(epoch, first item)`` of the next batch to train."""
        if self.epoch_items >= 0 and self.consumed >= self.epoch_items:
            return self.epoch + 1, 0
        return self.epoch, self.consumed

    def record(self, epoch: int, consumed: int, epoch_items: int) -> None:
        """A training batch ending at item ``consumed`` of ``epoch`` is about to be trained on."""
        self.epoch, self.consumed, self.epoch_items = int(epoch), int(consumed), int(epoch_items)
        self.batches += 1

    def state_dict(self) -> dict[str, int]:
        return asdict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name in ("seed", "epoch", "consumed", "epoch_items", "batches"):
            setattr(self, name, int(state[name]))


class ResumableSampler(DistributedSampler):
    """``DistributedSampler``'s sharding with a per-epoch permutation drawn from ``(seed, epoch)``.

    Each iteration starts where ``progress`` says the next batch is (mid-epoch after a resume), and
    yields ``SampleKey``s instead of bare indices. The epoch comes from ``progress``, not from
    ``set_epoch``: Lightning calls that after creating the iterator, and its epoch counter also counts
    an epoch cut short by ``max_steps``, while the data stream must continue where training stopped.
    Being a ``DistributedSampler``, Lightning leaves it in place under DDP.
    """

    def __init__(self, length: int, progress: TrainingProgress, num_replicas: int = 1, rank: int = 0,
                 shuffle: bool = True, batch_size: int = 1, drop_last: bool = False) -> None:
        self.length = length
        super().__init__(range(length), num_replicas=num_replicas, rank=rank, shuffle=shuffle,
                         seed=progress.seed, drop_last=drop_last)
        self.progress = progress
        # A last partial batch is cut here, not by the DataLoader, so that an epoch's sequence ends
        # exactly at its last trained item and "epoch finished" can be read from the item count.
        self.batch_size = batch_size
        self.epoch_items = self.num_samples - (self.num_samples % batch_size if drop_last else 0)

    def __len__(self) -> int:
        return self.epoch_items

    def order(self, epoch: int) -> list[int]:
        """This rank's indices for ``epoch`` (padded by wrapping, as ``DistributedSampler`` does)."""
        if self.shuffle:
            indices = np.random.default_rng([self.progress.seed, epoch]).permutation(self.length).tolist()
        else:
            indices = list(range(self.length))
        if self.drop_last:
            indices = indices[: self.total_size]
        else:
            indices += (indices * math.ceil(self.total_size / max(1, len(indices))))[: self.total_size - len(indices)]
        return indices[self.rank : self.total_size : self.num_replicas]

    def __iter__(self) -> Iterator[SampleKey]:  # type: ignore[override]
        epoch, start = self.progress.next_start()
        indices = self.order(epoch)
        seed, n = self.progress.seed, self.epoch_items
        for ordinal in range(start, n):
            yield SampleKey(seed, epoch, ordinal, indices[ordinal], n)
