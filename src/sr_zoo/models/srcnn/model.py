"""SRCNN, from "Image Super-Resolution Using Deep Convolutional Networks" (Dong et al., TPAMI 2016): the
f1-f2-f3 network on bicubically upsampled Y (9-1-5 by default; 9-3-5 and 9-5-5 are the journal's Sec. 4.3
variants), a baseline of the EMTCM paper (Table 2). See docs/baselines.md."""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor, nn

from sr_zoo.models._registry import register_model
from sr_zoo.models.base import PixelLossModule
from sr_zoo.models.blocks import PaddingMode, he_init_, normal_init_
from sr_zoo.ops import imresize

__all__ = ["SRCNN", "SRCNNNet", "loss_border_for"]


def loss_border_for(f1: int, f2: int, f3: int, scale: int) -> int:
    """HR pixels at each side of a patch beyond which the output is what the whole image gives: the three
    convolutions' radius plus a bound on the bicubic kernel's (2 LR pixels, ``scale`` HR pixels each) in
    ``forward``'s upsampling."""
    return f1 // 2 + f2 // 2 + f3 // 2 + 2 * scale


class SRCNNNet(nn.Module):
    """Bicubic upsampling, then conv f1 x f1 (n1) - ReLU - conv f2 x f2 (n2) - ReLU - conv f3 x f3, on one channel.

    Same padding keeps the HR size (the original trains on valid convolutions and crops the target): with
    ``padding_mode="replicate"`` as the authors' test code (SRCNN.m: ``imfilter(..., 'same', 'replicate')``),
    so their released weights score their published tables here. ``weight_init="paper"``: weights N(0, 0.001),
    biases 0, as in the SRCNN paper (Sec. 3.3, for SGD); ``"he"``: He's init for the two ReLU layers, the last one
    as the paper's (see ``SRCNN``).
    """

    def __init__(self, scale: int, n1: int = 64, n2: int = 32, f1: int = 9, f2: int = 1, f3: int = 5,
                 padding_mode: PaddingMode = "replicate", weight_init: Literal["paper", "he"] = "paper") -> None:
        super().__init__()
        if weight_init not in ("paper", "he"):
            raise ValueError(f"srcnn: weight_init must be 'paper' or 'he', got {weight_init!r}")
        self.scale = scale
        self.features = nn.Conv2d(1, n1, f1, padding=f1 // 2, padding_mode=padding_mode)
        self.mapping = nn.Conv2d(n1, n2, f2, padding=f2 // 2, padding_mode=padding_mode)
        self.reconstruction = nn.Conv2d(n2, 1, f3, padding=f3 // 2, padding_mode=padding_mode)
        for conv in (self.features, self.mapping):
            if weight_init == "he":
                he_init_(conv)
            else:
                normal_init_(conv, std=1e-3)
        normal_init_(self.reconstruction, std=1e-3)

    def forward(self, y: Tensor) -> Tensor:
        x = imresize(y, scale=self.scale)
        x = torch.relu(self.features(x))
        x = torch.relu(self.mapping(x))
        return self.reconstruction(x)


@register_model("srcnn")
class SRCNN(PixelLossModule):
    """SRCNN trained with MSE on Y; learning rates ``lr`` (first two layers) and ``last_lr`` (last), as
    the paper's 1e-4 and 1e-5, with Adam in place of its SGD (which needs ~10^8 steps at these rates).

    Args:
        scale: upscaling factor (2, 3 or 4).
        f1, f2, f3: kernel sizes of the three layers (9-1-5, 9-3-5, 9-5-5: the SRCNN journal paper, Sec. 4.3).
        n1, n2: maps of the first two layers (64 and 32).
        padding_mode: ``replicate`` (the authors' SRCNN.m) or ``zeros`` (PyTorch's; the zoo's weights
            before this option, which load with it).
        loss_border: HR pixels left out of the loss at each side of a training patch. The SRCNN paper
            (TPAMI 2016, Sec. 3.3) takes the MSE "only by the difference between the central pixels", away from
            the border effects of its unpadded convolutions; here a patch is upsampled inside ``forward``, so
            its border is also unlike a whole image's. ``loss_border_for(f1, f2, f3, scale)`` (12 for 9-1-5 x3)
            leaves only pixels computed as within a whole image; 0 scores the whole patch.
        weight_init: ``paper`` (N(0, 0.001), the SRCNN paper's, Sec. 3.3) or ``he`` (He's for the ReLU layers).
            The paper's tiny weights suit its SGD; under Adam, whose steps are ~``lr`` whatever the gradient, the
            first steps move the biases by as much as the units' whole input and switch units off for good: the
            9-1-5 x3 run of ``benchmarks/configs/srcnn_x3_cpu_long.yaml`` (paper init) ended with 33 of 64 first-
            and 16 of 32 second-layer units never active on its training patches (the authors' weights: 9 and 0),
            and a higher training loss than the authors' weights on the same patches (28.51 against 29.02 dB).
        init_from: checkpoint of a trained SRCNN whose weights start this model; read when a fit starts from
            scratch, not when it resumes.
    """

    y_channel = True
    legacy_hparams = {"padding_mode": "zeros"}

    def __init__(self, scale: int = 3, f1: int = 9, f2: int = 1, f3: int = 5, n1: int = 64, n2: int = 32,
                 padding_mode: PaddingMode = "replicate", lr: float = 1e-4, last_lr: float = 1e-5,
                 loss_border: int = 0, weight_init: Literal["paper", "he"] = "paper", init_from: str | None = None,
                 sample_images: int = 1) -> None:
        super().__init__(scale, sample_images)
        if loss_border < 0:
            raise ValueError(f"srcnn: loss_border must be >= 0, got {loss_border}")
        self.save_hyperparameters()
        self.net = SRCNNNet(scale, n1, n2, f1, f2, f3, padding_mode, weight_init)

    def pixel_loss(self, sr: Tensor, hr: Tensor) -> Tensor:
        border = self.hparams.loss_border
        if border:
            if min(hr.shape[-2:]) <= 2 * border:
                raise ValueError(f"srcnn: loss_border {border} leaves nothing of a {hr.shape[-2]}x{hr.shape[-1]} "
                                 f"HR patch; use a patch larger than {2 * border} (data.patch_size)")
            sr, hr = sr[..., border:-border, border:-border], hr[..., border:-border, border:-border]
        return super().pixel_loss(sr, hr)

    def optimizer_parameters(self) -> dict[str, list[dict[str, Any]]]:
        return self.last_layer_groups("reconstruction", self.hparams.lr, self.hparams.last_lr)
