"""Lightning's loop internals that the zoo reads or sets, in one place (issue 29).

Lightning has no public API for these: where training stands inside an epoch, whether the batch just trained
may end it, and the progress counters a resumed run starts from. Each was checked against the Lightning versions
in ``CHECKED_WITH``; ``tests/training/test_loop_internals.py`` builds a trainer and checks that every attribute
read here exists with the meaning used, so an upgrade that moves one fails there, not in a long run.
"""

from __future__ import annotations

from typing import Any

import lightning as L

__all__ = ["CHECKED_WITH", "batches_started", "epoch_counters", "epoch_may_end", "logger_writes", "restart_validation"]

CHECKED_WITH = ("2.6.6",)
"""Lightning versions these functions were read against (fit_loop, epoch_loop, val_loop progress trackers)."""


def batches_started(trainer: L.Trainer) -> int:
    """Index of the last training batch started in the whole run (-1 before the first): ``total_batch_idx``."""
    return trainer.fit_loop.total_batch_idx


def epoch_may_end(trainer: L.Trainer) -> bool:
    """Whether the epoch may end with the batch just trained: the training epoch loop's tests of ``done``, as far
    as a batch-end hook can see them."""
    progress = trainer.fit_loop.epoch_loop.batch_progress
    return (progress.is_last_batch or trainer.should_stop
            or progress.current.ready >= trainer.num_training_batches
            or 0 <= trainer.max_steps <= trainer.global_step)


def logger_writes(trainer: L.Trainer) -> bool:
    """Whether the loggers write the values logged in this training step (every ``log_every_n_steps``, counted
    as Lightning counts them), asked from inside the step."""
    return trainer._logger_connector.should_update_logs


def epoch_counters(trainer: L.Trainer) -> Any:
    """The fit loop's counters of the current run's epochs (``ready``, ``started``, ``processed``, ``completed``),
    which decide the number of the next epoch; ``sr_zoo.training.progress.align_epoch_counter`` sets them."""
    return trainer.fit_loop.epoch_progress.current


def restart_validation(trainer: L.Trainer) -> None:
    """Make a checkpoint written during a validation batch record that validation as not begun.

    Lightning resumes a checkpoint written inside a validation step by running validation again ("restarted
    mid-evaluation"), and one written after it by skipping it. The counters of this run are set to what a save
    inside its first step would record, so the resumed run validates from the start; the training counters
    already say that the last training batch is complete.
    """
    progress = trainer.fit_loop.epoch_loop.val_loop.batch_progress
    before = progress.total.processed - progress.current.processed  # validation batches of earlier runs
    for tracker, base in ((progress.total, before), (progress.current, 0)):
        tracker.ready = tracker.started = base + 1
        tracker.processed = tracker.completed = base
    progress.is_last_batch = False
