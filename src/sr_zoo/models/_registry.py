"""The model registry: ``register_model``, ``create_model``, ``list_models`` (as in timm)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from torch import nn

from sr_zoo.errors import SRZooError

__all__ = ["ModelInfo", "check_scale", "create_model", "inference_model", "list_models", "model_info", "read_checkpoint",
           "register_model"]


@dataclass(frozen=True)
class ModelInfo:
    """What the zoo knows about a model before building it."""

    name: str
    builder: Callable[..., nn.Module]  # the model class
    paper: str
    scales: tuple[int, ...] | None  # None: any integer scale >= 1


_REGISTRY: dict[str, ModelInfo] = {}


def register_model(name: str, *, paper: str, scales: Sequence[int] | None = None) -> Callable:
    """Class decorator adding a model (built as ``cls(scale=..., **kwargs)``) to the zoo under ``name``."""

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        if isinstance(builder, type):
            builder.model_name = name  # the one place a model's name is given (checkpoints record it)
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


def create_model(name: str, scale: int, checkpoint: str | os.PathLike | None = None, pretrained: bool = False,
                 **kwargs: Any) -> nn.Module:
    """Build model ``name`` for ``scale``; with ``checkpoint`` (a zoo checkpoint), rebuild it from the
    hyper-parameters saved there and load its weights (``weights_only=True``); with ``pretrained``, load
    the registry's weights (``sr_zoo.pretrained_weights``: shipped or downloaded, sha256 checked)."""
    check_scale(name, scale)
    info = model_info(name)
    if pretrained:
        if checkpoint is not None:
            raise SRZooError("pass either checkpoint or pretrained=True, not both")
        from sr_zoo.pretrained_weights import load_pretrained

        saved = load_pretrained(info.name, int(scale))
        model = info.builder(**{**saved.get("hyper_parameters", {}), **kwargs, "scale": int(scale)})
        model.net.load_state_dict(saved["state_dict"])
        return model
    if checkpoint is None:
        return info.builder(scale=int(scale), **kwargs)
    saved = read_checkpoint(checkpoint)
    meta = saved.get("sr_zoo", {})
    if meta.get("model") != info.name:
        raise SRZooError(f"{checkpoint}: a checkpoint of {meta.get('model') or 'an unknown model'!r}, not of {info.name!r}")
    if meta.get("scale") != int(scale):
        raise SRZooError(f"{checkpoint}: trained for scale {meta.get('scale')}, not {scale}")
    # LightningCLI adds private keys (_class_path, _instantiator); init_from is spent: the weights are here.
    saved_hparams = {k: v for k, v in saved.get("hyper_parameters", {}).items() if not k.startswith("_")}
    hparams = {**saved_hparams, **kwargs, "scale": int(scale)}
    hparams.pop("init_from", None)
    try:
        model = info.builder(**hparams)
    except TypeError as exc:
        raise SRZooError(f"{checkpoint}: its hyper-parameters do not fit {info.name} ({exc})") from None
    try:
        model.load_state_dict(saved["state_dict"])
    except RuntimeError as exc:
        raise SRZooError(f"{checkpoint}: weights do not fit {info.name} ({str(exc).splitlines()[0]})") from None
    return model


def inference_model(name: str, scale: int, checkpoint: str | os.PathLike | None = None) -> nn.Module:
    """A model ready to upscale, in eval mode: from ``checkpoint``, else with the shipped or registered
    pretrained weights (one line if there are none); a model without weights (bicubic) as it is."""
    model = create_model(name, scale, checkpoint=checkpoint)
    if checkpoint is None and any(True for _ in model.parameters()):
        model = create_model(name, scale, pretrained=True)
    return model.eval()


def read_checkpoint(path: str | os.PathLike) -> dict:
    """A Lightning checkpoint as a dict, read safely (``weights_only=True``); one-line errors."""
    from sr_zoo.checkpointing import load_checkpoint_file

    saved = load_checkpoint_file(path)
    if not isinstance(saved, dict) or "state_dict" not in saved:
        raise SRZooError(f"{path}: not a Lightning checkpoint (no state_dict)")
    return saved
