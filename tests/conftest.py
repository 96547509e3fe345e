"""Shared fixtures. Tests never touch the network or the user's caches.

Fixtures live here (or in the helper modules listed in ``pytest_plugins``), never imported by name into a
test module. Paths and other plain helpers are in ``tests/helpers``.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest

os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("SR_ZOO_OFFLINE", "1")  # no test may download; the download tests serve 127.0.0.1
os.environ.setdefault("TORCH_HOME", tempfile.mkdtemp(prefix="sr_zoo_torch_home_"))

# ``served``: a folder served on 127.0.0.1 with an empty torch cache (the weight-download tests).
pytest_plugins = ["helpers.local_http"]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
