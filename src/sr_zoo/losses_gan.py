"""Losses of the adversarial papers: VGG perceptual loss and the adversarial losses.

Kept apart from ``sr_zoo.losses`` (EMTCM's) because the perceptual loss needs torchvision's VGG16
weights, fetched once into the torch cache (``sr_zoo.weights``).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["AdversarialLoss", "PerceptualInput", "PerceptualLoss", "VGG16_LAYERS", "vgg16_features"]

# Index (in torchvision's ``vgg16().features``) of the last module of each named activation.
VGG16_LAYERS = {
    "relu1_2": 3, "relu2_2": 8, "relu3_3": 15,
    "conv4_1": 17, "relu4_1": 18, "conv4_3": 21, "relu4_3": 22,
    "conv5_3": 28, "relu5_3": 29,
}
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg16_features(layer: str) -> nn.Sequential:
    """torchvision's VGG16 ``features`` with ImageNet weights, cut after ``layer``, frozen, in eval mode.

    The weights come from the torch cache; when they are not there and cannot be fetched, one line
    says which file is expected where (``sr_zoo.weights.vgg16_state_dict``).
    """
    from torchvision.models import vgg16

    from sr_zoo.weights import vgg16_state_dict

    if layer not in VGG16_LAYERS:
        raise ValueError(f"unknown VGG16 layer {layer!r}; known: {', '.join(VGG16_LAYERS)}")
    net = vgg16(weights=None)
    # Only the convolutional part is used: its keys are required, the classifier's are not read.
    state = {k[len("features."):]: v for k, v in vgg16_state_dict().items() if k.startswith("features.")}
    try:
        net.features.load_state_dict(state)
    except RuntimeError as exc:
        from sr_zoo.weights import WeightsError

        raise WeightsError(f"VGG16 weights in the torch cache do not fit torchvision's VGG16 "
                           f"({str(exc).splitlines()[0]}); delete the file to fetch it again") from None
    features = net.features[: VGG16_LAYERS[layer] + 1]
    features.requires_grad_(False)
    return features.eval()


PerceptualInput = Literal["imagenet", "srgan"]


class PerceptualLoss(nn.Module):
    """Mean squared distance between feature maps of SR and HR (MSFM GAN eq. 4; SRSEG eq. 1).

    Images in [0, 1] pass through a frozen ``extractor`` (default: VGG16 up to ``layer``: ``relu4_3``
    for the MSFM GAN, ``relu4_1`` for SRSEG). ``input`` is the VGG input convention, which sets the
    term's scale and so what a weight such as SRGAN's 2e-6 means:

    - ``imagenet``: ``(x - mean) / std`` with x in [0, 1], torchvision's convention (PyTorch ports, the
      MSFM GAN's own implementation);
    - ``srgan``: ``255 (x - mean)``, the mean-subtracted [0, 255] input of the Caffe VGG16 that SRGAN's
      weights were set for; features come out about 255 x 0.226 = 58 times larger, the squared
      distance about 3,300 times (exactly so for a bias-free ReLU network).

    The extractor is not a registered sub-module: it never enters a checkpoint or DDP, and it follows
    the input's device. Tests pass a small ``extractor`` and never download.
    """

    def __init__(self, layer: str = "relu4_3", extractor: nn.Module | None = None,
                 reduction: Literal["mean", "sum"] = "mean", input: PerceptualInput = "imagenet") -> None:
        super().__init__()
        if input not in ("imagenet", "srgan"):
            raise ValueError(f"perceptual input convention must be 'imagenet' or 'srgan', got {input!r}")
        self.layer, self.reduction, self.input = layer, reduction, input
        self._extractor = [extractor]  # a list hides it from nn.Module's registration (no state_dict, no DDP)
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    @property
    def extractor(self) -> nn.Module:
        if self._extractor[0] is None:
            self._extractor[0] = vgg16_features(self.layer)
        return self._extractor[0]

    def features(self, x: Tensor) -> Tensor:
        extractor = self.extractor
        parameter = next(extractor.parameters(), None)
        if parameter is not None and parameter.device != x.device:
            extractor.to(x.device)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        centred = x - self.mean.to(x.dtype)
        return extractor(centred * 255.0 if self.input == "srgan" else centred / self.std.to(x.dtype))

    def forward(self, sr: Tensor, hr: Tensor) -> Tensor:
        with torch.no_grad():
            target = self.features(hr)
        return F.mse_loss(self.features(sr), target, reduction=self.reduction)


class AdversarialLoss(nn.Module):
    """GAN losses on discriminator logits; ``generator`` and ``discriminator`` give each side's loss.

    ``kind``: ``"bce"`` (vanilla GAN: D minimises the binary cross-entropy, G minimises ``-log D(G(x))``,
    the non-saturating form, papers/msfmgan.txt eq. 5) or ``"lsgan"`` (least squares, targets 1/0).
    ``patch_reduction`` for patch discriminators (logits ``(N, 1, H', W')``): ``"mean_probability"``
    averages the patch probabilities first and takes the log of that mean (eq. 5 read literally: "the
    final score ... obtained by averaging the output responses of all the patches"), ``"per_patch"``
    averages per-patch losses (pix2pix). A discriminator with one logit per image gives the same either way.
    """

    def __init__(self, kind: Literal["bce", "lsgan"] = "bce",
                 patch_reduction: Literal["mean_probability", "per_patch"] = "mean_probability") -> None:
        super().__init__()
        if kind not in ("bce", "lsgan"):
            raise ValueError(f"adversarial loss kind must be 'bce' or 'lsgan', got {kind!r}")
        if patch_reduction not in ("mean_probability", "per_patch"):
            raise ValueError(f"patch_reduction must be 'mean_probability' or 'per_patch', got {patch_reduction!r}")
        self.kind, self.patch_reduction = kind, patch_reduction

    def _log_mean_sigmoid(self, logits: Tensor, sign: float) -> Tensor:
        """``log(mean_patches sigmoid(sign * logits))`` per image, computed stably in log space."""
        flat = F.logsigmoid(sign * logits.float()).flatten(1)
        return torch.logsumexp(flat, dim=1) - math.log(flat.shape[1])

    def _bce(self, logits: Tensor, real: bool) -> Tensor:
        sign = 1.0 if real else -1.0  # log(1 - sigmoid(l)) = logsigmoid(-l)
        if self.patch_reduction == "mean_probability":
            return -self._log_mean_sigmoid(logits, sign).mean()
        return -F.logsigmoid(sign * logits.float()).mean()

    def _lsgan(self, logits: Tensor, target: float) -> Tensor:
        if self.patch_reduction == "mean_probability":
            return ((logits.float().flatten(1).mean(dim=1) - target) ** 2).mean()
        return ((logits.float() - target) ** 2).mean()

    def generator(self, fake_logits: Tensor) -> Tensor:
        """G's loss: ``-log D(G(x))`` (bce) or ``(D(G(x)) - 1)^2`` (lsgan)."""
        return self._bce(fake_logits, real=True) if self.kind == "bce" else self._lsgan(fake_logits, 1.0)

    def discriminator(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        """D's loss: real images labelled 1, generated ones 0."""
        if self.kind == "bce":
            return self._bce(real_logits, real=True) + self._bce(fake_logits, real=False)
        return self._lsgan(real_logits, 1.0) + self._lsgan(fake_logits, 0.0)
