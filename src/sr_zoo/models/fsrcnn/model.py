"""FSRCNN, from "Accelerating the Super-Resolution Convolutional Neural Network" (Dong, Loy and Tang, ECCV
2016): the closest baseline of the EMTCM paper (Table 2). See docs/baselines.md."""

from __future__ import annotations

from typing import Any, Literal

from torch import Tensor, nn

from sr_zoo.models._registry import register_model
from sr_zoo.models.base import PixelLossModule
from sr_zoo.models.blocks import ConvPReLU, PaddingMode, deconv_upsampler

__all__ = ["FSRCNN", "FSRCNNNet"]


class FSRCNNNet(nn.Module):
    """Feature extraction conv5(d), shrinking conv1(s), m x conv3(s), expanding conv1(d), PReLU after
    each, and a 9x9 deconvolution with stride ``scale``, on one (Y) channel in LR space.

    ``padding_mode="replicate"`` pads as the authors' FSRCNN.m and deconv.m do (every convolution
    ``imfilter(..., 'same', 'replicate')``; the deconvolution's LR map padded by one replicated pixel);
    ``deconv_padding`` ``None`` centres each LR pixel's 9x9 kernel on it (``centred_deconv_padding``: x2 4,
    x3 3, x4 4), where the authors' released weights land on the HR grid with no shift at scoring time.
    """

    def __init__(self, scale: int, d: int = 56, s: int = 12, m: int = 4, padding_mode: PaddingMode = "replicate",
                 deconv_padding: int | None = None) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvPReLU(1, d, 5, padding_mode),
            ConvPReLU(d, s, 1, padding_mode),
            *[ConvPReLU(s, s, 3, padding_mode) for _ in range(m)],
            ConvPReLU(s, d, 1, padding_mode),
        )
        self.deconv = deconv_upsampler(d, 1, 9, scale, padding=deconv_padding, padding_mode=padding_mode)

    def forward(self, y: Tensor) -> Tensor:
        return self.deconv(self.body(y))


@register_model("fsrcnn")
class FSRCNN(PixelLossModule):
    """FSRCNN trained with MSE on Y; learning rates ``lr`` (convolutions) and ``deconv_lr`` (deconvolution),
    as the paper's 1e-3 and 1e-4, with Adam in place of its SGD.

    Args:
        scale: upscaling factor (2, 3 or 4).
        d, s, m: the FSRCNN paper's (d, s, m): 56, 12, 4 (Sec. 3.2); FSRCNN-s is 32, 5, 1.
        padding_mode: ``replicate`` (the authors' FSRCNN.m and deconv.m) or ``zeros`` (PyTorch's).
        deconv_padding: the deconvolution's padding; ``None`` centres it (x2 4, x3 3, x4 4). The zoo's
            weights before these options were zero-padded with deconvolution padding 4, and load so.
        init_from: checkpoint of a trained FSRCNN (x3 for the cross-scale start) whose weights start this
            model; read when a fit starts from scratch, not when it resumes.
        finetune: ``all`` trains every layer; ``deconv`` only the deconvolution: the paper's transfer to
            another scale (the FSRCNN paper shares the convolutions between scales; the authors' released
            x2/x4 files also differ from x3 in their PReLU slopes), EMTCM's cross-scale (EMTCM Sec. 4.2).
    """

    y_channel = True
    legacy_hparams = {"padding_mode": "zeros", "deconv_padding": 4}

    def __init__(self, scale: int = 3, d: int = 56, s: int = 12, m: int = 4, padding_mode: PaddingMode = "replicate",
                 deconv_padding: int | None = None, lr: float = 1e-3, deconv_lr: float = 1e-4,
                 init_from: str | None = None, finetune: Literal["all", "deconv"] = "all",
                 sample_images: int = 1) -> None:
        super().__init__(scale, sample_images)
        self.save_hyperparameters()
        self.net = FSRCNNNet(scale, d, s, m, padding_mode, deconv_padding)
        if finetune == "deconv":
            self.train_only("deconv.")

    def optimizer_parameters(self) -> dict[str, list[dict[str, Any]]]:
        return self.last_layer_groups("deconv", self.hparams.lr, self.hparams.deconv_lr)
