"""The default logger of ``sr-zoo fit``: Weights & Biases that never prompts.

Without credentials (no ``WANDB_API_KEY``, no api.wandb.ai entry in ~/.netrc) and no ``WANDB_MODE``
chosen by the user, the run is logged offline and one line says how to upload it later
(``wandb sync``); ``--trainer.logger`` swaps it for CSV, TensorBoard or none.
"""

from __future__ import annotations

import netrc
import os
from typing import Any

from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_info

__all__ = ["SRZooWandbLogger", "wandb_credentials_found"]


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
        if offline is None:
            offline = "WANDB_MODE" not in os.environ and not wandb_credentials_found()
            if offline:
                rank_zero_info("sr_zoo: no W&B credentials found: logging offline under ./wandb "
                               "(upload later with `wandb sync <run folder>`, or `wandb login` first)")
        super().__init__(project=project, offline=offline, **kwargs)
