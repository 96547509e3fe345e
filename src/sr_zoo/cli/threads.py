"""Torch's CPU threads against the cores other processes keep busy.

Torch starts one thread per core; when another process keeps a core busy, every parallel region waits for the
thread that shares it: on this project's 2-core CPU with a training on one core, SRCNN x3's step (batch 4, 72x72)
took 0.31 s with torch's two threads and 0.03 s with one (docs/training.md, "A busy core"). No library here adjusts
for it (Lightning and torch read the core count, not the load), so the demo picks its threads and ``fit`` says so.
"""

from __future__ import annotations

import os
import time

__all__ = ["busy_cores", "idle_threads", "oversubscription_warning"]


def busy_cores() -> int:
    """Cores other work keeps busy now, rounded, at most all cores but one: their non-idle time over a quarter
    second while this process sleeps (Linux's ``/proc/stat``), else the 1-minute load average (which lags, still
    counting work that ended a minute ago), else 0."""
    busy = _busy_now()
    return max(0, min(round(busy), (os.cpu_count() or 1) - 1))


def _busy_now(window: float = 0.25) -> float:
    """Busy cores, as a float (see ``busy_cores``)."""
    def times() -> list[int]:
        with open("/proc/stat") as stat:
            return [int(v) for v in stat.readline().split()[1:]]

    try:
        before = times()
        time.sleep(window)
        after = times()
    except (OSError, ValueError):
        return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    spent = [b - a for a, b in zip(before, after)]
    total, idle = sum(spent[:8]), sum(spent[3:5])  # user nice system idle iowait irq softirq steal
    return (os.cpu_count() or 1) * (total - idle) / total if total else 0.0


def idle_threads(busy: int) -> int:
    """Torch's threads that fit the idle cores: its own count, at most the cores less ``busy``, at least one."""
    import torch

    return max(1, min(torch.get_num_threads(), (os.cpu_count() or 1) - busy))


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
    return (f"{busy} of {os.cpu_count()} cores are busy with other work and torch runs {threads} threads: a step can "
            f"be several times slower than with OMP_NUM_THREADS={fitting}")
