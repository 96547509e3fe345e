"""The VGG16 perceptual loss of the GAN papers, on torchvision's ImageNet weights fetched once into the
torch cache (``VGG16_URL``, checked against the SHA-256 prefix in its name)."""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sr_zoo.errors import WeightsError
from sr_zoo.files.download import cached_download

__all__ = ["PerceptualInput", "PerceptualLoss", "VGG16_LAYERS", "VGG16_URL", "vgg16_features", "vgg16_state_dict"]

VGG16_URL = "https://download.pytorch.org/models/vgg16-397923af.pth"  # torchvision's VGG16_Weights.IMAGENET1K_V1

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
    says which file is expected where (``vgg16_state_dict``).
    """
    from torchvision.models import vgg16

    if layer not in VGG16_LAYERS:
        raise ValueError(f"unknown VGG16 layer {layer!r}; known: {', '.join(VGG16_LAYERS)}")
    net = vgg16(weights=None)
    # Only the convolutional part is used: its keys are required, the classifier's are not read.
    state = {k[len("features."):]: v for k, v in vgg16_state_dict().items() if k.startswith("features.")}
    try:
        net.features.load_state_dict(state)
    except RuntimeError as exc:
        raise WeightsError(f"VGG16 weights in the torch cache do not fit torchvision's VGG16 "
                           f"({str(exc).splitlines()[0]}); delete the file to fetch it again") from None
    features = net.features[: VGG16_LAYERS[layer] + 1]
    features.requires_grad_(False)
    return features.eval()


def vgg16_state_dict(url: str = VGG16_URL) -> dict[str, Any]:
    """torchvision's VGG16 ImageNet weights, from the torch cache or fetched into it."""
    path = cached_download(url, "VGG16 ImageNet weights (for the perceptual loss)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"{path}: not loadable VGG16 weights ({type(exc).__name__}); "
                           "delete it to fetch it again") from None


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

    def extractor(self) -> nn.Module:
        """The feature network, built (VGG16 fetched) on first call: a method, not a property, so that
        inspecting the module (``hasattr``, ``dir``, TorchScript's tracer) never downloads."""
        if self._extractor[0] is None:
            self._extractor[0] = vgg16_features(self.layer)
        return self._extractor[0]

    def features(self, x: Tensor) -> Tensor:
        extractor = self.extractor()
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
