"""Pretrained weights fetched into the torch cache: VGG16 (ImageNet) for the perceptual losses.

Downloads go through ``torch.hub.download_url_to_file`` (temporary file, SHA-256 prefix check, rename);
every failure is one ``WeightsError`` line naming the file expected and where it comes from.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import torch

from sr_zoo.errors import SRZooError

__all__ = ["VGG16_URL", "WeightsError", "cached_weights", "vgg16_state_dict"]

VGG16_URL = "https://download.pytorch.org/models/vgg16-397923af.pth"  # torchvision's VGG16_Weights.IMAGENET1K_V1


class WeightsError(SRZooError):
    """Pretrained weights that are missing and could not be fetched, or fail their checksum."""


def cached_weights(url: str, what: str) -> Path:
    """The torch-cache path of ``url``'s file, downloaded first if absent (unless ``SR_ZOO_OFFLINE=1``)."""
    name = url.rsplit("/", 1)[-1]
    path = Path(torch.hub.get_dir()) / "checkpoints" / name
    if path.is_file():
        return path
    hint = f"download {url} to {path} (or point TORCH_HOME at a folder holding hub/checkpoints/{name})"
    if os.environ.get("SR_ZOO_OFFLINE") == "1":
        raise WeightsError(f"{path}: {what} not found and SR_ZOO_OFFLINE=1 forbids downloading; {hint}")
    match = re.search(r"-([a-f0-9]{8,})\.", name)  # torchvision's names end in the SHA-256 prefix
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(url, str(path), match.group(1) if match else None, progress=True)
    except Exception as exc:  # URLError, HTTPError, OSError, the hash RuntimeError: all mean "not here"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"{path}: {what} not found and the download failed ({reason}); {hint}") from None
    return path


def vgg16_state_dict(url: str = VGG16_URL) -> dict[str, Any]:
    """torchvision VGG16 ImageNet weights, from the torch cache or fetched into it."""
    path = cached_weights(url, "VGG16 ImageNet weights (for the perceptual loss)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"{path}: not loadable VGG16 weights ({type(exc).__name__}); delete it to fetch it again") from None
