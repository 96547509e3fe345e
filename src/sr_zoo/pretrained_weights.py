"""``create_model(name, scale, pretrained=True)``: weights shipped in ``sr_zoo/pretrained/`` (checked
against their recorded sha256) or fetched from a URL into the torch cache (checked likewise)."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from sr_zoo.errors import SRZooError

__all__ = ["available_pretrained", "load_pretrained", "manifest", "sha256_of"]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest() -> dict[str, dict[str, Any]]:
    """The registry of pretrained weights: ``{"<model>_x<scale>": entry}``."""
    path = resources.files("sr_zoo.pretrained") / "manifest.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def available_pretrained() -> list[str]:
    return sorted(manifest())


def _weights_file(key: str, entry: dict[str, Any]) -> Path:
    if "url" in entry:
        from sr_zoo.weights import cached_weights

        path = cached_weights(entry["url"], f"pretrained weights of {key}")
    else:
        path = Path(str(resources.files("sr_zoo.pretrained") / entry["file"]))
        if not path.is_file():
            raise SRZooError(f"{path}: the shipped weights of {key} are missing from this installation")
    actual = sha256_of(path)
    if actual != entry["sha256"]:
        raise SRZooError(f"{path}: sha256 {actual[:12]}... is not the recorded {entry['sha256'][:12]}... "
                         f"of {key}; the file is damaged (delete it to fetch it again)")
    return path


def load_pretrained(name: str, scale: int) -> dict[str, Any]:
    """``{"state_dict": ..., "hyper_parameters": ...}`` of ``name`` at ``scale``; one line if there are none."""
    key = f"{name}_x{int(scale)}"
    entries = manifest()
    if key not in entries:
        shipped = ", ".join(entries) or "none"
        raise SRZooError(f"no pretrained weights for {name} x{scale} (available: {shipped}); "
                         "train a model with `sr-zoo fit` and pass its checkpoint")
    path = _weights_file(key, entries[key])
    return torch.load(path, map_location="cpu", weights_only=True)
