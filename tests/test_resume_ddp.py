"""Acceptance: under DDP (2 gloo processes) a run resumed inside an epoch ends bit-identical too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from resume_runs import same

SCRIPT = Path(__file__).with_name("ddp_resume_script.py")


def _ddp(*args: str, cwd: Path) -> None:
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONPATH": str(SCRIPT.parent)}
    proc = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600,
                          env=env, cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize("name,step", [("csrcnn", 8), ("emtcm", 7), ("msfmgan", 8)])
def test_ddp_resume_inside_an_epoch_is_bit_identical(name: str, step: int, tmp_path: Path) -> None:
    full_root = tmp_path / "full"
    _ddp(name, str(full_root), str(tmp_path / "out_full"), cwd=tmp_path)
    resumed_root = tmp_path / "resumed"
    shutil.copytree(full_root, resumed_root, ignore=shutil.ignore_patterns("run"))
    name_step = step
    if name == "msfmgan":  # GAN checkpoints are named by optimizer steps
        from test_resume import _gan_steps

        name_step = _gan_steps(step)
    ckpt = full_root / "run" / "checkpoints" / f"step={name_step}.ckpt"
    _ddp(name, str(resumed_root), str(tmp_path / "out_resumed"), str(ckpt), cwd=tmp_path)
    full = [torch.load(tmp_path / "out_full" / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    resumed = [torch.load(tmp_path / "out_resumed" / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    # 24 items an epoch over 2 ranks, batches of 4 per rank: 3 batches an epoch on each, 4 epochs.
    assert len(full[0]["rows"]) == len(full[1]["rows"]) == 12
    for rank in (0, 1):
        assert resumed[rank]["rows"] == full[rank]["rows"][step:]
        assert same(resumed[rank]["weights"], full[rank]["weights"])
    assert same(full[0]["weights"], full[1]["weights"])
    # The ranks trained on different patches (first patch sums differ).
    assert [r[3] for r in full[0]["rows"]] != [r[3] for r in full[1]["rows"]]
