"""Module paths of the flat layout before issue 18 (``sr_zoo.callbacks``, ``sr_zoo.loggers`` ...), kept
importable so that saved run configs (``class_path: sr_zoo.loggers.SRZooWandbLogger``), old
checkpoints' records and user code still work; each import of an old path warns once
(``DeprecationWarning``) with the new one."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from typing import Any, Callable, Sequence

# old module -> the modules that now hold its names, in lookup order
MOVED: dict[str, tuple[str, ...]] = {
    "sr_zoo.callbacks": ("sr_zoo.training.schedules", "sr_zoo.inference.prediction_writer"),
    "sr_zoo.progress": ("sr_zoo.training.progress",),
    "sr_zoo.checkpointing": ("sr_zoo.training.checkpointing",),
    "sr_zoo.loggers": ("sr_zoo.training.loggers",),
    "sr_zoo.schedule_trace": ("sr_zoo.cli.schedule_trace",),
    "sr_zoo.losses_gan": ("sr_zoo.losses",),
    "sr_zoo.weights": ("sr_zoo.losses.perceptual", "sr_zoo.files.download", "sr_zoo.errors"),
    "sr_zoo.pretrained_weights": ("sr_zoo.models.pretrained", "sr_zoo.files.download"),
    "sr_zoo.tiling": ("sr_zoo.inference.tiling",),
    "sr_zoo.evaluation": ("sr_zoo.inference.evaluation",),
    "sr_zoo.figures": ("sr_zoo.inference.figures",),
    "sr_zoo.data.io": ("sr_zoo.files.images", "sr_zoo.errors"),
    "sr_zoo.data.imagefile": ("sr_zoo.files.images", "sr_zoo.files.atomic"),
    "sr_zoo.data.cache": ("sr_zoo.files.atomic",),
    "sr_zoo.data.benchmark": ("sr_zoo.data.eval_sets",),
    # issue 29: a folder per paper; SRResNet and SRGAN went with SRSEG, whose baselines they are
    "sr_zoo.models.srgan": ("sr_zoo.models.srseg.srgan",),
}
# names that changed as well as their module
RENAMED: dict[str, dict[str, str]] = {"sr_zoo.weights": {"cached_weights": "cached_download"}}


class _MovedModule(types.ModuleType):
    """An old module path: attribute lookups go to the modules that now hold the names."""

    def __init__(self, name: str, targets: Sequence[str]) -> None:
        super().__init__(name, f"Moved to {', '.join(targets)} (issue 18).")
        self._targets = tuple(targets)
        self._renamed = RENAMED.get(name, {})

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        attr = self._renamed.get(attr, attr)
        for target in self._targets:
            module = importlib.import_module(target)
            if hasattr(module, attr):
                return getattr(module, attr)
        raise AttributeError(f"module {self.__name__!r} (now {', '.join(self._targets)}) has no attribute {attr!r}")

    def __dir__(self) -> list[str]:
        return sorted({n for t in self._targets for n in dir(importlib.import_module(t))})


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        targets = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {', '.join(targets)}; the old path will go in a later release",
                      DeprecationWarning, stacklevel=2)
        return _MovedModule(spec.name, targets)

    def exec_module(self, module: types.ModuleType) -> None:
        return None


def install() -> None:
    """Make the old paths importable (once per process)."""
    if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedFinder())


def moved_names(module: str, moved: dict[str, str]) -> Callable[[str], Any]:
    """``__getattr__`` for ``module``, whose names in ``moved`` went to another module (issue 29: to their paper's
    folder): an old name resolves there on first use, with a ``DeprecationWarning`` naming the new place, never at
    import (so that a lower layer still imports no model)."""

    def __getattr__(name: str) -> Any:
        target = moved.get(name)
        if target is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warnings.warn(f"{module}.{name} moved to {target}; the old path will go in a later release",
                      DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(target), name)

    return __getattr__
