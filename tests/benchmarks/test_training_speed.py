"""benchmarks/training_speed.py --profile: the table of own time per function, per fit step (behaviour only; no
timing is asserted)."""

from __future__ import annotations

import cProfile

import pytest

from helpers.paths import load_benchmark


def busy() -> int:
    return sum(i * i for i in range(20000))


def training_step() -> int:  # named as the module's step, by which the table counts steps
    return busy() + busy()


def test_the_profile_table_counts_per_training_step(capsys: pytest.CaptureFixture) -> None:
    bench = load_benchmark("training_speed")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(3):
        training_step()
    profiler.disable()
    bench.print_profile(profiler, 50)
    out = capsys.readouterr().out
    assert " in 3 steps; own time by function:" in out
    rows = [line.split("|") for line in out.splitlines() if line.startswith("| ") and "%" in line]
    assert 3 <= len(rows) <= 50
    shares = [float(row[1].strip().rstrip("%")) for row in rows]
    assert shares == sorted(shares, reverse=True) and sum(shares) <= 100.5
    calls = {row[4].strip().split(" (")[0]: float(row[3]) for row in rows}
    assert calls["training_step"] == 1.0 and calls["busy"] == 2.0  # calls per step: the step counts once
