"""A patch bank: the fixed set of aligned LR/HR sub-images that the SRCNN/FSRCNN/EMTCM data scripts make.

EMTCM paper, Sec. 4.1 (after FSRCNN's and SRCNN's scripts): every (scaled, rotated) training image is
downscaled whole, its LR is cut into f x f sub-images at stride n, and the HR sub-images are cut at s times
those offsets; "these LR/HR sub-image pairs are the primary training data". The bank makes that set once per
(source files, recipe, scale, channels), writes it as uint8 next to the data and memory-maps it, so that a
training batch is one gather (no decoding, resizing or per-item Python: issue 27 measured the per-item loader
at about a tenth of a small model's step on a CPU). Processes share the pages (DataLoader workers, DDP ranks).

Why not a library: torchvision and albumentations cut patches per item; the authors' HDF5 files are the same
idea, but h5py is no dependency and HDF5 is not memory-mapped across forked workers. numpy's raw memmap is.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from sr_zoo.data.patches import PatchDataset, View, _rot90, _to_tensor
from sr_zoo.data.sampling import SampleKey
from sr_zoo.errors import DatasetError
from sr_zoo.files.atomic import publish_folder

__all__ = ["BANK_FORMAT", "BankDataset", "bank_is_whole", "bank_key", "bank_rows", "build_bank", "open_bank"]

BANK_FORMAT = 1  # bump when what a bank holds for the same key changes
_MASK64 = 2**64 - 1
_PERMUTATION_TAG = 0x42414E4B  # "BANK": keeps the bank's pass permutations apart from the sampler's epoch ones


@dataclass(frozen=True)
class BankLayout:
    """What a bank holds: ``count`` pairs of ``(hr, hr, channels)`` and ``(lr, lr, channels)`` uint8 arrays."""

    count: int
    hr: int
    lr: int
    channels: int

    def shapes(self) -> dict[str, tuple[int, int, int, int]]:
        return {name: (self.count, side, side, self.channels) for name, side in (("hr", self.hr), ("lr", self.lr))}


def _grid(length: int, size: int, stride: int) -> range:
    """The authors' sub-image offsets: ``1 : stride : length - size + 1`` in MATLAB, 0-based here."""
    return range(0, length - size + 1, stride)


def bank_rows(dataset: PatchDataset, stride: int) -> list[int]:
    """Sub-images per view of ``dataset`` (its offline-augmented images) on the LR grid at ``stride``."""
    f = dataset.patch_size // dataset.scale
    return [len(_grid(v.height // dataset.scale, f, stride)) * len(_grid(v.width // dataset.scale, f, stride))
            for v in dataset.views]


def bank_key(dataset: PatchDataset, stride: int, channels: int) -> str:
    """The bank's name: a hash of what makes its content (the image files' bytes, in order, and the recipe)."""
    from sr_zoo.files.download import sha256_of

    recipe = {
        "format": BANK_FORMAT, "scale": dataset.scale, "patch": dataset.patch_size, "stride": stride,
        "channels": channels, "offline_scales": dataset.offline_scales, "rotations": dataset.offline_rotations,
        "degradation": dataset.degradation, "blur_sigma": dataset.blur_sigma, "quantize_lr": dataset.quantize_lr,
    }
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode())
    for record in dataset.records:
        digest.update(sha256_of(record.hr).encode())
        digest.update(sha256_of(record.lr).encode() if record.lr is not None else b"-")
    return f"x{dataset.scale}_p{dataset.patch_size}_n{stride}_c{channels}_{digest.hexdigest()[:16]}"


def _to_y_uint8(image: np.ndarray) -> np.ndarray:
    """HWC uint8 RGB to HW1 uint8 Y, as MATLAB's ``rgb2ycbcr`` of a uint8 image rounds it (the authors' scripts)."""
    from sr_zoo.ops import rgb_to_y

    rgb = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255.0)
    return rgb_to_y(rgb).mul_(255.0).round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()


def _view_arrays(dataset: PatchDataset, view: View, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """A view's whole HR and LR images (rotated), uint8 HWC with ``channels`` channels."""
    image, _, lr = dataset._load(view)  # lr: the whole (modcropped) image's, made as the authors' scripts make it
    if channels == 1:
        image, lr = _to_y_uint8(image), _to_y_uint8(lr)
    return _rot90(image, view.rotation), _rot90(lr, view.rotation)


def build_bank(dataset: PatchDataset, stride: int, channels: int, folder: Path, progress: bool = True) -> BankLayout:
    """Write the bank of ``dataset`` at LR ``stride`` into ``folder`` (``hr.u8``, ``lr.u8``, ``bank.json``)."""
    s, f = dataset.scale, dataset.patch_size // dataset.scale
    rows = bank_rows(dataset, stride)
    layout = BankLayout(sum(rows), dataset.patch_size, f, channels)
    if layout.count == 0:
        raise DatasetError(f"{dataset.records[0].hr.parent}: no {f}x{f} LR sub-image fits at stride {stride}")
    arrays = {name: np.memmap(folder / f"{name}.u8", np.uint8, "w+", shape=shape)
              for name, shape in layout.shapes().items()}
    start = 0
    for view, n in zip(tqdm(dataset.views, desc="making the patch bank", unit="img", disable=not progress), rows):
        hr, lr = _view_arrays(dataset, view, channels)
        for name, image, side, step in (("lr", lr, f, stride), ("hr", hr, f * s, stride * s)):
            # (tops, lefts, C, side, side) windows at the grid offsets, as (n, side, side, C) rows
            windows = np.lib.stride_tricks.sliding_window_view(image, (side, side), axis=(0, 1))[::step, ::step]
            arrays[name][start : start + n] = windows.reshape(n, channels, side, side).transpose(0, 2, 3, 1)
        start += n
    for array in arrays.values():
        array.flush()
    meta = {"format": BANK_FORMAT, "count": layout.count, "hr": layout.hr, "lr": layout.lr, "channels": channels,
            "stride": stride, "scale": s, "images": [str(r.hr.name) for r in dataset.records]}
    (folder / "bank.json").write_text(json.dumps(meta, indent=1))
    return layout


def bank_is_whole(folder: Path) -> bool:
    """Whether ``folder`` holds a readable bank: its ``bank.json`` and both arrays at the sizes it gives."""
    try:
        meta = json.loads((folder / "bank.json").read_text())
        layout = BankLayout(meta["count"], meta["hr"], meta["lr"], meta["channels"])
        return all((folder / f"{name}.u8").stat().st_size == int(np.prod(shape))
                   for name, shape in layout.shapes().items())
    except (OSError, ValueError, KeyError, TypeError):
        return False


def open_bank(dataset: PatchDataset, stride: int, channels: int, bank_dir: Path, progress: bool = True) -> Path:
    """The bank folder of ``dataset`` under ``bank_dir``, made first if it is not there or not whole (a file of it
    deleted or cut short), once, under a lock."""
    folder = bank_dir / bank_key(dataset, stride, channels)
    try:
        publish_folder(folder, lambda tmp: build_bank(dataset, stride, channels, tmp, progress),
                       complete=lambda: bank_is_whole(folder))
    except OSError as exc:  # no permission, a full disk: nothing half-written is left (publish_folder)
        raise DatasetError(f"{bank_dir}: cannot write the patch bank ({exc.strerror or exc}); "
                           "set --data.bank_dir to a writable folder or --data.bank false") from None
    return folder


class BankDataset(Dataset):
    """Training items from a patch bank: the same batches ``PatchDataset`` serves (``hr``/``lr`` in [0, 1],
    ``position``), each patch one row of the bank.

    An epoch has ``samples_per_epoch`` items, as without a bank, so that a recipe's epochs, validation
    interval and schedules mean the same; the epochs walk through the bank without replacement, one random
    permutation of its rows per pass, drawn from ``(seed, pass)``: item ``index`` of epoch ``e`` is the
    ``e * samples_per_epoch + index``-th row of that stream. With ``augment`` each patch gets one of the
    square's eight symmetries, drawn from ``(seed, epoch, index)``. Nothing depends on the worker or the
    batch size, so a resumed run sees the same patches (``sr_zoo.data.sampling``).
    """

    def __init__(self, folder: Path, samples_per_epoch: int, augment: bool = False) -> None:
        meta = json.loads((folder / "bank.json").read_text())
        self.folder, self.samples_per_epoch, self.augment = folder, samples_per_epoch, augment
        self.layout = BankLayout(meta["count"], meta["hr"], meta["lr"], meta["channels"])
        self.with_labels = False
        self._arrays: dict[str, np.ndarray] | None = None
        self._permutations: dict[tuple[int, int], np.ndarray] = {}

    def __getstate__(self) -> dict[str, Any]:  # a spawned worker maps the files itself rather than get a copy
        return {**self.__dict__, "_arrays": None, "_permutations": {}}

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        if self._arrays is None:
            self._arrays = {name: np.memmap(self.folder / f"{name}.u8", np.uint8, "r", shape=shape)
                            for name, shape in self.layout.shapes().items()}
        return self._arrays

    def __len__(self) -> int:
        return self.samples_per_epoch

    def _permutation(self, seed: int, bank_pass: int) -> np.ndarray:
        key = (seed, bank_pass)
        if key not in self._permutations:
            if len(self._permutations) >= 2:  # a batch spans at most two passes
                self._permutations.pop(next(iter(self._permutations)))
            rng = np.random.default_rng([seed, bank_pass, _PERMUTATION_TAG])
            self._permutations[key] = rng.permutation(self.layout.count)
        return self._permutations[key]

    def rows(self, keys: list[SampleKey]) -> np.ndarray:
        """The bank rows of the items ``keys``."""
        stream = np.array([k.epoch * self.samples_per_epoch + k.index for k in keys], dtype=np.int64)
        passes, offsets = np.divmod(stream, self.layout.count)
        rows = np.empty_like(stream)
        for bank_pass in np.unique(passes):
            where = passes == bank_pass
            rows[where] = self._permutation(keys[0].seed, int(bank_pass))[offsets[where]]
        return rows

    def __getitem__(self, index: int | SampleKey) -> dict[str, Tensor]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: list[int | SampleKey]) -> list[dict[str, Any]]:
        """The whole batch as one item (``collate_patches`` concatenates items): one gather per array."""
        keys = [k for k in indices if isinstance(k, SampleKey)]
        if len(keys) == len(indices):
            rows = self.rows(keys)
        else:  # plain indices (no ResumableSampler): random rows from torch's generator, as PatchDataset's crops
            rows = torch.randint(0, self.layout.count, (len(indices),)).numpy()
        batch: dict[str, Any] = {name: _to_tensor(array[rows]) for name, array in self.arrays.items()}
        if self.augment:
            members = _d4_members(keys) if keys else torch.randint(0, 8, (len(indices),)).numpy()
            for name in ("hr", "lr"):
                batch[name] = _d4(batch[name], members)
        if keys:
            last = keys[-1]
            batch["position"] = (last.epoch, last.ordinal + 1, last.epoch_items)
        return [batch]


def _d4_members(keys: list[SampleKey]) -> np.ndarray:
    """Each item's symmetry (0-7) from ``(seed, epoch, index)``: splitmix64 over the three, vectorised (a numpy
    generator per item costs ~14 us, the whole batch's gather less)."""
    mixed = [((k.seed * 0x9E3779B1 + k.epoch) * 0x85EBCA77 + k.index) & _MASK64 for k in keys]
    with np.errstate(over="ignore"):
        z = np.array(mixed, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z % np.uint64(8)).astype(np.int64)


def _d4(patches: Tensor, members: np.ndarray) -> Tensor:
    """Patch ``i`` turned by ``members[i] % 4`` quarter turns, then transposed if ``members[i] >= 4``."""
    out = patches.clone()
    for member in np.unique(members):
        where = torch.from_numpy(np.flatnonzero(members == member))
        part = torch.rot90(patches[where], int(member) % 4, dims=(2, 3))
        out[where] = part.transpose(2, 3) if member >= 4 else part
    return out
