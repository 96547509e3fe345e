"""Aligned LR/HR training patches cut from (offline-augmented) images, decoded once per worker."""

from __future__ import annotations

import atexit
import hashlib
import math
import os
import shutil
import tempfile
import uuid
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np
import torch
from albumentations.augmentations.geometric.functional import d4
from torch import Tensor
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from sr_zoo.data.degradation import degrade
from sr_zoo.data.sampling import SampleKey, item_rng
from sr_zoo.data.sources import Record
from sr_zoo.errors import DatasetError, ImageReadError
from sr_zoo.files.images import probe_image, read_image
from sr_zoo.ops import imresize, quantize

__all__ = ["PatchDataset", "View", "collate_patches"]

_D4_MEMBERS = ("e", "r90", "r180", "r270", "v", "hvt", "h", "t")

_Entry = tuple  # (HR uint8 HWC, label map or None, official LR uint8 HWC or None)


def _rgb_uint8(image: Tensor) -> np.ndarray:
    """``(C, H, W)`` float image in [0, 1] to an HWC uint8 RGB array (grayscale replicated)."""
    if image.shape[0] == 1:
        image = image.expand(3, -1, -1)
    return (image.permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)


class _FirstTime:
    """Which keys were seen, shared by every process of one dataset (its DataLoader workers, forked or
    spawned, persistent or not): ``first(key)`` is True once per key across all of them. The marks are
    empty files in a temporary folder, named when the dataset is made and created at the first mark (most
    runs mark nothing and leave nothing), which the dataset's process removes at exit."""

    def __init__(self) -> None:
        self.owner = os.getpid()
        self.folder = os.path.join(tempfile.gettempdir(), f"sr_zoo_seen_{self.owner}_{uuid.uuid4().hex}")
        atexit.register(self._remove)

    def _remove(self) -> None:
        if os.getpid() == self.owner:
            shutil.rmtree(self.folder, ignore_errors=True)

    def first(self, key: str) -> bool:
        try:
            os.makedirs(self.folder, mode=0o700, exist_ok=True)
            name = os.path.join(self.folder, hashlib.sha1(key.encode()).hexdigest())
            fd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        except OSError:  # no mark can be made (no temporary space): say it again rather than never
            return True
        os.close(fd)
        return True


def _nbytes(entry: _Entry) -> int:
    return sum(a.nbytes for a in entry if a is not None)


@dataclass(frozen=True)
class View:
    """One offline-augmented version of a record: a scale factor, quarter turns and a region."""

    record: int
    scale_index: int
    rotation: int
    top: int
    left: int
    height: int
    width: int


def _tiles(length: int, size: int | None, stride: int | None) -> list[int]:
    """Start offsets of tiles of ``size`` at ``stride`` covering ``length`` (last tile flush with the end)."""
    if size is None or length <= size:
        return [0]
    starts = list(range(0, length - size + 1, stride or size))
    if starts[-1] != length - size:
        starts.append(length - size)
    return starts


class PatchDataset(Dataset):
    """Random aligned patches: item ``i`` is ``crops_per_image`` patches from view ``i % len(views)``.

    Each item is a dict of stacked tensors: ``hr`` ``(k, 3, P, P)`` and ``lr`` ``(k, 3, P/s, P/s)`` in
    [0, 1]; with labels also ``label`` ``(k, P/s, P/s)`` (SRSEG class at LR resolution, int64),
    ``label_hr`` ``(k, P, P)`` and ``boundary_mask`` ``(k, P/s, P/s)`` (True where the segmentation
    loss counts). Crops are chosen on the LR grid and the HR crop is ``scale`` times that offset, so
    the pair is aligned exactly. The LR is cut from an official LR file where there is one; else, with
    ``lr_from_image``, cut from the LR of the whole image (cropped to a multiple of ``scale``), made once per
    decode as the SRCNN/FSRCNN data scripts make it (modcrop, imresize, then sub-images) and far cheaper than a
    resize per crop on small images; else made from each HR crop (cheaper for large images seldom cached).

    Decoded images (and their offline-scaled versions) are kept in a per-worker cache of at most
    ``cache_mb``; unreadable files are skipped with one warning, never a crash mid-epoch.

    Indices may be ``SampleKey``s (from ``ResumableSampler``): the item's crops and flips are then
    drawn from ``(seed, epoch, index)`` alone, whichever worker makes it, so a resumed run sees the
    same patches. A plain ``int`` index draws them from torch's global generator.
    """

    def __init__(
        self,
        records: Sequence[Record],
        scale: int,
        patch_size: int,
        offline_scales: Sequence[float] = (1.0,),
        offline_rotations: Sequence[int] = (0,),
        subimage: int | None = None,
        subimage_stride: int | None = None,
        augment: bool = True,
        degradation: str = "bicubic",
        blur_sigma: float = 1.0,
        boundary_radius: int = 2,
        crops_per_image: int = 1,
        samples_per_epoch: int | None = None,
        min_samples_per_epoch: int = 0,
        cache_mb: int = 1024,
        quantize_lr: bool = True,
        lr_from_image: bool = False,
    ) -> None:
        if patch_size % scale:
            raise DatasetError(f"patch_size {patch_size} is not a multiple of the scale {scale}")
        self.records = list(records)
        self.scale, self.patch_size = scale, patch_size
        self.offline_scales, self.offline_rotations = tuple(offline_scales), tuple(offline_rotations)
        self.augment, self.degradation, self.blur_sigma = augment, degradation, blur_sigma
        self.boundary_radius, self.crops_per_image = boundary_radius, crops_per_image
        self.cache_bytes, self.quantize_lr = cache_mb * 2**20, quantize_lr
        self.lr_from_image = lr_from_image and quantize_lr  # the whole image's LR is kept in 8 bits
        self.with_labels = any(r.label is not None for r in self.records)
        self.skipped: dict[str, str] = {}
        self._warned = _FirstTime()  # a file that fails to decode mid-epoch is warned about once, not once per worker
        self.views = self._make_views(subimage, subimage_stride)
        self.samples_per_epoch = samples_per_epoch or max(len(self.views), min_samples_per_epoch)
        self._cache: OrderedDict[tuple[int, int], _Entry] = OrderedDict()
        self._cached = 0

    # ------------------------------------------------------------------ set-up
    def _make_views(self, subimage: int | None, stride: int | None) -> list[View]:
        views, too_small = [], 0
        records = tqdm(self.records, desc="checking images", unit="img",
                       disable=None if len(self.records) > 2000 else True)
        for index, record in enumerate(records):
            try:
                height, width, _ = probe_image(record.hr)
            except ImageReadError as exc:
                self.skipped[str(record.hr)] = str(exc)
                continue
            for si, factor in enumerate(self.offline_scales):
                if record.paired and factor != 1.0:  # a real pair has no LR for a downscaled HR: not made up
                    continue
                h, w = math.ceil(height * factor), math.ceil(width * factor)  # MATLAB imresize's size
                if record.paired or (self.lr_from_image and record.lr is None):  # modcrop (_decode)
                    h, w = h - h % self.scale, w - w % self.scale
                for turns in self.offline_rotations:
                    rh, rw = (w, h) if turns % 2 else (h, w)
                    for top in _tiles(rh, subimage, stride):
                        for left in _tiles(rw, subimage, stride):
                            vh, vw = min(rh, subimage or rh), min(rw, subimage or rw)
                            if min(vh, vw) < self.patch_size:
                                too_small += 1
                                continue
                            views.append(View(index, si, turns, top, left, vh, vw))
        if self.skipped:
            first = next(iter(self.skipped.values()))
            warnings.warn(f"skipped {len(self.skipped)} unreadable training image(s); first: {first}", stacklevel=3)
        if too_small:
            warnings.warn(
                f"skipped {too_small} image version(s) smaller than the {self.patch_size}x{self.patch_size} patch",
                stacklevel=3,
            )
        if not views:
            where = self.records[0].hr.parent if self.records else "the training sources"
            raise DatasetError(f"{where}: no training image is at least {self.patch_size}x{self.patch_size} pixels")
        return views

    # ------------------------------------------------------------------ loading
    def _decode(self, record: Record, factor: float) -> _Entry:
        """HR image (offline-scaled by ``factor``), its label map and its official LR, as uint8 arrays."""
        image = read_image(record.hr)
        label = self._read_label(record) if record.label is not None else None
        if label is not None and label.shape != image.shape[1:]:
            raise ImageReadError(f"{record.label}: label map is {label.shape[1]}x{label.shape[0]}, image is "
                                 f"{image.shape[2]}x{image.shape[1]}")
        official = None
        if factor != 1.0:
            # Offline augmentation: a MATLAB-downscaled copy stored as 8 bits, as the papers made them.
            image = quantize(imresize(image, scale=factor))
            if label is not None:
                label = cv2.resize(label, (image.shape[2], image.shape[1]), interpolation=cv2.INTER_NEAREST)
        elif record.lr is not None and (record.paired or self.degradation == "bicubic"):
            official = _rgb_uint8(read_image(record.lr))
            if record.paired:  # the HR cut to scale x the LR (paired_records allows scale - 1 more pixels)
                image = image[:, : official.shape[0] * self.scale, : official.shape[1] * self.scale]
        if record.lr is None and self.lr_from_image:
            height, width = image.shape[1] - image.shape[1] % self.scale, image.shape[2] - image.shape[2] % self.scale
            image = image[:, :height, :width]
            label = label[:height, :width] if label is not None else None
            official = _rgb_uint8(degrade(image, self.scale, self.degradation, self.blur_sigma))
        return _rgb_uint8(image), label, official

    @staticmethod
    def _read_label(record: Record) -> np.ndarray:
        from sr_zoo.data.coco_stuff import map_coco_stuff_labels

        raw = cv2.imread(str(record.label), cv2.IMREAD_UNCHANGED)
        if raw is None or raw.ndim != 2:
            raise ImageReadError(f"{record.label}: not a single-channel label map")
        return map_coco_stuff_labels(raw)

    def _load(self, view: View) -> _Entry:
        """The decoded arrays of a view's record and scale, from this worker's cache (LRU, ``cache_mb``)."""
        key = (view.record, view.scale_index)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        entry = self._decode(self.records[view.record], self.offline_scales[view.scale_index])
        while self._cache and self._cached + _nbytes(entry) > self.cache_bytes:
            self._cached -= _nbytes(self._cache.popitem(last=False)[1])
        self._cache[key] = entry
        self._cached += _nbytes(entry)
        return entry

    # ------------------------------------------------------------------ items
    def __len__(self) -> int:
        return self.samples_per_epoch

    def __getitem__(self, index: int | SampleKey) -> dict[str, Tensor]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: list[int | SampleKey]) -> list[dict[str, Tensor]]:
        """A batch of items; the LR of every crop in it is made in one batched resize (DataLoader hook)."""
        crops = []
        for key in indices:
            if isinstance(key, SampleKey):
                rng, index = item_rng(key), key.index
            else:
                rng, index = _torch_seeded_rng(), int(key)
            crop = self._crops_skipping_bad_files(index, rng)
            if isinstance(key, SampleKey):  # where this item sits in the data stream (SRDataModule reads it)
                crop["position"] = (key.epoch, key.ordinal + 1, key.epoch_items)
            crops.append(crop)
        for name in ("hr", "lr"):  # uint8 HWC crop views to float CHW tensors: one copy and one conversion a batch
            have = [c for c in crops if name in c]
            if have:
                batch = _to_tensor(np.stack([crop for c in have for crop in c[name]]))
                for crop, part in zip(have, batch.split([len(c[name]) for c in have])):
                    crop[name] = part
        need_lr = [i for i, c in enumerate(crops) if "lr" not in c]
        if need_lr:
            hr = torch.cat([crops[i]["hr"] for i in need_lr])
            lr = degrade(hr, self.scale, self.degradation, self.blur_sigma, self.quantize_lr)
            for i, part in zip(need_lr, lr.split(self.crops_per_image)):
                crops[i]["lr"] = part
        if self.with_labels:
            label_hr = torch.cat([c["label_hr"] for c in crops])
            for crop, targets in zip(crops, self._label_targets(label_hr)):
                crop.update(targets)
        return crops

    def _crops_skipping_bad_files(self, index: int, rng: np.random.Generator) -> dict[str, Tensor]:
        for attempt in range(len(self.views)):
            view = self.views[(index + attempt) % len(self.views)]
            path = self.records[view.record].hr
            if str(path) in self.skipped:
                continue
            try:
                return self._crops(view, rng)
            except ImageReadError as exc:
                self.skipped[str(path)] = str(exc)
                if self._warned.first(str(path)):
                    warnings.warn(f"skipping unreadable training image: {exc}", stacklevel=2)
        folders = sorted({str(r.hr.parent) for r in self.records})
        raise DatasetError(f"{', '.join(folders[:3])}: none of the {len(self.records)} training images could be "
                           f"decoded (first: {next(iter(self.skipped.values()), 'unknown')})")

    def _crops(self, view: View, rng: np.random.Generator | None = None) -> dict[str, list[np.ndarray] | Tensor]:
        """``crops_per_image`` aligned HR crops of a view, uint8 ``(P, P, 3)`` views into the decoded image (and
        LR crops and labels where they exist); ``__getitems__`` copies a whole batch's at once."""
        rng = rng if rng is not None else _torch_seeded_rng()
        image, label, official = self._load(view)
        s, p = self.scale, self.patch_size
        if official is not None:
            # The official LR follows the same rotation and region on the LR grid; where it cannot (HR not
            # exactly scale x LR under a rotation, or a region off the grid), the LR is made instead.
            exact = image.shape[0] == official.shape[0] * s and image.shape[1] == official.shape[1] * s
            aligned = (exact or view.rotation == 0) and view.top % s == 0 and view.left % s == 0
            official = _rot90(official, view.rotation)[view.top // s :, view.left // s :] if aligned else None
        region = (slice(view.top, view.top + view.height), slice(view.left, view.left + view.width))
        image = _rot90(image, view.rotation)[region]
        if label is not None:
            label = _rot90(label, view.rotation)[region]
        lr_h, lr_w = view.height // s, view.width // s
        hrs, lrs, labels = [], [], []
        for _ in range(self.crops_per_image):
            y = int(rng.integers(0, lr_h - p // s + 1))
            x = int(rng.integers(0, lr_w - p // s + 1))
            hr = image[y * s : y * s + p, x * s : x * s + p]
            lr = official[y : y + p // s, x : x + p // s] if official is not None else None
            lab = label[y * s : y * s + p, x * s : x * s + p] if label is not None else None
            if self.augment:
                hr, lr, lab = self._augment(hr, lr, lab, rng)
            hrs.append(hr)
            lrs.append(lr)
            labels.append(lab)
        item: dict[str, list[np.ndarray] | Tensor] = {"hr": hrs}
        if official is not None:
            item["lr"] = lrs
        if label is not None:
            item["label_hr"] = torch.from_numpy(np.stack(labels)).long()
        return item

    @staticmethod
    def _augment(hr: np.ndarray, lr: np.ndarray | None, label: np.ndarray | None, rng: np.random.Generator) -> tuple:
        """One random symmetry of the square (rotations by 90 degrees and flips) applied to every target.

        albumentations' functional ``d4`` applies it; the element is drawn from the item's generator.
        ``A.D4`` itself would cost 100+ us a call and draws from a generator of its own.
        """
        member = _D4_MEMBERS[int(rng.integers(0, 8))]
        return tuple(None if x is None else d4(x, member) for x in (hr, lr, label))

    def _label_targets(self, label_hr: Tensor) -> list[dict[str, Tensor]]:
        """LR labels and boundary masks for a batch of HR label crops, split back per item."""
        from sr_zoo.data.coco_stuff import boundary_mask

        s = self.scale
        label = label_hr[:, s // 2 :: s, s // 2 :: s].contiguous()  # the HR pixel at each LR pixel's centre
        mask = boundary_mask(label, self.boundary_radius)
        k = self.crops_per_image
        return [{"label": a, "boundary_mask": b} for a, b in zip(label.split(k), mask.split(k))]


def _rot90(array: np.ndarray, turns: int) -> np.ndarray:
    """``np.rot90(array, turns)`` (counter-clockwise quarter turns of the first two axes) as a strided view: the
    same result without numpy's generic axis handling, ten times the cost of the crop itself."""
    turns %= 4
    if turns == 1:
        return array.swapaxes(0, 1)[::-1]
    if turns == 2:
        return array[::-1, ::-1]
    return array.swapaxes(0, 1)[:, ::-1] if turns == 3 else array


def _torch_seeded_rng() -> np.random.Generator:
    """A generator seeded from torch's global one (seeded per worker by DataLoader, per rank by Lightning)."""
    return np.random.default_rng(int(torch.randint(0, 2**62, ())))


def _to_tensor(patches: np.ndarray) -> Tensor:
    """``(k, H, W, C)`` uint8 patches to one ``(k, C, H, W)`` float tensor in [0, 1]."""
    return torch.from_numpy(patches).permute(0, 3, 1, 2).float().div_(255.0)


def collate_patches(items: list[dict[str, Tensor]]) -> dict[str, Tensor]:
    """Concatenate items of ``k`` stacked patches into one batch of ``len(items) * k`` patches.

    ``position`` (present with ``ResumableSampler``) becomes the batch's ``[epoch, items consumed,
    items in the epoch]``: that of its last item. A single item (a patch bank's whole batch) is not copied.
    """
    batch = {key: items[0][key] if len(items) == 1 else torch.cat([item[key] for item in items])
             for key in items[0] if key != "position"}
    if "position" in items[0]:
        batch["position"] = torch.tensor(items[-1]["position"])
    return batch
