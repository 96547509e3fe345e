"""Small stand-ins for the datasets, in each source's real folder layout (``sr_zoo.data.sources``),
and a same-architecture stand-in for torchvision's VGG16 weights (which cannot be fetched here)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from helpers.srseg_data import coco_stuff_standin


def _photo(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A smooth random colour image with some edges (uint8 BGR)."""
    h, w = size
    small = rng.uniform(0, 255, (max(2, h // 8), max(2, w // 8), 3)).astype(np.float32)
    image = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    image[h // 3 : h // 2, :, :] = rng.uniform(0, 255, 3)
    return np.clip(image, 0, 255).astype(np.uint8)


def _write(folder: Path, names: list[str], size: tuple[int, int], rng: np.random.Generator) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        cv2.imwrite(str(folder / name), _photo(size, rng))


def write_images(folder: Path, n: int = 2, size: int | tuple[int, int] = 40, ext: str = "png", seed: int = 0,
                 blur: float = 0.0) -> Path:
    """``n`` colour images ``0.<ext>``, ``1.<ext>`` ... of ``size`` (side, or height and width) in ``folder``
    (made if missing): uniform noise from ``numpy.random.default_rng(seed)``, Gaussian-blurred by ``blur``."""
    height, width = (size, size) if isinstance(size, int) else size
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        if blur:
            image = cv2.GaussianBlur(image, (0, 0), blur)
        cv2.imwrite(str(folder / f"{i}.{ext}"), image)
    return folder


def position_image(h: int, w: int) -> np.ndarray:
    """RGB uint8 image whose pixel (y, x) holds R = y, G = x, B = 200 (sizes below 256): where a patch came from."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([y, x, np.full_like(y, 200)], axis=-1).astype(np.uint8)


def source_coordinates(hr: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Original (y, x) of every pixel of a ``(3, H, W)`` patch in [0, 1] cut from a ``position_image``."""
    values = torch.round(hr * 255).long().numpy()
    return values[0], values[1]


def write_rgb(path: Path, rgb: np.ndarray) -> None:
    """Write an RGB (or single-channel) uint8 array as an image file, making its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else rgb)


def training_sets(root: Path, seed: int = 0) -> Path:
    """T91 (``T91/t1.bmp``), General-100 (``General100/im_1.bmp``), DIV2K (``DIV2K/DIV2K_train_HR/0001.png``,
    big enough for the MSFM GAN's 400x400 sub-images), COCO-Stuff (images + stuffthingmaps), Set5/Set14."""
    rng = np.random.default_rng(seed)
    _write(root / "T91", [f"t{i}.bmp" for i in range(1, 5)], (72, 80), rng)
    _write(root / "General100", [f"im_{i}.bmp" for i in range(1, 4)], (80, 72), rng)
    _write(root / "DIV2K" / "DIV2K_train_HR", [f"{i:04d}.png" for i in range(1, 3)], (416, 424), rng)
    _write(root / "Set5", ["baby.png", "bird.png"], (96, 96), rng)
    _write(root / "Set14", ["zebra.png"], (96, 120), rng)
    coco_stuff_standin(root, n=6, size=96, seed=seed)
    return root


def vgg16_standin(torch_home: Path) -> Path:
    """torchvision's VGG16 ``features`` with random weights, saved where ``sr_zoo.losses.perceptual`` looks for the
    ImageNet file: the perceptual losses then run their real loading path on the real architecture."""
    from torchvision.models import vgg16

    from sr_zoo.losses import VGG16_URL

    path = torch_home / "hub" / "checkpoints" / VGG16_URL.rsplit("/", 1)[-1]
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(0)
        state = {f"features.{k}": v for k, v in vgg16(weights=None).features.state_dict().items()}
        torch.save(state, path)
    return path
