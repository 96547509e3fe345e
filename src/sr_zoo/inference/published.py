"""The papers' published values as rows the benchmark prints beside its measurements: each paper folder's
``published.json`` (``sr_zoo/models/<paper>/``, package data, beside its specs), plain JSON reading, no torch
(``sr-zoo models`` reads them too)."""

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
    """Every published row the zoo knows: the ``published.json`` of each folder that holds a model's spec."""
    from sr_zoo.models._registry import list_models, model_info

    folders: dict[str, set[str]] = {}  # each folder's models, in the registry's order
    for name in list_models():
        folders.setdefault(model_info(name).folder, set()).add(name)
    rows: list[PublishedRow] = []
    for folder, names in folders.items():
        path = resources.files(folder) / "published.json"
        if path.is_file():  # a folder gives rows of its own models only (a copied folder not yet renamed inside)
            rows += [PublishedRow(**row) for row in json.loads(path.read_text())["rows"] if row["model"] in names]
    return tuple(rows)


def published_for(model: str, test: str, scale: int) -> list[PublishedRow]:
    """The published rows of ``model`` (a zoo name; a trailing ``+`` for self-ensemble is ignored) on ``test``."""
    name = model.rstrip("+").lower()
    return [r for r in published() if r.model == name and r.test.lower() == test.lower() and r.scale == scale]
