"""Tiny MSFM GANs and fixed batches for the GAN tests (CPU, seconds)."""

from __future__ import annotations

import hashlib
from typing import Any

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from sr_zoo.models import MSFMGAN
from sr_zoo.ops import imresize


def tiny_extractor() -> nn.Module:
    """A fixed small feature extractor standing in for VGG16 (nothing is downloaded)."""
    torch.manual_seed(123)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
    return net.requires_grad_(False).eval()


def tiny_gan(**kwargs: Any) -> MSFMGAN:
    defaults = dict(scale=2, widths=[8, 16, 32], d_widths=[8, 16, 16, 16], lr_decay_every=0,
                    perceptual_extractor=tiny_extractor())
    return MSFMGAN(**{**defaults, **kwargs})


def textures(n: int = 4, size: int = 32, seed: int = 0) -> torch.Tensor:
    """Sharp random textures in [0, 1]: sums of sinusoids plus a little noise."""
    g = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.arange(size).float(), torch.arange(size).float(), indexing="ij")
    images = []
    for _ in range(n):
        f = torch.rand(3, 2, generator=g) * 1.5 + 0.3
        phase = torch.rand(3, generator=g) * 6.28
        img = torch.stack([torch.sin(f[c, 0] * x + f[c, 1] * y + phase[c]) for c in range(3)]) * 0.4 + 0.5
        images.append((img + 0.05 * torch.randn(img.shape, generator=g)).clamp(0, 1))
    return torch.stack(images)


class FixedBatches(Dataset):
    """The same ``{"lr", "hr"}`` batch, ``length`` times (a loader with batch_size=None serves it as is)."""

    def __init__(self, hr: torch.Tensor, scale: int, length: int) -> None:
        self.hr, self.lr, self.length = hr, imresize(hr, scale=1 / scale).clamp(0, 1), length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"lr": self.lr, "hr": self.hr}


def loader(hr: torch.Tensor, scale: int, length: int) -> DataLoader:
    return DataLoader(FixedBatches(hr, scale, length), batch_size=None)


def trainer(**kwargs: Any) -> L.Trainer:
    defaults = dict(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
                    enable_model_summary=False, limit_val_batches=0, deterministic=True)
    return L.Trainer(**{**defaults, **kwargs})


def digest(module: nn.Module) -> str:
    """A hash of a module's parameters."""
    h = hashlib.sha256()
    for p in module.parameters():
        h.update(p.detach().cpu().numpy().tobytes())
    return h.hexdigest()


class GradNormProbe(MSFMGAN):
    """The MSFM GAN recording, in ``grad_norms``, the total gradient norm each optimizer step sees (after
    Lightning's unscaling and the module's clipping): what the gradient-clipping tests check."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.grad_norms: list[float] = []

    def on_before_optimizer_step(self, optimizer: Any) -> None:
        super().on_before_optimizer_step(optimizer)
        params = [p for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        self.grad_norms.append(torch.linalg.vector_norm(torch.stack([p.grad.float().norm() for p in params])).item())
