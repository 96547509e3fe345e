"""Scoring a model on benchmark sets with the Y-channel metrics (the numbers tables are made of)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch import Tensor
from torchmetrics import Metric
from tqdm.auto import tqdm

from sr_zoo.data.eval_sets import BenchmarkDataset
from sr_zoo.errors import ImageReadError
from sr_zoo.files.images import write_image
from sr_zoo.metrics import YPSNR, YSSIM

__all__ = ["BenchmarkResult", "evaluate", "format_table"]


@dataclass(frozen=True)
class BenchmarkResult:
    """One cell of a results table: a model on one set at one scale."""

    model: str
    dataset: str
    scale: int
    psnr: float
    ssim: float
    images: int
    extra: dict[str, float] = field(default_factory=dict)  # the other metrics asked for: {"lpips": ..., "niqe": ...}
    per_image: tuple[dict, ...] = field(default=(), repr=False)  # {"image", "psnr", "ssim", *extra} each

    @property
    def lpips(self) -> float | None:
        return self.extra.get("lpips")

    def as_dict(self, digits: int = 4) -> dict:
        row = asdict(self)
        del row["per_image"], row["extra"]
        row["psnr"], row["ssim"] = round(self.psnr, digits), round(self.ssim, digits)
        return {**row, **{name: round(value, digits) for name, value in self.extra.items()}}


@torch.no_grad()
def evaluate(
    model: Callable[[Tensor], Tensor],
    dataset: BenchmarkDataset,
    model_name: str = "model",
    device: str | torch.device = "cpu",
    save_dir: str | os.PathLike | None = None,
    round_y: bool = False,
    progress: tqdm | None = None,
    extra: dict[str, Metric] | None = None,
) -> BenchmarkResult:
    """Upscale every LR image of ``dataset`` with ``model`` and score it against its HR image.

    Images are run one at a time (their sizes differ); the border cropped is the scale, as in the
    papers. With ``save_dir``, each SR image is written as ``<save_dir>/<name>.png`` (8-bit); ``extra`` names
    more metrics to score (``{"lpips": sr_zoo.metrics.LPIPS(), "niqe": sr_zoo.metrics.NIQE()}``, built once: they
    hold a network or a model), with the same border.
    """
    device = torch.device(device)
    psnr = YPSNR(crop_border=dataset.scale, round_y=round_y).to(device)
    ssim = YSSIM(crop_border=dataset.scale, round_y=round_y).to(device)
    extra = extra or {}
    for metric in extra.values():
        metric.reset()
        metric.crop_border = dataset.scale
        metric.to(device)
    per_image = []
    for index in range(len(dataset)):
        item = dataset[index]
        lr, hr = item["lr"][None].to(device), item["hr"][None].to(device)
        sr = model(lr)
        try:
            psnr.update(sr, hr)
            ssim.update(sr, hr)
            for metric in extra.values():
                metric.update(sr, hr)
        except ValueError as exc:
            raise ImageReadError(f"{dataset.files[index]}: {exc}") from None
        scores = {"image": item["name"], "psnr": round(float(psnr.last[0]), 4), "ssim": round(float(ssim.last[0]), 4)}
        scores.update({name: round(float(metric.last[0]), 4) for name, metric in extra.items()})
        per_image.append(scores)
        if save_dir is not None:
            write_image(Path(save_dir) / f"{item['name']}.png", sr[0])
        if progress is not None:
            progress.update(1)
    return BenchmarkResult(
        model=model_name,
        dataset=dataset.name,
        scale=dataset.scale,
        psnr=float(psnr.compute()),
        ssim=float(ssim.compute()),
        images=len(dataset),
        extra={name: float(metric.compute()) for name, metric in extra.items()},
        per_image=tuple(per_image),
    )


def format_table(results: Sequence[BenchmarkResult]) -> str:
    """Results as a Markdown table: one row per set, one ``PSNR / SSIM`` (``/ LPIPS / NIQE``...) column per scale."""
    scales = sorted({r.scale for r in results})
    sets = list(dict.fromkeys(r.dataset for r in results))
    cells = {(r.dataset, r.scale): r for r in results}
    header = ["Set", "images"] + [f"x{s}" for s in scales]
    rows = []
    for name in sets:
        counts = {cells[(name, s)].images for s in scales if (name, s) in cells}
        row = [name, "/".join(str(c) for c in sorted(counts))]
        for s in scales:
            r = cells.get((name, s))
            cell = f"{r.psnr:.2f} / {r.ssim:.4f}" + "".join(f" / {v:.4f}" for v in r.extra.values()) if r else ""
            row.append(cell if r else "-")
        rows.append(row)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cols: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cols, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])
