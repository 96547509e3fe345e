"""Shared fixtures. Tests never touch the network or the user's caches."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("SR_ZOO_OFFLINE", "1")  # no test may download; the download tests serve 127.0.0.1
os.environ.setdefault("TORCH_HOME", tempfile.mkdtemp(prefix="sr_zoo_torch_home_"))

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SR_ZOO_SHARED", REPO.parent / "shared"))
SHARED_DATA = SHARED / "data"
PUBLISHED = SHARED / "reference" / "published-numbers.md"


def shared_set(name: str) -> Path:
    """Path of a real image set in ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real data not available: {path} is absent (it lives in the project's shared/ folder)")
    return path


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
