"""Names a package exports but imports on first use (PEP 562), so that importing the package stays light."""

from __future__ import annotations

import importlib
from typing import Any, Callable


def lazy_exports(package: str, table: dict[str, str], exported: list[str]) -> tuple[Callable, Callable]:
    """``(__getattr__, __dir__)`` for ``package``: each name of ``table`` imported from its module when first
    looked up, then kept in the package's namespace."""
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exported})

    return __getattr__, __dir__


def lazy_package(package: str, modules: tuple[str, ...] = (".model",)) -> tuple[Callable, Callable]:
    """``(__getattr__, __dir__)`` for a model's folder: any public name of its ``modules`` (relative, ``".model"``)
    imported from the first that has it when first looked up, so that the folder's package, which holds the
    model's spec, imports without torch while ``sr_zoo.models.emtcm.EMTCM`` (the path before the folders) works."""
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        if not name.startswith("_"):
            for relative in modules:
                module = importlib.import_module(relative, package)
                if hasattr(module, name):
                    namespace[name] = value = getattr(module, name)
                    return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*namespace, *(n for m in modules for n in dir(importlib.import_module(m, package))
                                     if not n.startswith("_"))})

    return __getattr__, __dir__
