"""Where things are: the repository, the tests, and the real data sets of the project's shared/ folder."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
EXPERIMENTS = REPO / "experiments"
SHARED = Path(os.environ.get("SR_ZOO_SHARED", REPO.parent / "shared"))
SHARED_DATA = SHARED / "data"
PUBLISHED = SHARED / "reference" / "published-numbers.md"


def shared_set(name: str) -> Path:
    """Path of a real image set in ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real data not available: {path} is absent (it lives in the project's shared/ folder)")
    return path


def load_benchmark(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` as a module (benchmarks/ is no package)."""
    return load_benchmark_file(REPO / "benchmarks" / f"{name}.py")


def load_benchmark_file(path: Path) -> ModuleType:
    """The script at ``path`` as a module named after it, loaded once and registered in ``sys.modules`` (its
    dataclasses look their module up there)."""
    name = path.stem
    if name not in sys.modules:
        if str(path.parent) not in sys.path:  # as ``python path`` runs it: its folder first (benchmarks/_common.py)
            sys.path.insert(0, str(path.parent))
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
