"""Torch's CPU threads against busy cores (``sr_zoo.cli.threads``): a CPU fit beside other work says how many
threads fit the idle cores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from sr_zoo.cli import main, threads


@pytest.fixture
def two_cores_one_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(threads, "_busy_now", lambda: 1.2)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)


def test_threads_beyond_the_idle_cores_get_a_line(two_cores_one_busy: None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert threads.busy_cores() == 1 and threads.idle_threads(1) == 1
    assert threads.oversubscription_warning() == (
        "1 of 2 cores are busy with other work and torch runs 2 threads: a step can be several times slower than "
        "with OMP_NUM_THREADS=1")
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)  # already within the idle cores
    assert threads.oversubscription_warning() is None
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the user's choice
    assert threads.oversubscription_warning() is None
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(threads, "_busy_now", lambda: 0.3)  # an idle machine
    assert threads.oversubscription_warning() is None


def test_all_cores_busy_still_leaves_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setattr(threads, "_busy_now", lambda: 7.0)
    assert threads.busy_cores() == 3 and threads.idle_threads(3) == 1


def test_busy_cores_are_read_from_the_cpu_times(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Two readings of /proc/stat's first line a quarter second apart: 1 busy core of 2 is half the time not idle."""
    readings = iter(["cpu  100 0 100 800 0 0 0 0 0 0\n", "cpu  150 0 100 850 0 0 0 0 0 0\n"])

    class Stat:
        def __enter__(self) -> Stat:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def readline(self) -> str:
            return next(readings)

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr("builtins.open", lambda path: Stat())
    monkeypatch.setattr(threads.time, "sleep", lambda seconds: None)
    assert threads._busy_now() == pytest.approx(1.0)


def test_a_cpu_fit_beside_other_work_says_so(two_cores_one_busy: None, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SR_ZOO_DATA", str(tmp_path / "data"))
    with pytest.warns(UserWarning, match=r"^1 of 2 cores are busy with other work and torch runs 2 threads: .* "
                      r"OMP_NUM_THREADS=1$"):
        assert main(["fit", "--model", "fsrcnn", "--scale", "2", "--trainer.max_steps", "1", "--trainer.logger",
                     "false", "--trainer.enable_progress_bar", "false", "--trainer.limit_val_batches", "0"]) == 0
