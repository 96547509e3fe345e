"""The batches ``SRDataModule`` serves, as TypedDicts: what a model's ``*_step`` may read from them."""

from typing import TypedDict

from torch import Tensor

__all__ = ["EvalBatch", "PredictBatch", "TrainBatch"]


class _Pair(TypedDict):
    lr: Tensor
    hr: Tensor


class TrainBatch(_Pair, total=False):  # optional keys by total=False: NotRequired needs Python 3.11
    """Training patches: ``lr`` ``(N, 3, h, w)`` and ``hr`` ``(N, 3, s*h, s*w)`` RGB in [0, 1] (Y, ``(N, 1, ...)``,
    from a patch bank made for a Y-channel model: ``SRDataModule(bank=...)``). With
    segmentation labels (COCO-Stuff, SRSEG paper, Sec. 3.2) also ``label`` ``(N, h, w)`` and ``label_hr``
    ``(N, s*h, s*w)`` (int64 classes, 255 unlabeled) and ``boundary_mask`` ``(N, h, w)`` (bool).
    The data-stream position the datamodule reads is removed before a model sees the batch."""

    label: Tensor
    label_hr: Tensor
    boundary_mask: Tensor


class EvalBatch(TypedDict):
    """One benchmark image (validation, test): ``lr`` ``(1, C, h, w)``, ``hr`` ``(1, C, s*h, s*w)``, its file stem."""

    lr: Tensor
    hr: Tensor
    name: list[str]


class PredictBatch(TypedDict):
    """One LR image to upscale (``predict``) and its file stem."""

    lr: Tensor
    name: list[str]
