"""The model registry: ``register_model``, ``create_model``, ``list_models`` (as in timm)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import nn

from sr_zoo.errors import SRZooError

__all__ = ["ModelInfo", "create_model", "list_models", "model_info", "register_model"]


@dataclass(frozen=True)
class ModelInfo:
    """What the zoo knows about a model before building it."""

    name: str
    builder: Callable[..., nn.Module]
    paper: str
    scales: tuple[int, ...] | None  # None: any integer scale >= 1


_REGISTRY: dict[str, ModelInfo] = {}


def register_model(name: str, *, paper: str, scales: Sequence[int] | None = None) -> Callable:
    """Decorator adding ``builder(scale=..., **kwargs) -> nn.Module`` to the zoo under ``name``."""

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = ModelInfo(name, builder, paper, tuple(scales) if scales is not None else None)
        return builder

    return decorate


def list_models() -> list[str]:
    """Names of every registered model, sorted."""
    return sorted(_REGISTRY)


def model_info(name: str) -> ModelInfo:
    """The registry entry of ``name``; an unknown name is a one-line error listing the known ones."""
    try:
        return _REGISTRY[name.lower()]
    except KeyError:
        raise SRZooError(f"unknown model {name!r}; available: {', '.join(list_models())}") from None


def check_scale(name: str, scale: int) -> None:
    """Raise a one-line error if ``name`` cannot upscale by ``scale``."""
    info = model_info(name)
    allowed = info.scales
    if int(scale) != scale or scale < 1 or (allowed is not None and scale not in allowed):
        what = ", ".join(str(s) for s in allowed) if allowed is not None else "any integer >= 1"
        raise SRZooError(f"model {info.name!r} cannot do scale {scale}; allowed scales: {what}")


def create_model(name: str, scale: int, checkpoint: str | os.PathLike | None = None, **kwargs: Any) -> nn.Module:
    """Build model ``name`` for ``scale``; with ``checkpoint``, load its weights (``weights_only=True``)."""
    check_scale(name, scale)
    model = model_info(name).builder(scale=int(scale), **kwargs)
    if checkpoint is not None:
        load_weights(model, checkpoint)
    return model


def load_weights(model: nn.Module, checkpoint: str | os.PathLike) -> None:
    """Load a state dict, or a Lightning checkpoint's ``state_dict``, into ``model`` safely."""
    path = Path(checkpoint)
    if not path.is_file():
        raise SRZooError(f"{path}: checkpoint not found")
    if not any(True for _ in model.parameters()):
        raise SRZooError(f"{path}: {type(model).__name__} has no weights, so it takes no checkpoint")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt file, pickle of arbitrary objects, wrong format
        raise SRZooError(f"{path}: not a loadable checkpoint ({str(exc).splitlines()[0]})") from None
    state = state.get("state_dict", state) if isinstance(state, dict) else state
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise SRZooError(f"{path}: weights do not fit {type(model).__name__} ({str(exc).splitlines()[0]})") from None
