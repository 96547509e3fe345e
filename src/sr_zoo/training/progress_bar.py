"""``TimedProgressBar``: Lightning's tqdm bar, redrawn at most every ``min_interval`` seconds."""

from __future__ import annotations

import time

from lightning.pytorch.callbacks import TQDMProgressBar

__all__ = ["REDRAW_INTERVAL", "TimedProgressBar"]

REDRAW_INTERVAL = 0.5
"""Seconds between redraws of the bar (and between the step values ``SRModule.log_step_value`` hands it)."""


class TimedProgressBar(TQDMProgressBar):
    """``TQDMProgressBar`` that redraws when ``min_interval`` seconds have passed (and at each bar's end), not
    at every batch: Lightning's bar redraws by batch count (``refresh_rate``), and at a small model's 30-40 ms a
    step a redraw each batch is a visible share of it on a CPU, more under W&B, which captures the console.
    tqdm's own ``mininterval`` does not apply: Lightning forces each redraw."""

    def __init__(self, min_interval: float = REDRAW_INTERVAL, leave: bool = False) -> None:
        super().__init__(leave=leave)
        self.min_interval = min_interval
        self._last_redraw = 0.0

    def _should_update(self, current: int, total: int) -> bool:
        if not self.is_enabled:
            return False
        now = time.monotonic()
        if current == total or current == 1 or now - self._last_redraw >= self.min_interval:
            self._last_redraw = now
            return True
        return False
