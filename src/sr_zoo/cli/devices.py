"""``--device`` and ``--memory-format`` for the commands that run a model outside Lightning (benchmark, compare,
upscale)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from sr_zoo.errors import SRZooError
from sr_zoo.inference.layout import MEMORY_FORMATS

if TYPE_CHECKING:
    import torch

__all__ = ["add_device_argument", "resolve_device"]


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """``--device`` and ``--memory-format``, the same for every command that runs a model outside Lightning."""
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    parser.add_argument("--memory-format", default="auto", choices=MEMORY_FORMATS,
                        help="the model's layout: auto (default) is channels_last on the CPU, where it is faster and "
                        "gives the same results to float rounding (benchmarks/memory_format.py), contiguous elsewhere")


def resolve_device(name: str) -> torch.device:
    """``auto`` (CUDA when available, else CPU) or a torch device name; one line if it cannot be used."""
    import torch  # here, not at the top: the parsers that add --device import no torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise SRZooError(f"--device: unknown device {name!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SRZooError(f"--device: {name} requested but no CUDA device is available")
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise SRZooError(f"--device: {name} requested but no Apple MPS device is available; use cpu or auto")
    try:  # xpu, a CUDA index past the last GPU ...: this build or machine may not have it
        torch.empty(1, device=device)
    except (RuntimeError, AssertionError, AttributeError) as exc:
        reason = str(exc).strip().splitlines()[0].split(". ")[0] if str(exc).strip() else type(exc).__name__
        raise SRZooError(f"--device: {name} cannot be used here ({reason}); use cpu or auto") from None
    return device
