"""The papers' training-data recipes as named presets, each citing the section it follows."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Recipe", "RECIPES", "get_recipe"]


@dataclass(frozen=True)
class Recipe:
    """Offline augmentation (scaled/rotated copies of each image), sub-image tiling and patch size.

    ``hr_patch`` is the HR patch side; ``lr_patch`` instead fixes the LR side (HR = lr_patch * scale).
    ``lr_from_image``: the LR of each (scaled) image is made whole and patches are cut from it, as the
    SRCNN/FSRCNN data scripts do; else each HR patch is degraded on its own (large images, seldom cached).
    ``bank_stride``: training serves the fixed set of LR sub-images at this stride on each image's LR grid,
    made once and memory-mapped (``sr_zoo.data.bank``), instead of cutting random patches per item.
    """

    name: str
    source: str
    offline_scales: tuple[float, ...] = (1.0,)
    offline_rotations: tuple[int, ...] = (0,)  # quarter turns counter-clockwise, as numpy.rot90
    online_augment: bool = True
    hr_patch: int | None = None
    lr_patch: int | None = None
    subimage: int | None = None  # tile each (rotated, scaled) image into subimage x subimage regions
    subimage_stride: int | None = None
    degradation: str = "bicubic"
    blur_sigma: float = 1.0
    lr_from_image: bool = False
    bank_stride: int | None = None  # serve a patch bank of LR sub-images at this stride (sr_zoo.data.bank)
    train: tuple[str, ...] = field(default=("demo",))

    def patch_size(self, scale: int) -> int | None:
        """HR patch side for ``scale``, or None when the recipe leaves it to the caller."""
        if self.lr_patch is not None:
            return self.lr_patch * scale
        return self.hr_patch


RECIPES: dict[str, Recipe] = {
    "none": Recipe("none", "random HR patches of the given size, flips and 90-degree rotations online"),
    # EMTCM paper, Sec. 4.1 (after FSRCNN): each image downscaled by 0.9/0.8/0.7/0.6 and rotated by
    # 90/180/270 degrees: 19 new versions, 20 with the original; f x f LR sub-images at stride n, the HR ones
    # at s times the offsets. The paper gives neither f nor n: f = 16 (48x48 HR at x3), n = 8 = f / 2 (SRCNN's
    # script overlaps its 33-pixel sub-images by about as much: stride 14); 85,196 sub-images of T91 at x3.
    "emtcm": Recipe(
        "emtcm",
        "EMTCM paper, Sec. 4.1",
        offline_scales=(1.0, 0.9, 0.8, 0.7, 0.6),
        offline_rotations=(0, 1, 2, 3),
        online_augment=False,
        lr_patch=16,
        lr_from_image=True,  # FSRCNN's data script: modcrop, imresize of the whole image, then sub-images
        bank_stride=8,
        train=("t91",),
    ),
    # CSRCNN paper, Sec. IV-B: offline downscaling by 0.9/0.8/0.7/0.5 (5x with the original), then
    # online rotations by 90/180/270 and flips; 32x32 LR patches; DIV2K.
    "csrcnn": Recipe(
        "csrcnn",
        "CSRCNN paper, Sec. IV-B",
        offline_scales=(1.0, 0.9, 0.8, 0.7, 0.5),
        online_augment=True,
        lr_patch=32,
        train=("div2k",),
    ),
    # MSFM GAN paper, Sec. 4.1: DIV2K rotated by 0/90/180/270, tiled into 400x400 sub-images at
    # stride 200, random 128x128 HR crops; LR by Gaussian blur (sigma 1.0) then bicubic.
    "msfmgan": Recipe(
        "msfmgan",
        "MSFM GAN paper, Sec. 4.1",
        offline_rotations=(0, 1, 2, 3),
        online_augment=False,
        hr_patch=128,
        subimage=400,
        subimage_stride=200,
        degradation="gaussian-bicubic",
        blur_sigma=1.0,
        train=("div2k",),
    ),
    # SRSEG paper, Sec. 3.4: a random HR crop with its labels from COCO-Stuff, x4. The paper's 82x82
    # is not a multiple of 4; 84x84 (21x21 LR) is the nearest aligned size and is used instead.
    "srseg": Recipe(
        "srseg",
        "SRSEG paper, Sec. 3.4",
        online_augment=True,
        hr_patch=84,
        train=("coco-stuff",),
    ),
}


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; an unknown name is a one-line error listing the known ones."""
    from sr_zoo.errors import SRZooError

    try:
        return RECIPES[name.lower()]
    except KeyError:
        raise SRZooError(f"unknown recipe {name!r}; available: {', '.join(RECIPES)}") from None
