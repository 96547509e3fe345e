"""Checks of ``sr-zoo fit|validate|test|predict`` before LightningCLI builds anything, on the configuration it
parsed: the command line, ``--config`` files, ``--trainer FILE`` and the environment merged as LightningCLI will
use them (``SRZooCLI.parse_arguments`` calls ``check_run``), so no value escapes by the way it was given.

LightningCLI reads ``--ckpt_path`` itself (a bare ``torch.load``) and lets the checkpoint's saved
hyper-parameters override the run's, class path included: a checkpoint of another model or scale would
silently train that model instead, and a file that is not a checkpoint fails with a page of traceback.
An unwritable ``--trainer.default_root_dir`` only fails when the first checkpoint is written, at the end
of the first epoch. Each is one line here, before any work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sr_zoo.errors import CheckpointError, SRZooError

__all__ = ["check_accelerator", "check_ckpt_path", "check_fit_paths", "check_init_from", "check_run",
           "ckpt_file", "run_model_and_scale"]

_SPECIAL_CKPT = ("last", "best", "hpc", "registry")


def run_model_and_scale(config: Any) -> tuple[str | None, int | None]:
    """The zoo name of a subcommand's configured model (``model.class_path``) and its scale (``data.scale``,
    linked to the model's), where they are a zoo model and an integer (else None)."""
    from sr_zoo.models import list_models, model_info

    model = config.get("model")
    class_path = model.get("class_path") if hasattr(model, "get") else model
    name = None
    if isinstance(class_path, str) and class_path:
        short = class_path.rsplit(".", 1)[-1].lower()
        if short in list_models():
            name = model_info(short).name
        else:  # a class path of a registered class under another name
            for candidate in list_models():
                builder = model_info(candidate).builder
                if class_path in (f"{builder.__module__}.{builder.__qualname__}", builder.__qualname__):
                    name = candidate
    scale = config.get("data.scale")
    return name, scale if isinstance(scale, int) else None


def ckpt_file(value: Any) -> str | None:
    """The ``ckpt_path`` given when it names a file (not ``last``/``best``/``hpc``/a URL), else None."""
    if not value or not isinstance(value, str) or value in _SPECIAL_CKPT or "://" in value:
        return None
    return value


def check_run(config: Any, subcommand: str | None) -> None:
    """Every check, on LightningCLI's parsed configuration (``config[subcommand]``, or ``config`` itself where
    there is no subcommand), in one line each: the accelerator, the scale of the model, for ``fit`` the run folder
    and ``init_from``, and ``--ckpt_path``."""
    from sr_zoo.models import check_scale

    settings = config[subcommand] if subcommand else config
    name, scale = run_model_and_scale(settings)
    check_accelerator(settings.get("trainer.accelerator"))
    if name is not None and scale is not None:
        check_scale(name, scale)
    if subcommand == "fit":
        check_fit_paths(settings.get("trainer.default_root_dir"))
        check_init_from(settings.get("model.init_args.init_from"), name)
    check_ckpt_path(ckpt_file(settings.get("ckpt_path")), subcommand or "", name, scale)


def check_ckpt_path(path: str | None, subcommand: str, name: str | None, scale: int | None) -> None:
    """``--ckpt_path`` must be a zoo checkpoint of the run's model and scale whose weights fit it; a fit
    also needs the training state Lightning resumes (optimizer, schedulers, loops). One line otherwise."""
    if path is None:
        return
    try:
        _check_ckpt_file(path, subcommand, name, scale)
    except SRZooError as exc:
        message = str(exc)
        raise CheckpointError(message if message.startswith("--ckpt_path") else f"--ckpt_path {message}") from None


def _check_ckpt_file(path: str, subcommand: str, name: str | None, scale: int | None) -> None:
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


def check_init_from(path: Any, name: str | None) -> None:
    """``init_from`` (``--model.init_args.init_from`` or a recipe's) must be a readable zoo checkpoint of the run's
    model: one line before the trainer starts, not after its model summary (the model reads it at fit start)."""
    if not path or not isinstance(path, str):
        return
    from sr_zoo.models._registry import checkpoint_model, read_checkpoint

    flag = "--model.init_args.init_from"
    try:
        model, _ = checkpoint_model(read_checkpoint(path), path)
    except SRZooError as exc:
        message = str(exc)
        raise CheckpointError(f"{flag} {message if message.startswith(path) else f'{path}: {message}'}") from None
    if name is not None and model != name:
        raise CheckpointError(f"{flag} {path}: a checkpoint of {model or 'an unknown model'!r}, not of {name!r}")


def check_fit_paths(root: Any) -> None:
    """``fit`` writes checkpoints and logs under ``--trainer.default_root_dir`` (default: the current
    folder): it must be a writable folder before training starts, not at the first checkpoint."""
    from sr_zoo.files.images import check_writable_dir

    if isinstance(root, str) and "://" in root:  # a remote filesystem: Lightning's to judge
        return
    check_writable_dir(Path(str(root or ".")).expanduser(), "--trainer.default_root_dir")


def check_accelerator(accelerator: Any) -> None:
    """``--trainer.accelerator gpu|cuda|mps`` where there is none: one line naming the argument."""
    if not isinstance(accelerator, str):
        return
    import torch

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
