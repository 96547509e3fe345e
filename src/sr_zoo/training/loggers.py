"""The default logger of ``sr-zoo fit``: Weights & Biases that never prompts.

Without credentials (no ``WANDB_API_KEY``, no api.wandb.ai entry in ~/.netrc) and no ``WANDB_MODE``
chosen by the user, the run is logged offline and one line says how to upload it later
(``wandb sync``); ``--trainer.logger`` swaps it for CSV, TensorBoard or none.
"""

from __future__ import annotations

import contextlib
import netrc
import os
from typing import Any, Iterator

from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_info

__all__ = ["RUN_ID_KEY", "SRZooWandbLogger", "WANDB_MODES", "WandbRunId", "check_wandb_mode", "resume_run",
           "resuming_run", "wandb_credentials_found"]

RUN_ID_KEY = "sr_zoo_wandb_run_id"
"""Where a checkpoint holds the W&B run it was logged to (``WandbRunId``)."""

_resumed_run_id: str | None = None
WANDB_MODES = ("online", "offline", "shared", "disabled", "dryrun", "run")  # what wandb's settings accept


def check_wandb_mode() -> None:
    """``WANDB_MODE`` set but empty counts as unset (wandb itself fails on it with a traceback from its settings);
    a value wandb does not know is a one-line error naming the variable (the command line checks it first)."""
    mode = os.environ.get("WANDB_MODE")
    if mode is not None and not mode.strip():
        del os.environ["WANDB_MODE"]
    elif mode is not None and mode not in WANDB_MODES:
        from sr_zoo.errors import SRZooError

        raise SRZooError(f"WANDB_MODE={mode!r}: not a W&B mode; use one of {', '.join(WANDB_MODES)} (or unset it)")


def wandb_credentials_found() -> bool:
    """Whether W&B could log in without asking: an API key in the environment or in ~/.netrc."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


class SRZooWandbLogger(WandbLogger):
    """``WandbLogger`` (project ``sr_zoo``) that goes offline instead of prompting for a login."""

    def __init__(self, project: str = "sr_zoo", offline: bool | None = None, **kwargs: Any) -> None:
        check_wandb_mode()
        if offline is None:
            offline = "WANDB_MODE" not in os.environ and not wandb_credentials_found()
            if offline:
                rank_zero_info("sr_zoo: no W&B credentials found: logging offline under ./wandb "
                               "(upload later with `wandb sync <run folder>`, or `wandb login` first)")
        if _resumed_run_id and kwargs.get("id") is None and kwargs.get("version") is None:
            kwargs.update(id=_resumed_run_id, resume="allow")  # the same run, and the same checkpoint folder
            rank_zero_info(f"sr_zoo: resuming W&B run {_resumed_run_id} (the checkpoint's)")
        super().__init__(project=project, offline=offline, **kwargs)
        if self._wandb_init.get("anonymous") is None:  # Lightning passes None, which W&B warns has no effect
            self._wandb_init.pop("anonymous", None)


class WandbRunId(Callback):
    """Writes the W&B run id into every checkpoint, so that a fit resumed from it logs to that run and keeps
    its checkpoints in that run's folder (``resuming_run``), instead of starting another of each."""

    def on_save_checkpoint(self, trainer: Any, pl_module: Any, checkpoint: dict[str, Any]) -> None:
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger) and logger.version:
                checkpoint[RUN_ID_KEY] = str(logger.version)
                return


@contextlib.contextmanager
def resuming_run(run_id: str | None) -> Iterator[None]:
    """Within it, an ``SRZooWandbLogger`` made without an ``id`` continues W&B run ``run_id`` (``resume="allow"``;
    ``resume_run`` may name it later, once the run's checkpoint is known)."""
    global _resumed_run_id
    previous, _resumed_run_id = _resumed_run_id, run_id
    try:
        yield
    finally:
        _resumed_run_id = previous


def resume_run(run_id: str | None) -> None:
    """Inside ``resuming_run``: the W&B run that the loggers made from now on continue."""
    global _resumed_run_id
    _resumed_run_id = run_id
