"""x8 self-ensemble, the "+" rows of EDSR's tables: the mean of the model's outputs on the eight flips
and rotations of the input, each turned back. Costs eight forward passes; no training."""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

__all__ = ["SelfEnsemble", "dihedral", "undo_dihedral"]


def dihedral(x: Tensor, index: int) -> Tensor:
    """Transform ``index`` (0..7) of the dihedral group on the last two axes: ``index % 4`` quarter turns,
    then a left-right flip for ``index >= 4``."""
    x = torch.rot90(x, index % 4, dims=(-2, -1))
    return x.flip(-1) if index >= 4 else x


def undo_dihedral(x: Tensor, index: int) -> Tensor:
    """The inverse of ``dihedral(., index)``."""
    x = x.flip(-1) if index >= 4 else x
    return torch.rot90(x, -(index % 4), dims=(-2, -1))


class SelfEnsemble(nn.Module):
    """``model`` averaged over the eight dihedral transforms of its input (in float32).

    A drop-in for the model in ``upscale``, tiled inference and scoring: it keeps ``scale``,
    ``min_input_side`` and ``tile_align``. Tiled equals whole only for models with ``tile_align == 1``
    (a flipped tile of a strided model sees its pooling grid from the other side).
    """

    def __init__(self, model: nn.Module | Callable[[Tensor], Tensor]) -> None:
        super().__init__()
        self.model = model
        for name in ("scale", "min_input_side"):
            if hasattr(model, name):
                setattr(self, name, getattr(model, name))
        self.tile_align = getattr(getattr(model, "net", model), "tile_align", 1)

    def forward(self, lr: Tensor) -> Tensor:
        total = None
        for index in range(8):
            sr = undo_dihedral(self.model(dihedral(lr, index)), index).float()
            total = sr if total is None else total + sr
        return total / 8
