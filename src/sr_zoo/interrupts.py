"""Ctrl+C and SIGTERM as a terminal or a scheduler sends them: to every process of the command at once.

* The command's own process turns them into :class:`~sr_zoo.errors.Interrupted` (``command_signals``),
  so that cleanup runs as it does for Ctrl+C (temporary files go), and the command prints one line and
  exits 128 + signal. During training ``sr_zoo.training.checkpointing.InterruptCheckpoint`` handles them instead.
* While a file is written atomically (``deferred_signals``), such a stop waits until the write is done:
  the file is then complete, never half-written, and the process stops right after it.
* DataLoader worker processes ignore them (``worker_init``, the ``worker_init_fn`` of ``SRDataModule``'s
  loaders): the main process decides when to stop and shuts its workers down. A worker that ran the main
  process's handler would die, and take the run with it ("DataLoader worker exited unexpectedly").
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

from sr_zoo.errors import Interrupted

__all__ = ["STOP_SIGNALS", "command_signals", "deferred_signals", "end_workers_at_exit", "ignore_stop_signals",
           "mark_stopping", "request_stop", "worker_init"]

STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)
# What workers ignore: the stop signals and SLURM's pre-emption warning (sbatch --signal=USR1@90), whose
# default action would kill them.
_WORKER_IGNORED = STOP_SIGNALS + ((signal.SIGUSR1,) if hasattr(signal, "SIGUSR1") else ())

_depth = 0  # nesting of deferred_signals blocks in this process
_pending: Callable[[Path | None], BaseException] | None = None  # the stop a block holds back
_stopping = False  # a stop is on its way out: repeated signals are not raised again
_owner = os.getpid()  # the process that installed command_signals' handlers (a forked worker inherits them)
_what_stopped = ""  # command_signals' context, for the message
_exit_registered = False


def mark_stopping() -> None:
    """Note that the process is stopping (a checkpoint written, ``TrainingInterrupted`` raised): signals
    that follow are not raised again over the message that says how to continue."""
    global _stopping
    _stopping = True


def request_stop(make: Callable[[Path | None], BaseException]) -> None:
    """Raise ``make(None)`` now, or, inside ``deferred_signals``, ``make(path)`` once the outermost block
    has written its ``path`` (the first request wins)."""
    global _pending
    if _depth:
        if _pending is None:
            _pending = make
        return
    mark_stopping()
    raise make(None)


@contextlib.contextmanager
def deferred_signals(path: str | os.PathLike | None = None) -> Iterator[None]:
    """Hold back stops that signal handlers request (``request_stop``) until the block has finished
    writing ``path``; then raise the first one. If the block fails, its error is raised and the held
    stop dropped (the error ends the command as well)."""
    global _depth, _pending
    _depth += 1
    try:
        yield
    except BaseException:
        _depth -= 1
        if not _depth:
            _pending = None
        raise
    _depth -= 1
    if not _depth and _pending is not None:
        make, _pending = _pending, None
        mark_stopping()
        raise make(Path(path) if path is not None else None)


def _stop(signum: int, frame: object) -> None:
    if os.getpid() != _owner or _stopping:  # a forked worker before its worker_init, or already stopping
        return

    def make(written: Path | None) -> Interrupted:
        detail = f" ({_what_stopped})" if _what_stopped else ""
        if written is not None:
            detail += f", after completing {written}"
        return Interrupted(signum, f"{signal.Signals(signum).name}: stopped{detail}")

    request_stop(make)


@contextlib.contextmanager
def command_signals(context: str = "") -> Iterator[None]:
    """For the ``with`` block, Ctrl+C and SIGTERM raise ``Interrupted`` (deferred while a file is written
    atomically); ``context`` follows the signal's name in its message. Earlier handlers come back after."""
    global _what_stopped, _stopping, _owner
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    saved = _what_stopped, _stopping, _owner
    _what_stopped, _stopping, _owner = context, False, os.getpid()
    for signum in STOP_SIGNALS:
        signal.signal(signum, _stop)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        _what_stopped, _stopping, _owner = saved


def ignore_stop_signals() -> None:
    """Ignore SIGINT, SIGTERM and SIGUSR1 in this process (a DataLoader worker: see the module's notes)."""
    for signum in _WORKER_IGNORED:
        signal.signal(signum, signal.SIG_IGN)


def end_workers_at_exit() -> None:
    """At interpreter exit, end daemonic child processes still running (DataLoader workers) even if they
    ignore SIGTERM: SIGTERM, then SIGKILL one second later (registered once).

    Multiprocessing's own exit handler sends its daemonic children SIGTERM, which ``worker_init``'s
    workers ignore, and then waits for them: a loader whose workers were not shut down (a stop at an
    unusual point) would make the process hang at exit instead.
    """
    global _exit_registered
    if not _exit_registered:
        atexit.register(_end_daemonic_children)  # runs before multiprocessing's handler, registered earlier
        _exit_registered = True


def _end_daemonic_children(grace: float = 1.0) -> None:
    children = [child for child in multiprocessing.active_children() if child.daemon]
    for child in children:
        child.terminate()
    deadline = time.monotonic() + grace
    for child in children:
        child.join(max(0.0, deadline - time.monotonic()))
        if child.is_alive():
            child.kill()
            child.join()


def worker_init(worker_id: int, rank: int = 0) -> None:
    """A DataLoader ``worker_init_fn``: ignore the stop signals, then seed the worker as Lightning's own
    ``worker_init_fn`` does under ``seed_everything(workers=True)`` (which this one takes the place of)."""
    ignore_stop_signals()
    if int(os.environ.get("PL_SEED_WORKERS", "0")):
        from lightning.fabric.utilities.seed import pl_worker_init_function

        pl_worker_init_function(worker_id, rank=rank)
