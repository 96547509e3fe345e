"""The memory layout a model runs inference in. On the CPU, oneDNN's convolutions run faster on channels-last
tensors than on NCHW ones, with the same results to float rounding (``benchmarks/memory_format.py`` measures
both, per model, on Set5), so ``auto`` means channels-last there; elsewhere it keeps PyTorch's default
layout until a GPU measurement says otherwise."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported on first use: the command-line parsers read MEMORY_FORMATS
    import torch
    from torch import nn

MEMORY_FORMATS = ("auto", "channels_last", "contiguous")


def inference_memory_format(device: str | torch.device, choice: str = "auto") -> torch.memory_format:
    """``choice`` (one of ``MEMORY_FORMATS``) as a ``torch.memory_format`` for inference on ``device``."""
    if choice not in MEMORY_FORMATS:
        raise ValueError(f"memory format must be one of {', '.join(MEMORY_FORMATS)}, got {choice!r}")
    import torch

    if choice == "auto":
        choice = "channels_last" if torch.device(device).type == "cpu" else "contiguous"
    return torch.channels_last if choice == "channels_last" else torch.contiguous_format


def to_inference_device(model: nn.Module, device: str | torch.device, memory_format: str = "auto") -> nn.Module:
    """``model`` moved to ``device`` with its convolution weights in the inference layout (``memory_format``);
    its inputs may stay NCHW: a convolution whose weight is channels-last computes in channels-last."""
    return model.to(device=device, memory_format=inference_memory_format(device, memory_format))
