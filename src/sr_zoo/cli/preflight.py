"""Checks of ``sr-zoo fit|validate|test|predict`` arguments before LightningCLI builds anything.

LightningCLI reads ``--ckpt_path`` itself (a bare ``torch.load``) and lets the checkpoint's saved
hyper-parameters override the run's, class path included: a checkpoint of another model or scale would
silently train that model instead, and a file that is not a checkpoint fails with a page of traceback.
An unwritable ``--trainer.default_root_dir`` only fails when the first checkpoint is written, at the end
of the first epoch. Each is one line here, before any work.

The values come from the command line and from ``--config`` files, later ones winning, as LightningCLI
reads them; a value set some other way (a ``--trainer FILE``, an environment variable) is not seen,
and then the check is skipped rather than guessed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from sr_zoo.errors import CheckpointError, SRZooError

__all__ = ["check_ckpt_path", "check_fit_paths", "check_init_from", "given_value", "run_model_and_scale"]

_CONFIG_FLAGS = ("--config", "-c")
_SPECIAL_CKPT = ("last", "best", "hpc", "registry")


def _read_config(path: str) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise SRZooError(f"--config {path}: cannot read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise SRZooError(f"--config {path}: not valid YAML ({' '.join(str(exc).split())[:200]})") from None
    return data if isinstance(data, dict) else {}


def _lookup(tree: dict[str, Any], dotted: str) -> Any:
    """``tree['model']['init_args']['scale']`` for ``model.init_args.scale``; ``KeyError`` if absent."""
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(dotted)
        node = node[part]
    return node


def given_value(args: Sequence[str], *keys: str) -> Any:
    """The last value given for any of ``keys`` (dotted, e.g. ``trainer.default_root_dir``) on the
    command line (``--key value``, ``--key=value``) or in a ``--config`` file; ``None`` if none is."""
    found = None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-") and "=" in arg:
            (flag, value), step = arg.split("=", 1), 1
        elif arg.startswith("-") and i + 1 < len(args) and not args[i + 1].startswith("--"):
            flag, value, step = arg, args[i + 1], 2
        else:
            flag, value, step = arg, None, 1
        if flag in _CONFIG_FLAGS and value:
            config = _read_config(value)
            for key in keys:
                try:
                    found = _lookup(config, key)
                except KeyError:
                    pass
        elif flag.startswith("--") and flag[2:] in keys:
            found = value
        i += step
    return found


def run_model_and_scale(args: Sequence[str]) -> tuple[str | None, int | None]:
    """The zoo name of the run's model and its scale, where the arguments say them (else None)."""
    from sr_zoo.models import list_models, model_info

    model = given_value(args, "model", "model.class_path")
    if isinstance(model, dict):
        model = model.get("class_path")
    name = None
    if isinstance(model, str) and model:
        short = model.rsplit(".", 1)[-1].lower()
        if short in list_models():
            name = model_info(short).name
        else:  # a class path of a registered class under another name
            for candidate in list_models():
                builder = model_info(candidate).builder
                if model in (f"{builder.__module__}.{builder.__qualname__}", builder.__qualname__):
                    name = candidate
    scale = given_value(args, "data.scale", "model.init_args.scale")
    try:
        scale = int(scale) if scale is not None else 4  # SRDataModule's default, linked to the model's
    except (TypeError, ValueError):
        scale = None
    return name, scale


def ckpt_path_value(args: Sequence[str]) -> str | None:
    """The ``--ckpt_path`` file given (not ``last``/``best``/``hpc``/a URL), or None."""
    value = given_value(args, "ckpt_path")
    if not value or not isinstance(value, str) or value in _SPECIAL_CKPT or "://" in value:
        return None
    return value


def check_ckpt_path(args: Sequence[str], subcommand: str) -> None:
    """``--ckpt_path`` must be a zoo checkpoint of the run's model and scale whose weights fit it; a fit
    also needs the training state Lightning resumes (optimizer, schedulers, loops). One line otherwise."""
    path = ckpt_path_value(args)
    if path is None:
        return
    try:
        _check_ckpt_file(path, args, subcommand)
    except SRZooError as exc:
        message = str(exc)
        raise CheckpointError(message if message.startswith("--ckpt_path") else f"--ckpt_path {message}") from None


def _check_ckpt_file(path: str, args: Sequence[str], subcommand: str) -> None:
    from sr_zoo.models import create_model
    from sr_zoo.models._registry import checkpoint_model, read_checkpoint

    saved = read_checkpoint(path)
    if subcommand == "fit":
        missing = [k for k, kind in (("optimizer_states", list), ("lr_schedulers", list), ("loops", dict))
                   if not isinstance(saved.get(k), kind)]
        if missing:
            raise CheckpointError(
                f"{path}: cannot resume a fit from it: no training state ({', '.join(missing)} missing or "
                "malformed; a weights-only checkpoint?); start a new run from its weights with init_from instead")
    saved_model, saved_scale = checkpoint_model(saved, path)
    name, scale = run_model_and_scale(args)
    if saved_model is None:
        raise CheckpointError(f"{path}: not a checkpoint of a zoo model (it records no sr_zoo model and scale)")
    if name is not None and saved_model != name:
        raise CheckpointError(f"{path}: a checkpoint of {saved_model!r}, not of {name!r} (--model); "
                              "LightningCLI would build the checkpoint's model instead")
    if scale is not None and saved_scale != scale:
        hint = ("; a deliberate cross-scale start is a new run with --model.init_args.init_from"
                if subcommand == "fit" else "")
        raise CheckpointError(f"{path}: trained for scale {saved_scale}, not {scale} (--scale){hint}")
    if name is not None and scale is not None:
        # What LightningCLI builds from its hyper-parameters, and its weights.
        create_model(name, scale, checkpoint=path)


def check_init_from(args: Sequence[str]) -> None:
    """``init_from`` (``--model.init_args.init_from`` or a recipe's) must be a readable zoo checkpoint of the run's
    model: one line before the trainer starts, not after its model summary (the model reads it at fit start)."""
    path = given_value(args, "model.init_args.init_from")
    if not path or not isinstance(path, str):
        return
    from sr_zoo.models._registry import checkpoint_model, read_checkpoint

    flag = "--model.init_args.init_from"
    try:
        model, _ = checkpoint_model(read_checkpoint(path), path)
    except SRZooError as exc:
        message = str(exc)
        raise CheckpointError(f"{flag} {message if message.startswith(path) else f'{path}: {message}'}") from None
    name, _ = run_model_and_scale(args)
    if name is not None and model != name:
        raise CheckpointError(f"{flag} {path}: a checkpoint of {model or 'an unknown model'!r}, not of {name!r}")


def check_fit_paths(args: Sequence[str]) -> None:
    """``fit`` writes checkpoints and logs under ``--trainer.default_root_dir`` (default: the current
    folder): it must be a writable folder before training starts, not at the first checkpoint."""
    from sr_zoo.files.images import check_writable_dir

    root = given_value(args, "trainer.default_root_dir")
    if root is None or (isinstance(root, str) and "://" in root):
        root = "." if root is None else None
    if root is not None:
        check_writable_dir(Path(str(root)).expanduser(), "--trainer.default_root_dir")


def check_accelerator(args: Sequence[str]) -> None:
    """``--trainer.accelerator gpu|cuda|mps`` where there is none: one line naming the argument."""
    import torch

    accelerator = given_value(args, "trainer.accelerator")
    if not isinstance(accelerator, str):
        return
    kind = accelerator.lower()
    if kind in ("gpu", "cuda") and not torch.cuda.is_available():
        mps = getattr(torch.backends, "mps", None)
        if not (kind == "gpu" and mps is not None and mps.is_available()):
            raise SRZooError(f"--trainer.accelerator {accelerator}: no CUDA GPU is available on this machine "
                             "(use cpu, or auto to take what there is)")
    if kind == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise SRZooError(f"--trainer.accelerator {accelerator}: no Apple MPS device is available on this machine "
                             "(use cpu, or auto to take what there is)")
