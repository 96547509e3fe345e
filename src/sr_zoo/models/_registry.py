"""The model registry: ``register_model``, ``create_model``, ``list_models`` (as in timm).

What the zoo knows about a model before building it (name, the module and class that define it, paper,
scales, parameter counts) is one spec per model, ``SPECS`` in the package of its paper's folder
(``sr_zoo/models/emtcm/__init__.py``), gathered by ``_table()``, from which the lazy exports of
``sr_zoo.models``, ``sr-zoo models`` and the tests' model lists derive, so that listing the models or
checking a ``--model``/``--scale`` imports neither torch nor Lightning. ``ModelInfo.builder`` imports the
model's module on first use; there ``@register_model(name)`` names the class and checks it is its spec's.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import os
import pkgutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from sr_zoo.errors import CheckpointError, SRZooError

if TYPE_CHECKING:
    from torch import nn

    from sr_zoo.inference.published import PublishedRow

__all__ = ["ModelInfo", "check_scale", "checkpoint_model", "create_model", "import_models", "inference_model",
           "list_models", "model_info", "read_checkpoint", "register_model", "saved_hparams", "TRAINING_ONLY_HPARAMS"]


@dataclass(frozen=True)
class ModelInfo:
    """What the zoo knows about a model before building it."""

    name: str
    module: str  # the module defining the model's class, imported by ``builder`` on first use
    class_name: str  # the class, exported lazily by ``sr_zoo.models``
    paper: str
    scales: tuple[int, ...] | None  # None: any integer scale >= 1
    parameters: dict[int, int]  # of ``create_model(name, scale).net`` with default arguments, per shown scale
    # A small configuration (a scale, narrow and shallow, non-default arguments a saved config must restore)
    # with which tests run every model through a mechanism (Hub format, export, tiling) in seconds.
    small: tuple[int, dict[str, Any]] = (2, {})

    @property
    def folder(self) -> str:
        """The package of the paper's folder that holds this spec (``sr_zoo.models.emtcm``)."""
        return self.module.rsplit(".", 1)[0]

    @property
    def published(self) -> tuple[PublishedRow, ...]:
        """The papers' rows for this model (its folder's ``published.json``: ``sr_zoo.inference.published``)."""
        from sr_zoo.inference.published import published

        return tuple(row for row in published() if row.model == self.name)

    @property
    def weights(self) -> list[int]:
        """The scales with the zoo's own weights (``sr_zoo/models/weights/manifest.json``)."""
        from sr_zoo.models.pretrained import weight_scales

        return weight_scales(self.name)

    @property
    def builder(self) -> Callable[..., nn.Module]:
        """The model class (``@register_model``'s), its module imported now if it was not yet."""
        if self.name not in _BUILDERS:
            importlib.import_module(self.module)
        try:
            return _BUILDERS[self.name]
        except KeyError:
            raise RuntimeError(f"{self.module} defines no @register_model({self.name!r}) class, as its spec "
                               "says it does") from None


@functools.cache
def _table() -> dict[str, ModelInfo]:
    """Every zoo model's spec: the ``SPECS`` of each folder (package) under ``sr_zoo/models``, one per paper.
    A folder's package holds only its specs, so finding them imports neither torch nor Lightning."""
    import sr_zoo.models as package

    table: dict[str, ModelInfo] = {}
    for entry in sorted(pkgutil.iter_modules(package.__path__), key=lambda e: e.name):
        if not entry.ispkg:
            continue
        folder = importlib.import_module(f"{package.__name__}.{entry.name}")
        for spec in getattr(folder, "SPECS", ()):
            if spec.name in table:
                raise ValueError(f"model {spec.name!r} has two specs: {table[spec.name].module}, {folder.__name__}")
            table[spec.name] = spec
    return dict(sorted(table.items()))


_BUILDERS: dict[str, Callable[..., nn.Module]] = {}  # filled by @register_model as the model modules import


def register_model(name: str, *, paper: str | None = None, scales: Sequence[int] | None = None) -> Callable:
    """Class decorator naming a model (built as ``cls(scale=..., **kwargs)``) ``name`` in the zoo: the class of
    its spec (``SPECS`` of its folder: module and class name). ``paper`` and ``scales``, where given
    (older code), must be its spec's too."""

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        spec = _table().get(name)
        if spec is None:
            raise ValueError(f"model {name!r} has no spec (SPECS in the __init__.py of its folder under "
                             "sr_zoo/models); add it there")
        declared = dataclasses.replace(
            spec, module=builder.__module__, class_name=builder.__name__,
            paper=spec.paper if paper is None else paper,
            scales=spec.scales if scales is None and paper is None else (tuple(scales) if scales is not None else None))
        if declared != spec:
            raise ValueError(f"@register_model({name!r}) on {builder.__module__}.{builder.__qualname__} says "
                             f"{declared}, its spec {spec}; make them agree")
        if name in _BUILDERS:
            raise ValueError(f"model {name!r} is registered twice")
        if isinstance(builder, type):
            builder.model_name = name  # the one place a model's name is given (checkpoints record it)
        _BUILDERS[name] = builder
        return builder

    return decorate


def import_models() -> dict[str, Callable[..., nn.Module]]:
    """Every model's class by name, their modules imported (for what finds classes among the imported ones,
    as LightningCLI's short class names do)."""
    return {name: info.builder for name, info in _table().items()}


def list_models() -> list[str]:
    """Names of every zoo model, sorted (the table: no model is imported)."""
    return list(_table())


def model_info(name: str) -> ModelInfo:
    """The registry entry of ``name``; an unknown name is a one-line error listing the known ones."""
    try:
        return _table()[name.lower()]
    except KeyError:
        raise SRZooError(f"unknown model {name!r}; available: {', '.join(list_models())}") from None


def check_scale(name: str, scale: int) -> None:
    """Raise a one-line error if ``name`` cannot upscale by ``scale``."""
    info = model_info(name)
    allowed = info.scales
    if int(scale) != scale or scale < 1 or (allowed is not None and scale not in allowed):
        what = ", ".join(str(s) for s in allowed) if allowed is not None else "any integer >= 1"
        raise SRZooError(f"model {info.name!r} cannot do scale {scale}; allowed scales: {what}")


def create_model(name: str, scale: int, checkpoint: str | os.PathLike | None = None,
                 pretrained: bool | str = False, **kwargs: Any) -> nn.Module:
    """Build model ``name`` for ``scale``; with ``checkpoint`` (a zoo checkpoint), rebuild it from the
    hyper-parameters saved there and load its weights (``weights_only=True``); with ``pretrained``, load
    weights by name: ``True`` or ``"zoo"`` the zoo's own (``sr_zoo.models.pretrained``: shipped or
    downloaded, sha256 checked), ``"authors"`` the paper authors' released ones (``sr_zoo.models.authors``:
    SRCNN, FSRCNN)."""
    check_scale(name, scale)
    info = model_info(name)
    if pretrained:
        if checkpoint is not None:
            raise SRZooError("pass either checkpoint or pretrained, not both")
        if pretrained not in (True, "zoo", "authors"):
            raise SRZooError(f"pretrained={pretrained!r}: expected True, 'zoo' (the zoo's own weights) or 'authors'")
        if pretrained == "authors":
            from sr_zoo.models.authors import load_authors

            saved = load_authors(info.name, int(scale))
        else:
            from sr_zoo.models.pretrained import load_pretrained

            saved = load_pretrained(info.name, int(scale))
        hparams = saved_hparams(info.builder, saved.get("hyper_parameters", {}))
        model = info.builder(**{**hparams, **kwargs, "scale": int(scale)})
        state = saved["state_dict"]
        if all(k.startswith("net.") for k in state):  # a whole model's state (converted), not model.net's
            state = {k[len("net."):]: v for k, v in state.items()}
        model.net.load_state_dict(state)
        return model
    if checkpoint is None:
        return info.builder(scale=int(scale), **kwargs)
    saved = read_checkpoint(checkpoint)
    model, saved_scale = checkpoint_model(saved, checkpoint)
    if model != info.name:
        raise SRZooError(f"{checkpoint}: a checkpoint of {model or 'an unknown model'!r}, not of {info.name!r}")
    if saved_scale != int(scale):
        raise SRZooError(f"{checkpoint}: trained for scale {saved_scale}, not {scale}")
    # init_from is spent: the weights are here.
    hparams = {**saved_hparams(info.builder, saved.get("hyper_parameters", {})), **kwargs, "scale": int(scale)}
    hparams.pop("init_from", None)
    try:
        model = info.builder(**hparams)
    except (TypeError, ValueError, SRZooError) as exc:
        raise SRZooError(f"{checkpoint}: its hyper-parameters do not fit {info.name} "
                         f"({str(exc).splitlines()[0]})") from None
    try:
        model.load_state_dict(saved["state_dict"])
    except RuntimeError as exc:
        raise SRZooError(f"{checkpoint}: weights do not fit {info.name} ({first_mismatch(exc)})") from None
    return model


# How a fit starts (from which weights, which layers train), not what the network is: left out of shipped weights.
TRAINING_ONLY_HPARAMS = frozenset({"init_from", "finetune"})


def saved_hparams(builder: Callable[..., nn.Module], hparams: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's hyper-parameters as the model class takes them: LightningCLI's private keys
    (``_class_path``, ``_instantiator``) dropped, and a layout hyper-parameter the checkpoint predates set
    to the value it was trained with (the class's ``legacy_hparams``), not to today's default."""
    public = {k: v for k, v in hparams.items() if not str(k).startswith("_")}
    return {**getattr(builder, "legacy_hparams", {}), **public}


def first_mismatch(exc: RuntimeError) -> str:
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


def inference_model(name: str, scale: int, checkpoint: str | os.PathLike | None = None,
                    weights: str = "zoo") -> nn.Module:
    """A model ready to upscale, in eval mode: from ``checkpoint``, else with the weights named ``weights``
    (``zoo``: the shipped or registered ones; ``authors``: the paper authors', see ``create_model``), one
    line if there are none; a model without weights (bicubic) as it is."""
    model = create_model(name, scale, checkpoint=checkpoint)
    if checkpoint is None and any(True for _ in model.parameters()):
        model = create_model(name, scale, pretrained=weights)
    named = "the authors' weights" if weights == "authors" else "the pretrained weights"
    source = checkpoint if checkpoint is not None else f"{named} of {name} x{scale}"
    _check_finite(model, source)
    return model.eval()


def read_checkpoint(path: str | os.PathLike) -> dict:
    """A Lightning checkpoint as a dict, read safely (``weights_only=True``); one-line errors."""
    from sr_zoo.training.checkpointing import load_checkpoint_file

    saved = load_checkpoint_file(path)
    if not isinstance(saved, dict):
        raise CheckpointError(f"{path}: not a Lightning checkpoint (it holds a {type(saved).__name__})")
    if "state_dict" not in saved:
        keys = ", ".join(sorted(map(str, saved))[:6]) or "nothing"
        raise CheckpointError(f"{path}: not a Lightning checkpoint (no state_dict; it holds {keys})")
    if not isinstance(saved["state_dict"], dict):
        raise CheckpointError(f"{path}: not a Lightning checkpoint "
                              f"(its state_dict is a {type(saved['state_dict']).__name__})")
    return saved
