"""For the process-group interrupt tests: ``Job`` starts a command as a terminal starts a job and signals
all its processes; ``Announce`` and ``SlowCheckpointIO``, added to a real ``sr-zoo fit`` by class path
(``helpers.interrupt_helpers.Announce`` with ``PYTHONPATH=tests``), print markers on stderr that say where
the run is, so that a test can send its signal there, and pause long enough there. Neither changes what is
trained or written.

``SR_ZOO_TEST_PACE`` (seconds after each training and validation batch) and ``SR_ZOO_TEST_SAVE_PAUSE``
(seconds in the middle of each checkpoint write) set the pauses; both default to 0.
"""

from __future__ import annotations

import contextlib
import io
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

from sr_zoo.training.checkpointing import AtomicCheckpointIO, InterruptCheckpoint

TESTS = Path(__file__).resolve().parents[1]  # on PYTHONPATH: ``helpers.*`` importable by class path
_MARKERS = "test: "


def _say(message: str) -> None:
    print(f"test: {message}", file=sys.stderr, flush=True)


def _pause(name: str) -> None:
    time.sleep(float(os.environ.get(name, "0")))


class Announce(Callback):
    """``test: step S`` after each training batch, ``test: validating epoch=E step=S`` as a validation
    starts, ``test: validated epoch=E step=S <metrics>`` (the validation metrics, exact) as it ends."""

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        _say(f"step {trainer.global_step}")
        _pause("SR_ZOO_TEST_PACE")

    def on_validation_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any,
                                  batch_idx: int, dataloader_idx: int = 0) -> None:
        if not trainer.sanity_checking:
            if batch_idx == 0:
                _say(f"validating epoch={trainer.current_epoch} step={trainer.global_step}")
            _pause("SR_ZOO_TEST_PACE")

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            metrics = {k: float(v) for k, v in sorted(trainer.callback_metrics.items()) if k.startswith("val/")}
            _say(f"validated epoch={trainer.current_epoch} step={trainer.global_step} {metrics}")


class SlowCheckpointIO(AtomicCheckpointIO):
    """The zoo's atomic writer, writing each checkpoint in two halves ``SR_ZOO_TEST_SAVE_PAUSE`` seconds
    apart, with ``test: <writer> writing <path>`` in between (the writer: ``InterruptCheckpoint`` or
    ``ModelCheckpoint``): a signal sent on that line arrives while the temporary file is half-written."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        writer = _writer()
        real = torch.save

        def halves(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
            buffer = io.BytesIO()
            real(obj, buffer, *args, **kwargs)
            data = buffer.getvalue()
            f.write(data[: len(data) // 2])
            f.flush()
            _say(f"{writer} writing {path}")
            _pause("SR_ZOO_TEST_SAVE_PAUSE")
            f.write(data[len(data) // 2 :])

        torch.save = halves
        try:
            super().save_checkpoint(checkpoint, path, storage_options)
        finally:
            torch.save = real
        _say(f"{writer} wrote {path}")


def _writer() -> str:
    """Which callback asked for the checkpoint being written (the nearest on the call stack)."""
    frame = sys._getframe(1)
    while frame is not None:
        owner = frame.f_locals.get("self")
        if isinstance(owner, (InterruptCheckpoint, ModelCheckpoint)):
            return type(owner).__name__
        frame = frame.f_back
    return "Trainer"


# ---------------------------------------------------------------- the test side
def job_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(TESTS), **extra}


class Job:
    """A command started as a terminal starts a job (its own process group), its stderr read as it comes."""

    def __init__(self, args: list[str], cwd: Path, stdout: Path | None = None, **env: str) -> None:
        """``stdout``: a file for the job's standard output (default: discarded)."""
        out = open(stdout, "w") if stdout is not None else subprocess.DEVNULL  # noqa: SIM115 - the child's
        self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.PIPE, text=True,
                                     env=job_env(**env), cwd=cwd, start_new_session=True)
        if stdout is not None:
            out.close()  # the child holds its own copy
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float = 180) -> str:
        """Read stderr up to the first new line containing ``text``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {text!r} within {timeout} s:\n{self.stderr[-3000:]}") from None
            if line is None:
                raise AssertionError(f"exited ({self.proc.wait()}) before {text!r}:\n{self.stderr[-3000:]}")
            self.lines.append(line)
            if text in line:
                return line

    def signal(self, signum: int) -> None:
        """``signum`` to every process of the job, as a terminal or ``scancel`` sends it."""
        os.killpg(self.proc.pid, signum)

    def finish(self, timeout: float = 180) -> int:
        """The exit status, once the job's last process (workers included) is gone."""
        code = self.proc.wait(timeout=timeout)
        while (line := self._queue.get(timeout=30)) is not None:
            self.lines.append(line)
        deadline = time.monotonic() + 20
        while group_alive(self.proc.pid):
            assert time.monotonic() < deadline, "processes of the job outlived it (orphaned loader workers)"
            time.sleep(0.1)
        return code

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    @property
    def messages(self) -> list[str]:
        """The command's own stderr lines (not the test markers)."""
        return [line.strip() for line in self.lines if line.strip() and not line.startswith(_MARKERS)]

    def __enter__(self) -> "Job":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None or group_alive(self.proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
