"""COCO-Stuff label maps as SRSEG's six classes (sky, ground, buildings, plants, water, other), and the
boundary mask that leaves pixels near class edges out of the segmentation loss (SRSEG paper, Sec. 3.2
and 3.4). Label maps hold 0-based COCO-Stuff ids (255: unlabeled); which class goes where, and why, is
in docs/coco_stuff_classes.md.
"""

from __future__ import annotations

from typing import NamedTuple, TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "BUILDINGS",
    "COCO_STUFF_LABELS",
    "COCO_STUFF_TO_SRSEG",
    "GROUND",
    "IGNORE_INDEX",
    "NUM_COCO_STUFF_LABELS",
    "OTHER",
    "PLANTS",
    "SKY",
    "SRSEG_CLASSES",
    "WATER",
    "CocoStuffClass",
    "boundary_mask",
    "disk",
    "map_coco_stuff_labels",
    "srseg_lookup_table",
]

SRSEG_CLASSES = ("sky", "ground", "buildings", "plants", "water", "other")
SKY, GROUND, BUILDINGS, PLANTS, WATER, OTHER = range(len(SRSEG_CLASSES))
IGNORE_INDEX = 255

# The 182 COCO-Stuff names by 0-based PNG value (labels.txt id - 1).
COCO_STUFF_LABELS: tuple[str, ...] = (
    # things, 0-90 (the 11 unannotated ones included, keeping the ids)
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",  # 0-8
    "traffic light", "fire hydrant", "street sign", "stop sign", "parking meter", "bench",  # 9-14
    "bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe",  # 15-24
    "hat", "backpack", "umbrella", "shoe", "eye glasses", "handbag", "tie", "suitcase",  # 25-32
    "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove",  # 33-39
    "skateboard", "surfboard", "tennis racket", "bottle", "plate", "wine glass", "cup",  # 40-46
    "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange", "broccoli",  # 47-55
    "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant", "bed",  # 56-64
    "mirror", "dining table", "window", "desk", "toilet", "door", "tv", "laptop", "mouse",  # 65-73
    "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",  # 74-80
    "refrigerator", "blender", "book", "clock", "vase", "scissors", "teddy bear",  # 81-87
    "hair drier", "toothbrush", "hair brush",  # 88-90
    # stuff, 91-181 (alphabetical, as in COCO-Stuff)
    "banner", "blanket", "branch", "bridge", "building-other", "bush", "cabinet", "cage",  # 91-98
    "cardboard", "carpet", "ceiling-other", "ceiling-tile", "cloth", "clothes", "clouds",  # 99-105
    "counter", "cupboard", "curtain", "desk-stuff", "dirt", "door-stuff", "fence",  # 106-112
    "floor-marble", "floor-other", "floor-stone", "floor-tile", "floor-wood", "flower",  # 113-118
    "fog", "food-other", "fruit", "furniture-other", "grass", "gravel", "ground-other",  # 119-125
    "hill", "house", "leaves", "light", "mat", "metal", "mirror-stuff", "moss", "mountain",  # 126-134
    "mud", "napkin", "net", "paper", "pavement", "pillow", "plant-other", "plastic",  # 135-142
    "platform", "playingfield", "railing", "railroad", "river", "road", "rock", "roof",  # 143-150
    "rug", "salad", "sand", "sea", "shelf", "sky-other", "skyscraper", "snow",  # 151-158
    "solid-other", "stairs", "stone", "straw", "structural-other", "table", "tent",  # 159-165
    "textile-other", "towel", "tree", "vegetable", "wall-brick", "wall-concrete",  # 166-171
    "wall-other", "wall-panel", "wall-stone", "wall-tile", "wall-wood", "water-other",  # 172-177
    "waterdrops", "window-blind", "window-other", "wood",  # 178-181
)  # fmt: skip
NUM_COCO_STUFF_LABELS = 182


class CocoStuffClass(NamedTuple):
    """One row of the COCO-Stuff -> SRSEG table: the COCO-Stuff name and the SRSEG class index."""

    name: str
    srseg: int


# Every COCO-Stuff class that belongs to one of the five SRSEG background classes, keyed by its
# 0-based PNG value. Everything else that is labelled is "other".
_BACKGROUND: dict[int, CocoStuffClass] = {
    # sky <- COCO-Stuff sky-stuff
    105: CocoStuffClass("clouds", SKY),
    156: CocoStuffClass("sky-other", SKY),
    119: CocoStuffClass("fog", SKY),  # judgment: water-stuff in COCO-Stuff, but haze in the sky, confused with clouds
    # ground <- COCO-Stuff ground-stuff
    110: CocoStuffClass("dirt", GROUND),
    124: CocoStuffClass("gravel", GROUND),
    125: CocoStuffClass("ground-other", GROUND),
    135: CocoStuffClass("mud", GROUND),
    139: CocoStuffClass("pavement", GROUND),
    143: CocoStuffClass("platform", GROUND),
    144: CocoStuffClass("playingfield", GROUND),
    146: CocoStuffClass("railroad", GROUND),
    148: CocoStuffClass("road", GROUND),
    153: CocoStuffClass("sand", GROUND),
    158: CocoStuffClass("snow", GROUND),  # judgment: ground-stuff; snow on the ground (distant snowy peaks: "mountain")
    # buildings <- COCO-Stuff building-stuff
    95: CocoStuffClass("building-other", BUILDINGS),
    127: CocoStuffClass("house", BUILDINGS),
    157: CocoStuffClass("skyscraper", BUILDINGS),
    150: CocoStuffClass("roof", BUILDINGS),  # judgment: building-stuff; the top of a building
    94: CocoStuffClass("bridge", BUILDINGS),  # judgment: building-stuff; man-made concrete/steel construction
    165: CocoStuffClass("tent", BUILDINGS),  # judgment: building-stuff (a shelter); rare, kept with its supercategory
    # plants <- COCO-Stuff plant-stuff
    93: CocoStuffClass("branch", PLANTS),  # judgment: plant-stuff; the woody part of trees and bushes
    96: CocoStuffClass("bush", PLANTS),
    118: CocoStuffClass("flower", PLANTS),
    123: CocoStuffClass("grass", PLANTS),
    128: CocoStuffClass("leaves", PLANTS),
    133: CocoStuffClass("moss", PLANTS),
    141: CocoStuffClass("plant-other", PLANTS),
    162: CocoStuffClass("straw", PLANTS),  # judgment: plant-stuff; dried grain stalks, still vegetation texture
    168: CocoStuffClass("tree", PLANTS),
    # water <- COCO-Stuff water-stuff (minus fog)
    147: CocoStuffClass("river", WATER),
    154: CocoStuffClass("sea", WATER),
    177: CocoStuffClass("water-other", WATER),  # incl. lakes
    178: CocoStuffClass("waterdrops", WATER),  # judgment: water-stuff; spray and drops, rare
}  # fmt: skip

# Deliberately "other" although they could pass for a background class (see the module docstring):
# hill 126, mountain 134, rock 149, stone 160, wood 181, wall-* 170-176, floor-* 113-117,
# fence 112, railing 145, potted plant 63.

# The complete table: every labelled COCO-Stuff id 0..181 -> (name, SRSEG class).
COCO_STUFF_TO_SRSEG: dict[int, CocoStuffClass] = {
    label: _BACKGROUND.get(label, CocoStuffClass(name, OTHER)) for label, name in enumerate(COCO_STUFF_LABELS)
}

if len(COCO_STUFF_LABELS) != NUM_COCO_STUFF_LABELS or any(
    COCO_STUFF_LABELS[label] != entry.name for label, entry in _BACKGROUND.items()
):  # a guard against editing one table and not the other
    raise RuntimeError("sr_zoo.data.coco_stuff: the COCO-Stuff label tables disagree")


def srseg_lookup_table() -> np.ndarray:
    """A ``(256,)`` uint8 table from the PNG value to the SRSEG class (0..5) or ``IGNORE_INDEX``.

    Entries 0..181 follow ``COCO_STUFF_TO_SRSEG``; 255 (unlabeled) and the values 182..254, which
    COCO-Stuff does not use, are ``IGNORE_INDEX``. A fresh array is returned each call.
    """
    lut = np.full(256, IGNORE_INDEX, dtype=np.uint8)
    for label, entry in COCO_STUFF_TO_SRSEG.items():
        lut[label] = entry.srseg
    return lut


_LabelMap = TypeVar("_LabelMap", np.ndarray, Tensor)


def map_coco_stuff_labels(label_map: _LabelMap) -> _LabelMap:
    """Map a COCO-Stuff stuffthingmap (PNG values) to SRSEG classes, elementwise, any shape.

    Takes a numpy array or a torch tensor of an integer dtype able to hold 255 (uint8, int16,
    int32, int64, ...) with values in 0..255, and returns the same type with the same dtype,
    shape and device: 0..5 for the SRSEG classes, ``IGNORE_INDEX`` for unlabeled pixels.
    """
    lut = srseg_lookup_table()
    if isinstance(label_map, Tensor):
        if label_map.dtype in (torch.bool, torch.int8) or label_map.is_floating_point() or label_map.is_complex():
            raise TypeError(f"label_map must be an integer tensor able to hold 255, got {label_map.dtype}")
        if label_map.numel() and (int(label_map.min()) < 0 or int(label_map.max()) > 255):
            raise ValueError("label_map values must lie in 0..255 (COCO-Stuff PNG values)")
        table = torch.from_numpy(lut).to(device=label_map.device, dtype=label_map.dtype)
        return table[label_map.long()]
    if isinstance(label_map, np.ndarray):
        if not np.issubdtype(label_map.dtype, np.integer) or label_map.dtype == np.int8:
            raise TypeError(f"label_map must be an integer array able to hold 255, got {label_map.dtype}")
        if label_map.size and (int(label_map.min()) < 0 or int(label_map.max()) > 255):
            raise ValueError("label_map values must lie in 0..255 (COCO-Stuff PNG values)")
        return lut[label_map].astype(label_map.dtype, copy=False)
    raise TypeError(f"label_map must be a numpy array or a torch tensor, got {type(label_map).__name__}")


def disk(radius: int) -> Tensor:
    """The disk structuring element of ``radius``: ``(2r+1, 2r+1)`` bool, True where dy² + dx² <= r².

    This is the usual digital disk (the one of ``skimage.morphology.disk``): radius 1 is the
    3x3 cross, radius 2 the 5x5 square without its 12 pixels at distance > 2 from the centre.
    """
    if int(radius) != radius or radius < 0:
        raise ValueError(f"radius must be a non-negative integer, got {radius}")
    offsets = torch.arange(-int(radius), int(radius) + 1)
    return offsets[:, None] ** 2 + offsets[None, :] ** 2 <= int(radius) ** 2


def _label_edges(labels: Tensor) -> Tensor:
    """Bool ``(N, H, W)``: True at pixels whose label differs from one of their 4 neighbours.

    Both pixels of each differing pair are marked (forward and backward differences), so the
    boundary is two pixels wide and symmetric about the class edge. The image border is no edge.
    """
    edges = torch.zeros_like(labels, dtype=torch.bool)
    horizontal = labels[..., :, 1:] != labels[..., :, :-1]
    edges[..., :, 1:] |= horizontal
    edges[..., :, :-1] |= horizontal
    vertical = labels[..., 1:, :] != labels[..., :-1, :]
    edges[..., 1:, :] |= vertical
    edges[..., :-1, :] |= vertical
    return edges


def boundary_mask(labels: Tensor, radius: int = 2, ignore_index: int = IGNORE_INDEX) -> Tensor:
    """SRSEG's boundary mask (paper section 3.2): True where the segmentation loss counts.

    ``labels`` is an ``(H, W)`` or ``(N, H, W)`` integer label map (uint8 or long, any device); the
    result is a bool tensor of the same shape and device.

    1. The derivative of the label map: a pixel is a boundary pixel when its label differs from
       one of its **4-neighbours** (right, left, down, up). These are the horizontal and vertical
       finite differences, i.e. the discrete derivative of the map, and they give the thinnest
       closed boundary; 8-neighbours would only add pixels that touch another class through a
       corner, which the dilation that follows covers anyway. Both sides of an edge are marked.
       An edge against an ``ignore_index`` (unlabeled) region counts like any other: unlabeled
       areas in COCO-Stuff sit where the annotation was uncertain.
    2. The boundary is dilated by a **disk** of ``radius`` (see ``disk``; dy² + dx² <= r²), which
       makes the strip around each edge 2 + 2·radius pixels wide across a straight edge.
       ``radius=0`` keeps only the boundary pixels themselves.
    3. The mask is the complement: False on the dilated strip and on ``ignore_index`` pixels,
       True elsewhere. Multiply the per-pixel segmentation loss by it (the paper's M_boundary).
    """
    if labels.dim() not in (2, 3):
        raise ValueError(f"labels must be (H, W) or (N, H, W), got shape {tuple(labels.shape)}")
    if labels.is_floating_point() or labels.is_complex():
        raise TypeError(f"labels must be an integer tensor, got {labels.dtype}")
    element = disk(radius)  # validates radius
    batch = labels if labels.dim() == 3 else labels.unsqueeze(0)
    batch = batch.long()

    near_edge = _label_edges(batch)
    if radius > 0 and near_edge.numel():
        # Binary dilation = "some True pixel under the (symmetric) disk": a convolution with the
        # disk as a 0/1 kernel counts them exactly (small integers are exact in float32).
        kernel = element.to(device=batch.device, dtype=torch.float32)[None, None]
        counts = F.conv2d(near_edge.to(torch.float32).unsqueeze(1), kernel, padding=int(radius))
        near_edge = counts.squeeze(1) > 0.5

    mask = ~near_edge & (batch != ignore_index)
    return mask if labels.dim() == 3 else mask.squeeze(0)
