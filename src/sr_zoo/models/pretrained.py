"""The zoo's own weights for ``create_model(name, scale, pretrained=True)``: shipped in
``sr_zoo/models/weights/`` or fetched from a URL into the torch cache, each checked against the sha256
that ``manifest.json`` records with the command that made it."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from sr_zoo.errors import SRZooError
from sr_zoo.files.download import cached_download, sha256_of

__all__ = ["available_pretrained", "load_pretrained", "manifest", "sha256_of", "weight_scales"]


def manifest() -> dict[str, dict[str, Any]]:
    """The registry of pretrained weights: ``{"<model>_x<scale>": entry}``."""
    path = resources.files("sr_zoo.models.weights") / "manifest.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def available_pretrained() -> list[str]:
    return sorted(manifest())


def weight_scales(name: str) -> list[int]:
    """The scales at which the zoo has weights for ``name`` (shipped or downloadable), from the manifest alone:
    no torch is imported (``sr-zoo models`` answers at once)."""
    return sorted(int(key.rsplit("_x", 1)[1]) for key in manifest() if key.rsplit("_x", 1)[0] == name)


def _weights_file(key: str, entry: dict[str, Any]) -> Path:
    if "url" in entry:
        path = cached_download(entry["url"], f"pretrained weights of {key}", entry["sha256"])
    else:
        path = Path(str(resources.files("sr_zoo.models.weights") / entry["file"]))
        if not path.is_file():
            raise SRZooError(f"{path}: the shipped weights of {key} are missing from this installation")
    actual = sha256_of(path)
    if actual != entry["sha256"]:
        raise SRZooError(f"{path}: sha256 {actual[:12]}... is not the recorded {entry['sha256'][:12]}... "
                         f"of {key}; the file is damaged (delete it to fetch it again)")
    return path


def load_pretrained(name: str, scale: int) -> dict[str, Any]:
    """``{"state_dict": ..., "hyper_parameters": ...}`` of ``name`` at ``scale``; one line if there are none.
    The manifest entry's ``hyper_parameters`` (the padding the weights were trained with) override the file's."""
    key = f"{name}_x{int(scale)}"
    entries = manifest()
    if key not in entries:
        shipped = ", ".join(entries) or "none"
        raise SRZooError(f"no pretrained weights for {name} x{scale} (available: {shipped}); "
                         "train a model with `sr-zoo fit` and pass its checkpoint")
    path = _weights_file(key, entries[key])
    import torch  # here: reading the manifest (weight_scales) needs no torch

    saved = torch.load(path, map_location="cpu", weights_only=True)
    saved["hyper_parameters"] = {**saved.get("hyper_parameters", {}), **entries[key].get("hyper_parameters", {})}
    return saved
