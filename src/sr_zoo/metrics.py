"""PSNR and SSIM on the Y channel, scored as the papers' tables were (docs/evaluation.md): SR rounded to
8 bits, ``crop_border`` pixels cut from each side, Y of MATLAB ``rgb2ycbcr`` in 0..255, SSIM with an 11x11
Gaussian window (sigma 1.5), per image then averaged over images.

``YPSNR``/``YSSIM`` are torchmetrics ``Metric``s (a sum and a count: correct across DDP processes). Each
image is scored in bands of at most ``BAND_PIXELS`` rows' pixels in float64, so memory stays about
200 MB beyond the two images whatever their size.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import Tensor
from torchmetrics import Metric

from sr_zoo.ops.color import rgb_to_y
from sr_zoo.ops.quantize import quantize

__all__ = ["BAND_PIXELS", "NIQE", "SSIM_WINDOW", "YPSNR", "YSSIM", "extra_metrics", "ssim_valid", "to_y_255", "y_psnr",
           "y_ssim"]

SSIM_WINDOW = 11
_SSIM_SIGMA = 1.5
BAND_PIXELS = 2**20  # Y pixels scored at a time: bounds the memory of scoring a large image


def _score_dtype(x: Tensor) -> torch.dtype:
    return torch.float32 if x.device.type == "mps" else torch.float64


def to_y_255(img: Tensor, crop_border: int = 0, round_y: bool = False) -> Tensor:
    """8-bit-rounded image in [0, 1] (``(N, C, H, W)``, C = 1 or 3) to the scored channel in 0..255.

    ``round_y`` reproduces MATLAB evaluation scripts that call ``rgb2ycbcr`` on a uint8 image and so
    get a uint8 (rounded) Y; the default keeps Y in floating point.
    """
    if img.dim() != 4 or img.shape[1] not in (1, 3):
        raise ValueError(f"expected images of shape (N, 1 or 3, H, W), got {tuple(img.shape)}")
    img = quantize(img.to(_score_dtype(img)))
    y = rgb_to_y(img) * 255.0 if img.shape[1] == 3 else img * 255.0
    if round_y:
        y = torch.floor(y + 0.5)
    if crop_border > 0:
        y = y[..., crop_border:-crop_border, crop_border:-crop_border]
    return y


def _check_pair(preds: Tensor, target: Tensor, crop_border: int, min_size: int) -> None:
    if preds.shape != target.shape:
        raise ValueError(f"SR and HR shapes differ: {tuple(preds.shape)} vs {tuple(target.shape)}")
    h, w = preds.shape[-2] - 2 * crop_border, preds.shape[-1] - 2 * crop_border
    if min(h, w) < min_size:
        raise ValueError(
            f"image of {preds.shape[-2]}x{preds.shape[-1]} is too small to score with crop_border={crop_border}: "
            f"{h}x{w} remain, at least {min_size}x{min_size} needed"
        )


def _row_bands(rows: int, width: int, overlap: int = 0) -> list[tuple[int, int]]:
    """``(start, stop)`` input rows of bands of about ``BAND_PIXELS`` pixels; consecutive bands share
    ``overlap`` rows, so every window of ``overlap + 1`` rows lies whole in exactly one band."""
    step = max(1, BAND_PIXELS // max(1, width) - overlap)
    return [(start, min(rows, start + step + overlap)) for start in range(0, max(1, rows - overlap), step)]


def _scored_rows(img: Tensor, crop_border: int, start: int, stop: int, round_y: bool) -> Tensor:
    """Rows ``start:stop`` of the scored channel of ``img`` ``(1, C, H, W)`` with the border cropped."""
    h, w = img.shape[-2] - 2 * crop_border, img.shape[-1] - 2 * crop_border
    rows = img[..., crop_border + start : crop_border + min(stop, h), crop_border : crop_border + w]
    return to_y_255(rows, 0, round_y)


def y_psnr(preds: Tensor, target: Tensor, crop_border: int = 0, round_y: bool = False) -> Tensor:
    """Per-image PSNR (dB, peak 255) on the scored channel; returns a ``(N,)`` float64 tensor.

    ``10 log10(255^2 / MSE)`` with the squared errors summed band by band in float64 (bounded memory;
    torchmetrics' ``peak_signal_noise_ratio`` agrees to 1e-5 dB, tests/metrics/test_metrics.py).
    """
    _check_pair(preds, target, crop_border, 1)
    h, w = preds.shape[-2] - 2 * crop_border, preds.shape[-1] - 2 * crop_border
    out = []
    for n in range(preds.shape[0]):
        sse = torch.zeros((), dtype=torch.float64, device=preds.device)
        for start, stop in _row_bands(h, w):
            p = _scored_rows(preds[n : n + 1], crop_border, start, stop, round_y)
            t = _scored_rows(target[n : n + 1], crop_border, start, stop, round_y)
            sse += ((p - t) ** 2).sum().to(torch.float64)
        mse = sse / (h * w)
        out.append(10.0 * torch.log10(255.0**2 / mse))
    return torch.stack(out)


def _gaussian_window(device: torch.device, dtype: torch.dtype) -> Tensor:
    x = torch.arange(SSIM_WINDOW, device=device, dtype=dtype) - SSIM_WINDOW // 2
    g = torch.exp(-(x**2) / (2 * _SSIM_SIGMA**2))
    return g / g.sum()


def _filter_valid(x: Tensor, kernel: Tensor, dim: int) -> Tensor:
    """1-D correlation of ``x`` with ``kernel`` along ``dim``, 'valid' part only, as a sum of shifted
    slices: on CPU ``conv2d`` in float64 unfolds its input (11x the memory), this needs two copies."""
    n = x.shape[dim] - kernel.numel() + 1
    out = x.narrow(dim, 0, n) * kernel[0]
    for k in range(1, kernel.numel()):
        out.add_(x.narrow(dim, k, n), alpha=float(kernel[k]))
    return out


def _ssim_map(x: Tensor, y: Tensor, data_range: float = 255.0) -> Tensor:
    """SSIM at every window position inside ``(N, 1, H, W)`` images ('valid'): ``(N, 1, H-10, W-10)``."""
    g = _gaussian_window(x.device, x.dtype)
    stack = torch.cat([x, y, x * x, y * y, x * y])
    mu_x, mu_y, xx, yy, xy = _filter_valid(_filter_valid(stack, g, -1), g, -2).split(x.shape[0])
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    var_x, var_y, cov = xx - mu_x * mu_x, yy - mu_y * mu_y, xy - mu_x * mu_y
    return ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2))


def ssim_valid(x: Tensor, y: Tensor, data_range: float = 255.0) -> Tensor:
    """Per-image SSIM of ``(N, 1, H, W)`` tensors, averaged over windows inside the image; ``(N,)``.

    Written out instead of calling torchmetrics' SSIM: that one reflect-pads and averages the
    whole map (MATLAB's ``ssim_index`` filters 'valid'), and in float64 it runs a 2-D 11x11
    convolution, slower on CPU than the separable Gaussian used here. The tests check
    both against each other on the valid region.
    """
    return _ssim_map(x, y, data_range).mean(dim=(1, 2, 3))


def y_ssim(preds: Tensor, target: Tensor, crop_border: int = 0, round_y: bool = False) -> Tensor:
    """Per-image SSIM on the scored channel over the valid region of the 11x11 window; ``(N,)``.

    Computed in bands of rows that overlap by 10 (each window lies in exactly one band), the map
    summed in float64: the same mean as one pass over the whole image, in bounded memory.
    """
    _check_pair(preds, target, crop_border, SSIM_WINDOW)
    h, w = preds.shape[-2] - 2 * crop_border, preds.shape[-1] - 2 * crop_border
    out = []
    for n in range(preds.shape[0]):
        total = torch.zeros((), dtype=torch.float64, device=preds.device)
        for start, stop in _row_bands(h, w, overlap=SSIM_WINDOW - 1):
            p = _scored_rows(preds[n : n + 1], crop_border, start, stop, round_y)
            t = _scored_rows(target[n : n + 1], crop_border, start, stop, round_y)
            total += _ssim_map(p, t).sum().to(torch.float64)
        out.append(total / ((h - SSIM_WINDOW + 1) * (w - SSIM_WINDOW + 1)))
    return torch.stack(out)


class _PerImageMean(Metric):
    """Mean over images of a per-image score; states are a float64 sum and a count (DDP: summed)."""

    is_differentiable = False
    higher_is_better = True
    full_state_update = False
    total: Tensor
    count: Tensor

    def __init__(self, crop_border: int = 0, round_y: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if crop_border < 0:
            raise ValueError(f"crop_border must be >= 0, got {crop_border}")
        self.crop_border = crop_border
        self.round_y = round_y
        self.add_state("total", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def _per_image(self, preds: Tensor, target: Tensor) -> Tensor:
        raise NotImplementedError

    def update(self, preds: Tensor, target: Tensor) -> None:
        """Add a batch: SR and HR images in [0, 1], ``(N, C, H, W)`` with C = 1 or 3."""
        scores = self._per_image(preds, target)
        self.last = scores.detach()  # the batch's own scores, for per-image reports
        self.total += scores.sum().to(self.total.dtype)
        self.count += scores.numel()

    def compute(self) -> Tensor:
        return self.total / self.count


class YPSNR(_PerImageMean):
    """PSNR on MATLAB's Y channel (8-bit SR, ``crop_border`` removed), averaged per image."""

    def _per_image(self, preds: Tensor, target: Tensor) -> Tensor:
        return y_psnr(preds, target, self.crop_border, self.round_y)


class YSSIM(_PerImageMean):
    """SSIM on MATLAB's Y channel (11x11 Gaussian window, valid region), averaged per image."""

    def _per_image(self, preds: Tensor, target: Tensor) -> Tensor:
        return y_ssim(preds, target, self.crop_border, self.round_y)


LPIPS_BACKBONES = {
    "alex": "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
    "vgg": "https://download.pytorch.org/models/vgg16-397923af.pth",
    "squeeze": "https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth",
}
"""torchvision's ImageNet weights of each LPIPS backbone (what torchmetrics' LPIPS loads)."""


class LPIPS(_PerImageMean):
    """LPIPS (Zhang et al., "The Unreasonable Effectiveness of Deep Features as a Perceptual Metric"), lower
    is better: torchmetrics' implementation on the 8-bit RGB images, ``crop_border`` cut as for PSNR, averaged
    per image. Gray images are scored as three equal channels.

    The backbone's ImageNet weights come from the torch cache, fetched and checked first (one
    ``WeightsError`` line when missing offline); the linear layers ship with torchmetrics.
    """

    higher_is_better = False

    def __init__(self, net: str = "alex", crop_border: int = 0, **kwargs: Any) -> None:
        super().__init__(crop_border=crop_border, **kwargs)
        if net not in LPIPS_BACKBONES:
            raise ValueError(f"LPIPS net must be one of {', '.join(LPIPS_BACKBONES)}, got {net!r}")
        from torchmetrics.image.lpip import LearnedPerceptualImagePatchSimilarity

        from sr_zoo.files.download import cached_download

        cached_download(LPIPS_BACKBONES[net], f"{net} ImageNet weights (the backbone of LPIPS)")
        # Per-image scores from a private instance that never syncs: this metric's own sum/count do (DDP).
        self.lpips = LearnedPerceptualImagePatchSimilarity(net_type=net, reduction="none", normalize=True,
                                                           sync_on_compute=False)

    def _per_image(self, preds: Tensor, target: Tensor) -> Tensor:
        _check_pair(preds, target, self.crop_border, 1)
        b = self.crop_border
        pair = [quantize(x.float())[..., b : x.shape[-2] - b, b : x.shape[-1] - b] for x in (preds, target)]
        pair = [x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x for x in pair]
        self.lpips.reset()
        self.lpips.update(*pair)
        return self.lpips.compute().reshape(-1)


class NIQE(Metric):
    """NIQE (``sr_zoo.ops.niqe``: the official MATLAB release's computation), lower is better: of each SR image
    alone (no reference), on its 8-bit Y rounded as MATLAB's uint8 ``rgb2ycbcr`` gives it, ``crop_border`` cut,
    averaged per image. The pristine model is read from ``model_path`` or fetched once into the torch cache.

    ``update(preds, target=None)`` takes a target only to sit beside PSNR/SSIM; it is not read.
    """

    is_differentiable = False
    higher_is_better = False
    full_state_update = False
    total: Tensor
    count: Tensor

    def __init__(self, crop_border: int = 0, model_path: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from sr_zoo.ops.niqe import pristine_model

        if crop_border < 0:
            raise ValueError(f"crop_border must be >= 0, got {crop_border}")
        self.crop_border = crop_border
        self.model = pristine_model(model_path)
        self.add_state("total", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, preds: Tensor, target: Tensor | None = None) -> None:
        """Add a batch of SR images in [0, 1], ``(N, C, H, W)`` with C = 1 or 3."""
        from sr_zoo.ops.niqe import niqe

        y = to_y_255(preds.detach(), self.crop_border, round_y=True)
        scores = torch.stack([niqe(image[0], self.model) for image in y])
        self.last = scores  # the batch's own scores, for per-image reports
        self.total += scores.sum().to(self.total.dtype)
        self.count += scores.numel()

    def compute(self) -> Tensor:
        return self.total / self.count


def extra_metrics(names: Sequence[str], crop_border: int = 0) -> dict[str, Metric]:
    """The metrics asked for by name beside PSNR/SSIM (``lpips``, ``niqe``; others ignored), each built once
    (LPIPS holds a network, NIQE its pristine model): for ``sr-zoo benchmark/compare`` and validation/testing."""
    kinds = EXTRA_KINDS
    return {name: kinds[name](crop_border=crop_border) for name in dict.fromkeys(names) if name in kinds}


EXTRA_KINDS: dict[str, type[Metric]] = {"lpips": LPIPS, "niqe": NIQE}
"""The class of each of ``sr_zoo.metric_names.EXTRA_METRICS`` (a test holds the two to the same names)."""
