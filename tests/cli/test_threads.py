"""Torch's CPU threads against busy cores (``sr_zoo.cli.threads``): a CPU fit beside other work says how many
threads fit the idle cores."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
import torch

from sr_zoo.cli import main, threads


@pytest.fixture
def two_cores_one_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
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
    monkeypatch.setattr(threads, "usable_cores", lambda: 4)
    monkeypatch.setattr(threads, "_busy_now", lambda: 7.0)
    assert threads.busy_cores() == 3 and threads.idle_threads(3) == 1
    monkeypatch.setattr(threads, "_busy_now", lambda: 0.5)  # half a core rounds up
    assert threads.busy_cores() == 1


def test_busy_cores_are_read_from_the_cpu_times(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Two readings of /proc/stat a quarter second apart, per core this process may use: a core half the time not
    idle counts half; a core outside the process's affinity does not count."""
    stat = tmp_path / "stat"
    lines = ["cpu  300 0 100 1600 0 0 0 0 0 0", "cpu0 100 0 0 400 0 0 0 0 0 0", "cpu1 100 0 100 400 0 0 0 0 0 0",
             "cpu2 100 0 0 800 0 0 0 0 0 0", "intr 12345"]
    later = ["cpu  400 0 150 1750 0 0 0 0 0 0", "cpu0 150 0 0 450 0 0 0 0 0 0", "cpu1 100 0 150 450 0 0 0 0 0 0",
             "cpu2 150 0 0 850 0 0 0 0 0 0", "intr 12399"]
    stat.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(threads, "time", types.SimpleNamespace(sleep=lambda _: stat.write_text("\n".join(later))))
    monkeypatch.setattr(threads, "_allowed_cores", lambda: {0, 1})
    assert threads._busy_now(stat=str(stat)) == pytest.approx(0.5 + 0.5)


def test_a_cpu_fit_beside_other_work_says_so(two_cores_one_busy: None, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SR_ZOO_DATA", str(tmp_path / "data"))
    with pytest.warns(UserWarning, match=r"^1 of 2 cores are busy with other work and torch runs 2 threads: .* "
                      r"OMP_NUM_THREADS=1$"):
        assert main(["fit", "--model", "fsrcnn", "--scale", "2", "--trainer.max_steps", "1", "--trainer.logger",
                     "false", "--trainer.enable_progress_bar", "false", "--trainer.limit_val_batches", "0",
                     "--trainer.accelerator", "cpu"]) == 0
