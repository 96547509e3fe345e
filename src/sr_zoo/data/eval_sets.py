"""Benchmark sets (Set5, Set14, any folder of HR images) as LR/HR pairs made the papers' way."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import Dataset

from sr_zoo.errors import ImageReadError
from sr_zoo.files.images import list_images, probe_image, read_image
from sr_zoo.ops import imresize, quantize

__all__ = ["BenchmarkDataset", "LRFolder", "make_lr", "modcrop"]


def modcrop(img: Tensor, scale: int) -> Tensor:
    """Crop the bottom/right of ``(..., H, W)`` so that H and W are multiples of ``scale``."""
    h, w = img.shape[-2] - img.shape[-2] % scale, img.shape[-1] - img.shape[-1] % scale
    return img[..., :h, :w]


def make_lr(hr: Tensor, scale: int, quantize_8bit: bool = True) -> Tensor:
    """MATLAB ``imresize(hr, 1/scale, 'bicubic')`` of a modcropped image, stored as 8 bits by default."""
    size = (hr.shape[-2] // scale, hr.shape[-1] // scale)
    lr = imresize(hr, scale=1.0 / scale, size=size)
    return quantize(lr) if quantize_8bit else lr


class BenchmarkDataset(Dataset):
    """HR images of one folder, each modcropped to a multiple of ``scale``, with its bicubic LR.

    Items are dicts ``{"lr": (C, h, w), "hr": (C, h*scale, w*scale), "name": str}`` with C = 1 for
    grayscale files and 3 otherwise, values in [0, 1]. Every file is checked (header only) when
    the dataset is built, so a bad file fails at once, naming the file.
    """

    def __init__(self, root: str | os.PathLike, scale: int, quantize_lr: bool = True, name: str | None = None,
                 degradation: tuple[str, float] = ("bicubic", 1.0), lr_files: dict[Path, Path] | None = None) -> None:
        """``lr_files``: the given LR of each HR file (paired data, ``sr_zoo.data.paired``), scored instead of a
        degraded one; each HR is then cut to ``scale`` times its LR."""
        if int(scale) != scale or scale < 1:
            raise ValueError(f"scale must be a positive integer, got {scale}")
        self.root = Path(root)
        # EDSR's layout keeps a set's HR images in <Set>/HR/: the set is called by its folder, not "HR"
        self.name = name or (self.root.parent.name if self.root.name.upper() == "HR" else self.root.name)
        self.scale = int(scale)
        self.quantize_lr = quantize_lr
        self.degradation = degradation  # (kind, blur sigma): MATLAB bicubic unless a model is scored on its own blur
        self.lr_files = lr_files
        self.files = list_images(self.root) if lr_files is None else list(lr_files)
        self._sizes = {path: probe_image(path)[:2] for path in self.files}
        self.set_scale(self.scale)

    @classmethod
    def paired(cls, spec: str, scale: int, name: str | None = None) -> BenchmarkDataset:
        """The pairs of ``paired:PATH`` (or ``paired:LR_DIR,HR_DIR``), each checked (``sr_zoo.data.paired``)."""
        from sr_zoo.data.paired import paired_folders, paired_records

        hr_dir = paired_folders(spec)[1]
        records = paired_records(spec, scale)
        return cls(hr_dir, scale, name=name or hr_dir.parent.name, lr_files={r.hr: r.lr for r in records})

    def set_scale(self, scale: int) -> None:
        """Pair each HR image with its LR at ``scale`` from now on (LR images are made per item)."""
        if self.lr_files is not None and int(scale) != self.scale:
            raise ValueError(f"{self.name}: paired data has the scale of its files (x{self.scale}), not x{scale}")
        for path, (height, width) in self._sizes.items():
            if min(height, width) < scale:
                raise ImageReadError(f"{path}: image of {height}x{width} is smaller than the scale x{scale}")
        self.scale = int(scale)

    def __len__(self) -> int:
        return len(self.files)

    # True (validation during a fit): a file that fails to decode is skipped, warned once, counted.
    skip_unreadable = False

    def __getitem__(self, index: int) -> dict[str, Tensor | str]:
        path = self.files[index]
        try:
            hr = modcrop(read_image(path), self.scale)
            if self.lr_files is not None:
                lr = read_image(self.lr_files[path])
                if lr.shape[0] != hr.shape[0]:  # a gray LR of a colour HR (or the reverse): both in colour
                    lr, hr = lr.expand(3, -1, -1), hr.expand(3, -1, -1)
                hr = hr[:, : lr.shape[1] * self.scale, : lr.shape[2] * self.scale]
                return {"lr": lr, "hr": hr, "name": path.stem}
        except ImageReadError as exc:
            if not self.skip_unreadable:
                raise
            return self._skipped_item(path, exc)
        with torch.no_grad():
            kind, sigma = self.degradation
            if kind == "bicubic":
                lr = make_lr(hr, self.scale, self.quantize_lr)
            else:
                from sr_zoo.data.degradation import degrade

                lr = degrade(hr, self.scale, kind, sigma, self.quantize_lr)
        return {"lr": lr, "hr": hr, "name": path.stem}

    def _skipped_item(self, path: Path, exc: ImageReadError) -> dict[str, Tensor | str]:
        """An empty item in place of an image that cannot be decoded (``SRModule`` scores nothing for it)."""
        from sr_zoo.errors import warn_once

        if not hasattr(self, "skipped"):
            self.skipped: dict[Path, str] = {}
        if path not in self.skipped:
            self.skipped[path] = str(exc)
            warn_once(f"{exc}; validation skips it ({len(self.skipped)} of {len(self.files)} images of "
                      f"{self.name} skipped; the scores average the others)")
        try:
            channels = probe_image(path)[2]
        except ImageReadError:
            channels = 3
        empty = torch.empty(channels, 0, 0)
        return {"lr": empty, "hr": empty.clone(), "name": path.stem}


class LRFolder(Dataset):
    """LR images of a folder to upscale (``predict``): items ``{"lr": (C, h, w), "name": str}``."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.files = list_images(self.root)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict[str, Tensor | str]:
        return {"lr": read_image(self.files[index]), "name": self.files[index].stem}
