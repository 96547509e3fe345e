"""One small configuration of every registered model (a scale it supports, narrow and shallow, with
non-default hyper-parameters that a saved config must restore), for tests
that run every model through a mechanism (Hub format, export) in seconds."""

from __future__ import annotations

import torch

from sr_zoo.models import create_model, list_models, model_info

SMALL = {name: model_info(name).small for name in list_models()}  # the registry's specs
# The zoo's light networks (under 100k parameters at every scale): cheap enough to test at full size.
LIGHT = [name for name in list_models() if max(model_info(name).parameters.values()) < 100_000]


def small_model(name: str, seed: int = 0) -> torch.nn.Module:
    """``SMALL[name]`` built with ``torch.manual_seed(seed)``, in eval mode."""
    scale, hparams = SMALL[name]
    torch.manual_seed(seed)
    return create_model(name, scale, **hparams).eval()
