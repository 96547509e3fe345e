"""How strong the perceptual term is next to MSE under each VGG input convention (issue 16, item 5).

For SRSEG/SRGAN (VGG16 relu4_1, beta 2e-6) and the MSFM GAN (relu4_3, 0.1): the gradient norm, with
respect to the SR image, of ``weight x perceptual`` over that of the MSE term, for SR = bicubic
upsampling of Set5's LR (a realistic early SR output), with VGG's input ``imagenet`` ((x - mean) / std)
and ``srgan`` (255 (x - mean)). It uses the ImageNet VGG16 from the torch cache when it is there, else
random weights of the same architecture (torchvision's init), and says which.

What random weights can show: the ratio between the two conventions, which is arithmetic (a ReLU
network without biases is positively homogeneous, so 58x the input gives 58x the features and
~3,300x the squared distance; biases make it approximate). What they cannot show: the share of the
perceptual term next to MSE with the trained network, whose feature magnitudes differ from a random
init's; run with the real file in the cache for that.

Run: python benchmarks/perceptual_scale.py [--images 5]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from sr_zoo.data.eval_sets import make_lr, modcrop
from sr_zoo.files.images import list_images, read_image
from sr_zoo.losses import VGG16_LAYERS, PerceptualLoss
from sr_zoo.ops import imresize

SETTINGS = [("SRSEG / SRGAN", "relu4_1", 2e-6), ("MSFM GAN", "relu4_3", 0.1)]


def _extractor(layer: str) -> tuple[torch.nn.Module, str]:
    from torchvision.models import vgg16

    from sr_zoo.errors import WeightsError
    from sr_zoo.losses import vgg16_features

    os.environ.setdefault("SR_ZOO_OFFLINE", "1")  # a benchmark never downloads
    try:
        return vgg16_features(layer), "ImageNet VGG16 (torch cache)"
    except WeightsError:
        torch.manual_seed(0)
        features = vgg16(weights=None).features[: VGG16_LAYERS[layer] + 1].eval().requires_grad_(False)
        return features, "random-weight VGG16 (the ImageNet file is not in the torch cache)"


def _grad_norm(loss: torch.Tensor, x: torch.Tensor) -> float:
    (grad,) = torch.autograd.grad(loss, x)
    return float(grad.norm())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "Set5")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"{args.data}: Set5 not found (pass --data)", file=sys.stderr)
        return 2
    files = list_images(args.data)[: args.images]
    print(f"{len(files)} Set5 images, x4, SR = bicubic of the LR, 96x96 centre crops")
    print("| model | layer | weight | VGG | input | |grad w*perc| / |grad MSE| | perc loss / MSE loss |")
    print("|---|---|---:|---|---|---:|---:|")
    for model, layer, weight in SETTINGS:
        extractor, which = _extractor(layer)
        per_convention = {}
        for convention in ("imagenet", "srgan"):
            loss_fn = PerceptualLoss(layer, extractor=extractor, input=convention)
            ratios, values = [], []
            for path in files:
                hr = modcrop(read_image(path), 4)
                if hr.shape[0] == 1:
                    hr = hr.expand(3, -1, -1)
                h, w = hr.shape[-2:]
                top, left = (h - 96) // 2 // 4 * 4, (w - 96) // 2 // 4 * 4
                hr = hr[None, :, top : top + 96, left : left + 96]
                sr = imresize(make_lr(hr, 4), scale=4).clamp(0, 1).requires_grad_(True)
                mse = F.mse_loss(sr, hr)
                perceptual = weight * loss_fn(sr, hr)
                ratios.append(_grad_norm(perceptual, sr) / _grad_norm(mse, sr))
                values.append(float(perceptual.detach()) / float(mse.detach()))
            per_convention[convention] = (sum(ratios) / len(ratios), sum(values) / len(values))
            print(f"| {model} | {layer} | {weight:g} | {which.split(' (')[0]} | {convention} | "
                  f"{per_convention[convention][0]:.3g} | {per_convention[convention][1]:.3g} |")
        gain = per_convention["srgan"][1] / per_convention["imagenet"][1]
        ratio = per_convention["srgan"][0] / per_convention["imagenet"][0]
        print(f"| {model} | | | | srgan / imagenet | {ratio:.0f}x | "
              f"{gain:.0f}x |")
    print("(255 x mean ImageNet std = 57.7; squared: 3,330: the ratio a bias-free ReLU network would give)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
