"""Checkpoints that survive failure: atomic writes, safe loads, and a checkpoint on interruption."""

from __future__ import annotations

import os
import pickle
import shlex
import signal
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Any, Callable, Sequence

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_info

from sr_zoo.errors import CheckpointError, Interrupted, TrainingInterrupted
from sr_zoo.files.atomic import write_atomically
from sr_zoo.interrupts import deferred_signals, mark_stopping, request_stop
from sr_zoo.training.loop_internals import restart_validation

__all__ = ["AtomicCheckpointIO", "InterruptCheckpoint", "atomic_torch_save", "last_written"]

_SIGNAL_EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}
if hasattr(signal, "SIGUSR1"):
    _SIGNAL_EXIT[signal.SIGUSR1] = 138  # SLURM's usual pre-emption warning (sbatch --signal=USR1@90)

_last_written: Path | None = None


def last_written() -> Path | None:
    """The checkpoint this process completed last (``atomic_torch_save``), or None."""
    return _last_written


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` to a temporary file beside ``path``, fsync, then rename over it.

    A write that fails (full disk, killed process) leaves the previous file, or none, and never a
    truncated one; Lightning's own writer opens the final path directly. A stop signal that arrives
    during the write takes effect once the file is complete (``sr_zoo.interrupts.deferred_signals``).
    """
    global _last_written
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with deferred_signals(path):
        _write_atomically(obj, path)
        _last_written = path


def _write_atomically(obj: Any, path: Path) -> None:
    def error(reason: str) -> CheckpointError:
        return CheckpointError(f"{path}: checkpoint not written: {reason} (an earlier file of that name is unchanged)")

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:  # a file object: a full disk surfaces as the OSError behind torch's error
            torch.save(obj, handle)

    write_atomically(path, write, error)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's ``TorchCheckpointIO`` with atomic local writes and one-line load errors.

    Loads use ``weights_only=True`` unless the caller asks otherwise.
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | os.PathLike,
                        storage_options: Any | None = None) -> None:
        if "://" in str(path):  # remote (fsspec): Lightning's writer, signals held back until it is done
            with deferred_signals(path):
                return super().save_checkpoint(checkpoint, path, storage_options)
        atomic_torch_save(checkpoint, path)
        return None

    def load_checkpoint(self, path: str | os.PathLike, map_location: Any = lambda storage, loc: storage,
                        weights_only: bool | None = None) -> dict[str, Any]:
        return load_checkpoint_file(path, map_location, True if weights_only is None else weights_only,
                                    loader=super().load_checkpoint)


def load_checkpoint_file(path: str | os.PathLike, map_location: Any = "cpu", weights_only: bool = True,
                         loader: Callable[..., Any] | None = None) -> dict[str, Any]:
    """A checkpoint dict from ``path``; anything else is one ``CheckpointError`` line naming the file."""
    try:
        with warnings.catch_warnings():  # a plain pickle (not torch's zip): the error below says what it is
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            if loader is not None:
                checkpoint = loader(path, map_location=map_location, weights_only=weights_only)
            else:
                checkpoint = torch.load(path, map_location=map_location, weights_only=weights_only)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: checkpoint not found") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, zipfile.BadZipFile, AttributeError,
            ModuleNotFoundError, TypeError, KeyError, IndexError, OverflowError, UnicodeDecodeError, OSError) as exc:
        # torch.load of a text file fails on its first byte (KeyError: 101 for an 'e', IndexError for others)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, (KeyError, IndexError)) or any(
                marker in str(exc) for marker in ("invalid load key", "Unsupported operand")):
            reason = "not a PyTorch checkpoint file (a text file, an image, or another format)"
        elif "Weights only load failed" in reason or isinstance(exc, pickle.UnpicklingError):
            reason = "it holds pickled objects beyond tensors and plain values, which are not loaded (weights_only)"
        raise CheckpointError(f"{path}: not a loadable checkpoint: {reason}") from None
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{path}: not a checkpoint (holds a {type(checkpoint).__name__}, not a dict)")
    return checkpoint


class InterruptCheckpoint(Callback):
    """Stop cleanly on SIGINT, SIGTERM or SIGUSR1: finish the batch, write ``last.ckpt``, exit 128+signal.

    The checkpoint is written at a batch boundary (the state a periodic checkpoint would hold), in the
    first ``ModelCheckpoint``'s folder, so ``--ckpt_path last`` resumes it exactly. A signal during
    validation stops after the current validation batch; the checkpoint then holds the state after the
    last training batch, and the resumed run redoes that validation from its start (no partial metrics
    are logged). Under DDP the ranks agree after every batch (one small all-reduce) so that all of them
    save and stop together. A second Ctrl+C stops at once without a new checkpoint, except while a
    checkpoint is being written: that one is completed first. The handlers exist only while training
    runs; they replace Lightning's SIGTERM handler, which would stop without a checkpoint (exit 0).
    """

    def __init__(self, filename: str = "last.ckpt", command: Sequence[str] | None = None) -> None:
        self.filename = filename
        self.command = list(command) if command is not None else None  # the run's `sr-zoo fit ...`, for the hint
        self.received: int | None = None
        self._previous: dict[int, Any] = {}
        self._writing: Path | None = None  # our own checkpoint, while it is written
        self._rank = 0
        self._pid = os.getpid()  # the process whose handlers these are

    def _resume_hint(self, path: Path | str) -> str:
        """``continue with: sr-zoo fit <the run's arguments> --ckpt_path PATH``, a command that works as printed
        (the model, scale and recipe included); ``continue with --ckpt_path PATH`` where the command is unknown."""
        if not self.command:
            return f"continue with --ckpt_path {path}"
        args, skip = [], False
        for arg in self.command:  # the run's own --ckpt_path (a resumed run) gives way to the new one
            if skip:
                skip = False
            elif arg == "--ckpt_path":
                skip = True
            elif not arg.startswith("--ckpt_path="):
                args.append(arg)
        return f"continue with: {shlex.join([*args, '--ckpt_path', str(path)])}"

    # ------------------------------------------------------------------ handlers
    def _say(self, message: str) -> None:
        if self._rank == 0:
            print(f"sr-zoo: {message}", file=sys.stderr, flush=True)

    def _handle(self, signum: int, frame: Any) -> None:
        if os.getpid() != self._pid:  # a DataLoader worker forked with this handler, before its worker_init
            return
        if self.received is None:
            self.received = signum
            self._say(f"{signal.Signals(signum).name} received: stopping after this batch and writing a "
                      "checkpoint (Ctrl+C again to stop at once)")
        elif signum == signal.SIGINT and self._writing is not None:
            self._say(f"Ctrl+C again: still writing {self._writing}; stopping as soon as it is complete")
        elif signum == signal.SIGINT:
            request_stop(self._stopped_at_once)  # now, or once a checkpoint being written is complete
        # a repeated SIGTERM or SIGUSR1 (schedulers resend them): already stopping

    def _stopped_at_once(self, written: Path | None) -> Interrupted:
        if written is not None:
            where = f"after completing {written} ({self._resume_hint(written)})"
        else:
            latest = last_written()
            where = ("at once, without a new checkpoint; the newest is "
                     f"{latest} ({self._resume_hint(latest)})" if latest is not None else
                     "at once; no checkpoint was written by this run")
        stop = Interrupted(signal.SIGINT, f"SIGINT again: stopped {where}")
        stop.quiet = self._rank != 0  # under DDP rank 0 says it
        return stop

    def _install(self) -> None:
        import threading

        if threading.current_thread() is not threading.main_thread() or self._previous:
            return
        self._pid = os.getpid()
        for signum in _SIGNAL_EXIT:
            self._previous[signum] = signal.getsignal(signum)
            signal.signal(signum, self._handle)

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        self._previous = {}

    # ------------------------------------------------------------------ hooks
    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.received = None
        self._rank = trainer.global_rank
        self._install()
        rank_zero_info(f"sr_zoo: training; Ctrl+C or SIGTERM stops after the current batch and writes "
                       f"{self.checkpoint_path(trainer)}")

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        self._stop_if_asked(trainer, validating=False)

    def on_validation_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                                batch_idx: int, dataloader_idx: int = 0) -> None:
        if trainer.training or trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return
        self._stop_if_asked(trainer, validating=True)

    def _stop_if_asked(self, trainer: L.Trainer, validating: bool) -> None:
        stop = self.received is not None
        if trainer.world_size > 1:
            stop = trainer.strategy.reduce_boolean_decision(stop, all=False)
        if not stop:
            return
        path = self.checkpoint_path(trainer)
        for callback in trainer.checkpoint_callbacks:  # so that the resumed run's ModelCheckpoint
            if isinstance(callback, ModelCheckpoint) and callback.dirpath and Path(callback.dirpath) == path.parent:
                callback.last_model_path = str(path)  # overwrites this last.ckpt instead of adding last-v1.ckpt
        if validating:
            restart_validation(trainer)
        self._writing = path
        try:
            trainer.save_checkpoint(path, weights_only=False)
        finally:
            self._writing = None
        signum = self.received if self.received is not None else signal.SIGTERM
        mark_stopping()  # a signal from here on does not replace the line below
        self._restore()
        during = " during validation (it runs again on resume)" if validating else ""
        raise TrainingInterrupted(
            f"{signal.Signals(signum).name}: stopped{during} after {trainer.global_step} optimizer steps; "
            f"resumable checkpoint: {path} ({self._resume_hint(path)})",
            exit_code=_SIGNAL_EXIT.get(signum, 128 + int(signum)), quiet=trainer.global_rank != 0,
        )

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._restore()
        if self.received is not None:
            rank_zero_info(f"sr_zoo: {signal.Signals(self.received).name} arrived as training finished: "
                           "nothing was left to stop")

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        self._restore()

    def checkpoint_path(self, trainer: L.Trainer) -> Path:
        """``<first ModelCheckpoint's folder>/last.ckpt``, else under ``default_root_dir/checkpoints``."""
        return checkpoint_dir(trainer) / self.filename


def checkpoint_dir(trainer: L.Trainer) -> Path:
    """Where the run's checkpoints go: the first ``ModelCheckpoint``'s folder, else ``default_root_dir/checkpoints``."""
    for callback in trainer.checkpoint_callbacks:
        if isinstance(callback, ModelCheckpoint) and callback.dirpath:
            return Path(callback.dirpath)
    return Path(trainer.default_root_dir) / "checkpoints"
