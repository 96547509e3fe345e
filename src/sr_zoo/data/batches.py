"""The batches ``SRDataModule`` serves, as TypedDicts: what a model's ``*_step`` may read from them."""

# No ``from __future__ import annotations`` here: TypedDict must see NotRequired itself, not a string.
from torch import Tensor
from typing_extensions import NotRequired, TypedDict  # typing's need Python 3.11; the project supports 3.10

__all__ = ["EvalBatch", "PredictBatch", "TrainBatch"]


class TrainBatch(TypedDict):
    """Training patches: ``lr`` ``(N, 3, h, w)`` and ``hr`` ``(N, 3, s*h, s*w)`` RGB in [0, 1]. With
    segmentation labels (COCO-Stuff, papers/srseg.txt 3.2) also ``label`` ``(N, h, w)`` and ``label_hr``
    ``(N, s*h, s*w)`` (int64 classes, 255 unlabeled) and ``boundary_mask`` ``(N, h, w)`` (bool).
    The data-stream position the datamodule reads is removed before a model sees the batch."""

    lr: Tensor
    hr: Tensor
    label: NotRequired[Tensor]
    label_hr: NotRequired[Tensor]
    boundary_mask: NotRequired[Tensor]


class EvalBatch(TypedDict):
    """One benchmark image (validation, test): ``lr`` ``(1, C, h, w)``, ``hr`` ``(1, C, s*h, s*w)``, its file stem."""

    lr: Tensor
    hr: Tensor
    name: list[str]


class PredictBatch(TypedDict):
    """One LR image to upscale (``predict``) and its file stem."""

    lr: Tensor
    name: list[str]
