"""Torch's CPU threads against the cores other processes keep busy.

Torch starts one thread per core; when another process keeps a core busy, every parallel region waits for the
thread that shares it: on this project's 2-core CPU with a training on one core, SRCNN x3's step (batch 4, 72x72)
took 0.31 s with torch's two threads and 0.03 s with one (docs/training.md, "A busy core"). No library here adjusts
for it (Lightning and torch read the core count, not the load), so the demo picks its threads and ``fit`` says so.
"""

from __future__ import annotations

import os
import time

__all__ = ["busy_cores", "idle_threads", "oversubscription_warning", "usable_cores"]


def usable_cores() -> int:
    """How many cores this process may run on (its affinity: ``taskset``, a batch scheduler's allocation)."""
    return len(_allowed_cores())


def _allowed_cores() -> set[int]:
    return set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))


def busy_cores() -> int:
    """Of this process's cores, how many other work keeps busy now, rounded half up, at most all but one: their
    non-idle time over a quarter second while this process sleeps (Linux's ``/proc/stat``), else the 1-minute load
    average (which lags, still counting work that ended a minute ago), else 0."""
    cores = usable_cores()
    return max(0, min(int(_busy_now() + 0.5), cores - 1))


def _busy_now(window: float = 0.25, stat: str = "/proc/stat") -> float:
    """Busy cores among this process's, as a float (see ``busy_cores``)."""
    allowed = _allowed_cores()

    def times() -> list[list[int]]:
        with open(stat) as lines:
            rows = [line.split() for line in lines if line.startswith("cpu") and line[3:4].isdigit()]
        return [[int(v) for v in row[1:9]] for row in rows if int(row[0][3:]) in allowed]

    try:
        before = times()
        time.sleep(window)
        after = times()
    except (OSError, ValueError):
        return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    busy = 0.0
    for a, b in zip(before, after):  # user nice system idle iowait irq softirq steal
        spent = [y - x for x, y in zip(a, b)]
        total = sum(spent)
        busy += (total - spent[3] - spent[4]) / total if total else 0.0
    return busy


def idle_threads(busy: int) -> int:
    """Torch's threads that fit the idle cores: its own count, at most this process's cores less ``busy``, at
    least one."""
    import torch

    return max(1, min(torch.get_num_threads(), usable_cores() - busy))


def oversubscription_warning() -> str | None:
    """A line for a CPU fit whose torch threads outnumber the idle cores (``OMP_NUM_THREADS`` unset), else None."""
    import torch

    if os.environ.get("OMP_NUM_THREADS"):
        return None
    busy = busy_cores()
    fitting = idle_threads(busy)
    threads = torch.get_num_threads()
    if busy == 0 or threads <= fitting:
        return None
    return (f"{busy} of {usable_cores()} cores are busy with other work and torch runs {threads} threads: a step can "
            f"be several times slower than with OMP_NUM_THREADS={fitting}")
