"""The papers' published values (``published.json``, package data) as rows the benchmark prints beside its
measurements; plain JSON reading, no torch (``sr-zoo models`` reads it too)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = ["AUTHORS_TABLE", "PublishedRow", "published", "published_for"]

AUTHORS_TABLE = "the authors' released weights"
"""The ``table`` of the rows that the SRCNN and FSRCNN authors published for their released weights."""


@dataclass(frozen=True)
class PublishedRow:
    """One published figure: ``model`` (the zoo's name) trained on ``train``, scored on ``test`` at ``scale``."""

    model: str
    train: str | None
    test: str
    scale: int
    psnr: float
    ssim: float | None
    paper: str
    table: str

    @property
    def source(self) -> str:
        return f"{self.paper} {self.table}" + (f", trained on {self.train}" if self.train else "")


@lru_cache(maxsize=1)
def published() -> tuple[PublishedRow, ...]:
    """Every published row the zoo knows (``sr_zoo/inference/published.json``)."""
    data = json.loads((resources.files("sr_zoo.inference") / "published.json").read_text())
    return tuple(PublishedRow(**row) for row in data["rows"])


def published_for(model: str, test: str, scale: int) -> list[PublishedRow]:
    """The published rows of ``model`` (a zoo name; a trailing ``+`` for self-ensemble is ignored) on ``test``."""
    name = model.rstrip("+").lower()
    return [r for r in published() if r.model == name and r.test.lower() == test.lower() and r.scale == scale]
