"""Running a network on an image with a side too short for its convolutions' zero padding."""

from __future__ import annotations

from typing import Callable

import torch.nn.functional as F
from torch import Tensor


def run_padded(run: Callable[[Tensor], Tensor], lr: Tensor, min_side: int, pad: int) -> Tensor:
    """``run(lr)``, where each side of ``lr`` shorter than ``min_side`` is first replicate-padded by ``pad`` at
    both ends and cropped from the output after (at the factor the output's size shows): a 1x1 or 3x3 image
    is all border, where zero padding would darken it. Shared by ``SRModule.forward`` and ``ExportedModel``."""
    height, width = lr.shape[-2:]
    pad_h = pad if height < min_side else 0
    pad_w = pad if width < min_side else 0
    if not (pad_h or pad_w):
        return run(lr)
    sr = run(F.pad(lr, (pad_w, pad_w, pad_h, pad_h), mode="replicate"))
    s = sr.shape[-1] // (width + 2 * pad_w)
    return sr[..., pad_h * s : (pad_h + height) * s, pad_w * s : (pad_w + width) * s]
