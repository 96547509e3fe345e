"""Y-channel PSNR/SSIM against hand-computed values and independent implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torchmetrics.functional.image import structural_similarity_index_measure

from sr_zoo.metrics import YPSNR, YSSIM, ssim_valid, to_y_255, y_psnr, y_ssim
from sr_zoo.ops import rgb_to_y, rgb_to_ycbcr, ycbcr_to_rgb

# torchmetrics' PSNR holds data_range in float32, which limits it to about 1e-6 dB: far below the
# 0.01 dB that tables print, so PSNR values are compared to that tolerance, SSIM ones to 1e-12.
DB = 1e-5


def _gray(value_255: float, h: int = 24, w: int = 24, channels: int = 1) -> torch.Tensor:
    return torch.full((1, channels, h, w), value_255 / 255.0, dtype=torch.float64)


def test_matlab_rgb2ycbcr_values() -> None:
    rgb = torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
    y = rgb_to_y(rgb.view(4, 3, 1, 1)).flatten() * 255
    assert y.tolist() == pytest.approx([235.0, 16.0, 16 + 65.481, 16 + 128.553], abs=1e-9)
    x = torch.rand(2, 3, 5, 5, dtype=torch.float64)
    assert torch.allclose(ycbcr_to_rgb(rgb_to_ycbcr(x)), x, atol=1e-12)


def test_y_matches_scikit_image_rgb2ycbcr() -> None:
    color = pytest.importorskip("skimage.color")
    x = torch.rand(1, 3, 8, 8, dtype=torch.float64)
    expected = color.rgb2ycbcr(x[0].permute(1, 2, 0).numpy())[..., 0]  # float input: Y in 16..235
    assert np.abs(rgb_to_y(x)[0, 0].numpy() * 255 - expected).max() < 1e-9


def test_psnr_hand_computed_single_channel() -> None:
    # Every pixel off by 10 grey levels: MSE = 100, PSNR = 10 log10(255^2 / 100).
    assert y_psnr(_gray(110), _gray(100)).item() == pytest.approx(10 * math.log10(255**2 / 100), abs=DB)


def test_psnr_on_y_of_rgb() -> None:
    # R = G = B raised by 10 levels raises Y by 10 * (65.481 + 128.553 + 24.966) / 255 = 10 * 219 / 255.
    dy = 10 * 219 / 255
    got = y_psnr(_gray(110, channels=3), _gray(100, channels=3)).item()
    assert got == pytest.approx(10 * math.log10(255**2 / dy**2), abs=DB)


def test_sr_is_rounded_to_8_bits() -> None:
    hr = _gray(100)
    assert math.isinf(y_psnr(hr + 0.4 / 255, hr).item())  # rounds back onto HR
    assert y_psnr(hr + 0.6 / 255, hr).item() == pytest.approx(10 * math.log10(255**2), abs=DB)  # off by 1
    assert y_psnr(hr + 2.0, hr).item() == pytest.approx(10 * math.log10(255**2 / 155**2), abs=DB)  # clamped to 255


def test_crop_border_excludes_the_frame() -> None:
    hr, sr = _gray(100), _gray(110)
    sr[..., 3:-3, 3:-3] = hr[..., 3:-3, 3:-3]
    sr[..., 4, 4] = 101 / 255  # one interior pixel off by 1 in an 18x18 scored region
    assert y_psnr(sr, hr, crop_border=3).item() == pytest.approx(10 * math.log10(255**2 * 18 * 18), abs=DB)


def test_ssim_hand_computed_constant_images() -> None:
    # Constant images: variances and covariance vanish, SSIM = (2ab + C1) / (a^2 + b^2 + C1).
    c1 = (0.01 * 255) ** 2
    expected = (2 * 100 * 110 + c1) / (100**2 + 110**2 + c1)
    assert y_ssim(_gray(110), _gray(100)).item() == pytest.approx(expected, abs=1e-12)
    assert y_ssim(_gray(100), _gray(100)).item() == pytest.approx(1.0, abs=1e-12)


def test_ssim_equals_torchmetrics_on_the_valid_region() -> None:
    x = torch.rand(2, 1, 40, 33, dtype=torch.float64) * 255
    y = (x + torch.randn_like(x) * 20).clamp(0, 255)
    _, full = structural_similarity_index_measure(x, y, gaussian_kernel=True, sigma=1.5, kernel_size=11,
                                                  data_range=255.0, reduction="none", return_full_image=True)
    assert torch.allclose(ssim_valid(x, y), full[..., 5:-5, 5:-5].mean(dim=(1, 2, 3)), atol=1e-12)


def test_ssim_and_psnr_match_scikit_image() -> None:
    metrics = pytest.importorskip("skimage.metrics")
    hr = torch.rand(1, 3, 50, 60, dtype=torch.float64)
    sr = (hr + torch.randn_like(hr) * 0.05).clamp(0, 1)
    y_sr, y_hr = to_y_255(sr, crop_border=4)[0, 0].numpy(), to_y_255(hr, crop_border=4)[0, 0].numpy()
    ssim_ref = metrics.structural_similarity(
        y_sr, y_hr, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255.0
    )
    psnr_ref = metrics.peak_signal_noise_ratio(y_hr, y_sr, data_range=255.0)
    assert y_ssim(sr, hr, crop_border=4).item() == pytest.approx(ssim_ref, abs=1e-10)
    assert y_psnr(sr, hr, crop_border=4).item() == pytest.approx(psnr_ref, abs=DB)


def test_metric_averages_per_image_not_pooled() -> None:
    # MSE 100 and MSE 1: the per-image mean of PSNR is not the PSNR of the pooled MSE (50.5).
    metric = YPSNR()
    metric.update(_gray(110).float(), _gray(100).float())
    metric.update(_gray(101).float(), _gray(100).float())
    per_image = (10 * math.log10(255**2 / 100) + 10 * math.log10(255**2 / 1)) / 2
    assert metric.compute().item() == pytest.approx(per_image, abs=DB)
    assert abs(per_image - 10 * math.log10(255**2 / 50.5)) > 5
    metric.reset()
    metric.update(torch.cat([_gray(110), _gray(110)]), torch.cat([_gray(100), _gray(100)]))
    assert metric.compute().item() == pytest.approx(10 * math.log10(255**2 / 100), abs=DB)


def test_ssim_metric_accumulates_batches() -> None:
    hr = torch.rand(4, 3, 32, 32)
    sr = (hr + 0.05 * torch.randn_like(hr)).clamp(0, 1)
    metric = YSSIM(crop_border=2)
    metric.update(sr[:1], hr[:1])
    metric.update(sr[1:], hr[1:])
    assert metric.compute().item() == pytest.approx(y_ssim(sr, hr, crop_border=2).mean().item(), abs=1e-12)


def test_too_small_or_mismatched_images_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="too small to score with crop_border=8"):
        y_ssim(_gray(1, 20, 20), _gray(1, 20, 20), crop_border=8)
    with pytest.raises(ValueError, match="shapes differ"):
        y_psnr(_gray(1, 20, 20), _gray(1, 20, 21))
    with pytest.raises(ValueError, match="1 or 3"):
        y_psnr(torch.rand(1, 4, 8, 8), torch.rand(1, 4, 8, 8))


@pytest.mark.parametrize("band_pixels", [1, 37 * 20, 37 * 64])
def test_scoring_in_bands_equals_one_pass(band_pixels: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bounded-memory scoring: any band height gives the one-pass PSNR (torchmetrics) and SSIM map mean."""
    from torchmetrics.functional.image import peak_signal_noise_ratio

    import sr_zoo.metrics as metrics

    g = torch.Generator().manual_seed(3)
    hr = torch.rand(2, 3, 61, 45, generator=g, dtype=torch.float64)
    sr = (hr + 0.05 * torch.randn(hr.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    y_sr, y_hr = to_y_255(sr, crop_border=4), to_y_255(hr, crop_border=4)
    psnr_ref = peak_signal_noise_ratio(y_sr, y_hr, data_range=255.0, reduction="none", dim=(1, 2, 3)).double()
    ssim_ref = ssim_valid(y_sr, y_hr)
    monkeypatch.setattr(metrics, "BAND_PIXELS", band_pixels)
    assert len(metrics._row_bands(53, 37, overlap=10)) > (1 if band_pixels < 37 * 64 else 0)
    assert torch.allclose(y_psnr(sr, hr, crop_border=4), psnr_ref, atol=1e-5, rtol=0)
    assert torch.allclose(y_ssim(sr, hr, crop_border=4), ssim_ref, atol=1e-12, rtol=0)


def test_row_bands_cover_every_window_once() -> None:
    import sr_zoo.metrics as metrics

    for rows, width in [(11, 5), (12, 5), (100, 7), (1000, 3000)]:
        windows = []
        for start, stop in metrics._row_bands(rows, width, overlap=10):
            windows += range(start, stop - 10)
        assert windows == list(range(rows - 10))


def test_the_test_table_holds_each_images_own_scores(tmp_path) -> None:  # noqa: ANN001
    """``sr-zoo test``'s per-image table (W&B ``test/per_image``): each row is that image's Y PSNR/SSIM with the
    scale as border, as ``y_psnr``/``y_ssim`` give them for the model's output."""
    import cv2
    import lightning as L

    from sr_zoo.data import BenchmarkDataset, SRDataModule
    from sr_zoo.models import create_model

    folder = tmp_path / "set"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, size in (("a", (40, 52)), ("b", (36, 30))):
        cv2.imwrite(str(folder / f"{name}.png"), cv2.GaussianBlur(rng.integers(0, 256, (*size, 3), dtype=np.uint8),
                                                                  (0, 0), 1.2))
    model = create_model("bicubic", 2)
    data = SRDataModule(train=["demo"], val=[], test=[str(folder)], scale=2, num_workers=0,
                        root=str(tmp_path / "data"))
    L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False).test(model, datamodule=data,
                                                                                        verbose=False)
    dataset = BenchmarkDataset(folder, 2)
    expected = []
    for index in range(len(dataset)):
        item = dataset[index]
        sr = model(item["lr"][None])
        expected.append([folder.name, item["name"], round(float(y_psnr(sr, item["hr"][None], 2)[0]), 4),
                         round(float(y_ssim(sr, item["hr"][None], 2)[0]), 6)])
    assert model._test_rows == expected


def test_the_metric_names_are_the_metrics_built() -> None:
    """``sr_zoo.metric_names`` (no torch: the command line's choices, the data module's check) names exactly the
    metric classes ``extra_metrics`` builds, and the command lines offer those names."""
    import argparse

    from sr_zoo.cli import benchmark, compare
    from sr_zoo.metric_names import EXTRA_METRICS, TABLE_METRICS
    from sr_zoo.metrics import EXTRA_KINDS

    assert sorted(EXTRA_KINDS) == sorted(EXTRA_METRICS) and not set(TABLE_METRICS) & set(EXTRA_METRICS)
    for command, offered in ((benchmark, (*TABLE_METRICS, *EXTRA_METRICS)), (compare, EXTRA_METRICS)):
        sub = argparse.ArgumentParser().add_subparsers()
        command.add_parser(sub)
        (parser,) = sub.choices.values()
        (action,) = [a for a in parser._actions if "--metrics" in a.option_strings]
        assert tuple(action.choices) == offered
