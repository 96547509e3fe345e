"""One small configuration of every registered model (a scale it supports, narrow and shallow, with
non-default hyper-parameters that a saved config must restore), for tests
that run every model through a mechanism (Hub format, export) in seconds."""

from __future__ import annotations

import torch

from sr_zoo.models import create_model

SMALL = {
    "bicubic": (3, {}),
    "csrcnn": (2, {"blocks_per_level": [1]}),
    "emtcm": (3, {"padding_mode": "replicate"}),  # not its default (zeros), as fsrcnn's and srcnn's is
    "fsrcnn": (2, {"d": 12, "s": 6, "m": 2}),
    "msfmgan": (2, {"widths": [8, 16, 32], "d_widths": [8, 16, 32, 64]}),
    "srcnn": (3, {"n1": 16, "n2": 8, "padding_mode": "zeros"}),  # the padding of checkpoints before the option
    "srgan": (2, {"n": 8, "blocks": 2, "patch_size": 24}),
    "srresnet": (4, {"n": 8, "blocks": 2}),
    "srseg": (2, {"n": 8, "blocks": 2, "patch_size": 24, "head_channels": 8}),
}


def small_model(name: str, seed: int = 0) -> torch.nn.Module:
    """``SMALL[name]`` built with ``torch.manual_seed(seed)``, in eval mode."""
    scale, hparams = SMALL[name]
    torch.manual_seed(seed)
    return create_model(name, scale, **hparams).eval()
