"""The model registry: ``register_model``, ``create_model``, ``list_models`` (as in timm)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from torch import nn

from sr_zoo.errors import SRZooError

__all__ = ["ModelInfo", "check_scale", "checkpoint_model", "create_model", "inference_model", "list_models",
           "model_info", "read_checkpoint", "register_model"]


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
    the registry's weights (``sr_zoo.models.pretrained``: shipped or downloaded, sha256 checked)."""
    check_scale(name, scale)
    info = model_info(name)
    if pretrained:
        if checkpoint is not None:
            raise SRZooError("pass either checkpoint or pretrained=True, not both")
        from sr_zoo.models.pretrained import load_pretrained

        saved = load_pretrained(info.name, int(scale))
        model = info.builder(**{**saved.get("hyper_parameters", {}), **kwargs, "scale": int(scale)})
        model.net.load_state_dict(saved["state_dict"])
        return model
    if checkpoint is None:
        return info.builder(scale=int(scale), **kwargs)
    saved = read_checkpoint(checkpoint)
    model, saved_scale = checkpoint_model(saved, checkpoint)
    if model != info.name:
        raise SRZooError(f"{checkpoint}: a checkpoint of {model or 'an unknown model'!r}, not of {info.name!r}")
    if saved_scale != int(scale):
        raise SRZooError(f"{checkpoint}: trained for scale {saved_scale}, not {scale}")
    # LightningCLI adds private keys (_class_path, _instantiator); init_from is spent: the weights are here.
    saved_hparams = {k: v for k, v in saved.get("hyper_parameters", {}).items() if not str(k).startswith("_")}
    hparams = {**saved_hparams, **kwargs, "scale": int(scale)}
    hparams.pop("init_from", None)
    try:
        model = info.builder(**hparams)
    except (TypeError, ValueError, SRZooError) as exc:
        raise SRZooError(f"{checkpoint}: its hyper-parameters do not fit {info.name} "
                         f"({str(exc).splitlines()[0]})") from None
    try:
        model.load_state_dict(saved["state_dict"])
    except RuntimeError as exc:
        raise SRZooError(f"{checkpoint}: weights do not fit {info.name} ({_first_mismatch(exc)})") from None
    return model


def _first_mismatch(exc: RuntimeError) -> str:
    """The first concrete line of ``load_state_dict``'s report (a missing key, a shape), not its header."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    detail = next((line for line in lines[1:]), lines[0] if lines else type(exc).__name__)
    return detail if len(detail) < 300 else detail[:300] + " ..."


def checkpoint_model(saved: dict, path: str | os.PathLike) -> tuple[str | None, int | None]:
    """``(model name, scale)`` that a zoo checkpoint records (``None`` where it records none); one line for
    a checkpoint whose record, hyper-parameters or weights are not what a zoo checkpoint holds."""
    import torch

    meta = saved.get("sr_zoo", {})
    if not isinstance(meta, dict):
        raise SRZooError(f"{path}: not a zoo checkpoint (its 'sr_zoo' record is a {type(meta).__name__}, not a dict)")
    model, scale = meta.get("model"), meta.get("scale")
    if model is not None and not isinstance(model, str):
        raise SRZooError(f"{path}: not a zoo checkpoint (its model name is a {type(model).__name__}: {model!r})")
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, int)):
        raise SRZooError(f"{path}: not a zoo checkpoint (its scale is a {type(scale).__name__}: {scale!r})")
    hparams = saved.get("hyper_parameters", {})
    if not isinstance(hparams, dict):
        raise SRZooError(f"{path}: not a zoo checkpoint (hyper_parameters is a {type(hparams).__name__}, not a dict)")
    bad = next(((k, v) for k, v in saved["state_dict"].items()
                if not isinstance(k, str) or not isinstance(v, torch.Tensor)), None)
    if bad is not None:
        raise SRZooError(f"{path}: not a zoo checkpoint (state_dict entry {bad[0]!r} is a "
                         f"{type(bad[1]).__name__}, not a tensor)")
    return model, scale


def _check_finite(model: nn.Module, source: str | os.PathLike) -> None:
    import torch

    bad = sum(int((~torch.isfinite(p)).sum()) for p in model.parameters() if p.is_floating_point())
    if bad:
        total = sum(p.numel() for p in model.parameters())
        raise SRZooError(f"{source}: {bad} of {total} weights are NaN or infinite (a diverged or damaged "
                         "checkpoint); the model would output garbage")


def inference_model(name: str, scale: int, checkpoint: str | os.PathLike | None = None) -> nn.Module:
    """A model ready to upscale, in eval mode: from ``checkpoint``, else with the shipped or registered
    pretrained weights (one line if there are none); a model without weights (bicubic) as it is."""
    model = create_model(name, scale, checkpoint=checkpoint)
    if checkpoint is None and any(True for _ in model.parameters()):
        model = create_model(name, scale, pretrained=True)
    _check_finite(model, checkpoint if checkpoint is not None else f"the pretrained weights of {name} x{scale}")
    return model.eval()


def read_checkpoint(path: str | os.PathLike) -> dict:
    """A Lightning checkpoint as a dict, read safely (``weights_only=True``); one-line errors."""
    from sr_zoo.training.checkpointing import load_checkpoint_file

    saved = load_checkpoint_file(path)
    if not isinstance(saved, dict) or "state_dict" not in saved:
        raise SRZooError(f"{path}: not a Lightning checkpoint (no state_dict)")
    if not isinstance(saved["state_dict"], dict):
        raise SRZooError(f"{path}: not a Lightning checkpoint "
                         f"(its state_dict is a {type(saved['state_dict']).__name__})")
    return saved
