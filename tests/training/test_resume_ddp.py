"""Acceptance: under DDP (2 gloo processes) a run resumed inside an epoch ends bit-identical too."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest
import torch

from helpers.interrupt_helpers import Job
from helpers.paths import TESTS
from helpers.resume_runs import gan_steps, same

SCRIPT = [sys.executable, "-m", "helpers.ddp_resume_script"]  # with PYTHONPATH=tests


def _ddp(*args: str, cwd: Path, **env: str) -> None:
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONPATH": str(TESTS), **env}
    proc = subprocess.run([*SCRIPT, *args], capture_output=True, text=True, timeout=600,
                          env=env, cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``full_run(name)``: the folder of the uninterrupted DDP run of ``name`` (run once per module)."""
    done: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in done:
            folder = tmp_path_factory.mktemp(f"ddp_full_{name}")
            _ddp(name, str(folder / "full"), str(folder / "out_full"), cwd=folder)
            done[name] = folder
        return done[name]

    return get


# EMTCM's (automatic optimization, like CSRCNN's, whose curriculum makes it the harder case) is kept for -m slow:
# 35 s of the default run's 15-minute budget.
@pytest.mark.parametrize("name,step", [("csrcnn", 8), pytest.param("emtcm", 7, marks=pytest.mark.slow),
                                       ("msfmgan", 8)])
def test_ddp_resume_inside_an_epoch_is_bit_identical(name: str, step: int, full_run: Callable[[str], Path],
                                                     tmp_path: Path) -> None:
    base = full_run(name)
    full_root = base / "full"
    resumed_root = tmp_path / "resumed"
    shutil.copytree(full_root, resumed_root, ignore=shutil.ignore_patterns("run"))
    name_step = step
    if name == "msfmgan":  # GAN checkpoints are named by optimizer steps
        name_step = gan_steps(step)
    ckpt = full_root / "run" / "checkpoints" / f"step={name_step}.ckpt"
    _ddp(name, str(resumed_root), str(tmp_path / "out_resumed"), str(ckpt), cwd=tmp_path)
    full = [torch.load(base / "out_full" / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    resumed = [torch.load(tmp_path / "out_resumed" / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    # 24 items an epoch over 2 ranks, batches of 4 per rank: 3 batches an epoch on each, 4 epochs.
    assert len(full[0]["rows"]) == len(full[1]["rows"]) == 12
    for rank in (0, 1):
        assert resumed[rank]["rows"] == full[rank]["rows"][step:]
        assert same(resumed[rank]["weights"], full[rank]["weights"])
    assert same(full[0]["weights"], full[1]["weights"])
    # The ranks trained on different patches (first patch sums differ).
    assert [r[3] for r in full[0]["rows"]] != [r[3] for r in full[1]["rows"]]


def test_ddp_sigterm_to_the_process_group_stops_every_rank_at_one_batch(full_run: Callable[[str], Path],
                                                                        tmp_path: Path) -> None:
    """SIGTERM to the whole job (both ranks and each rank's 2 loader workers), as ``scancel`` sends it:
    the workers ignore it, the ranks agree on the batch to stop after, ``last.ckpt`` is written once, the
    job exits 143 with one line; resumed (2 ranks, 2 workers each), each rank trains the uninterrupted
    run's remaining batches and ends with its weights, to the bit."""
    base = full_run("emtcm")
    root = tmp_path / "stopped"
    shutil.copytree(base / "full", root, ignore=shutil.ignore_patterns("run"))
    workers = {"SR_ZOO_TEST_WORKERS": "2"}
    with Job([*SCRIPT, "emtcm", str(root), str(tmp_path / "unused")], tmp_path,
             SR_ZOO_TEST_PACE="0.3", **workers) as job:
        job.wait_for("test: step 2")
        job.signal(signal.SIGTERM)
        assert job.finish() == 143, job.stderr[-3000:]
    assert "Traceback" not in job.stderr and "exited unexpectedly" not in job.stderr, job.stderr[-3000:]
    last = root / "run" / "checkpoints" / "last.ckpt"
    assert [m for m in job.messages if m.startswith("sr-zoo: SIGTERM: stopped")] == [job.messages[-1]]
    assert job.messages[-1].endswith(f"--ckpt_path {last})")  # a Trainer of its own: no sr-zoo command to repeat
    step = torch.load(last, weights_only=True)["global_step"]
    assert 2 <= step <= 4  # the batch running on both ranks, finished
    _ddp("emtcm", str(root), str(tmp_path / "out_resumed"), str(last), cwd=tmp_path, **workers)
    for rank in (0, 1):
        full_rank = torch.load(base / "out_full" / f"rank{rank}.pt", weights_only=True)
        resumed = torch.load(tmp_path / "out_resumed" / f"rank{rank}.pt", weights_only=True)
        assert resumed["rows"] == full_rank["rows"][step:]
        assert same(resumed["weights"], full_rank["weights"])
