"""Acceptance: DDP with two CPU processes (gloo) and two workers each gives each process different patches."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers.paths import TESTS

SCRIPT = [sys.executable, "-m", "helpers.ddp_patches_script"]  # with PYTHONPATH=tests


def test_each_ddp_process_gets_different_patches(tmp_path: Path) -> None:
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONPATH": str(TESTS)}
    proc = subprocess.run(
        [*SCRIPT, str(tmp_path / "data"), str(tmp_path)],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rank0 = (tmp_path / "rank0.txt").read_text().splitlines()
    rank1 = (tmp_path / "rank1.txt").read_text().splitlines()
    # 40 items split over two ranks: 20 patches each, in 5 batches of 4.
    assert len(rank0) == len(rank1) == 20
    assert not set(rank0) & set(rank1)
    assert len(set(rank0)) == 20 and len(set(rank1)) == 20
