"""EMTCM's losses (EMTCM paper, eq. 6-8) against values computed by hand on tiny tensors."""

from __future__ import annotations

import math

import pytest
import torch

from sr_zoo.losses import SSIMLoss
from sr_zoo.models.emtcm.loss import DistributionCrossEntropy, MultiTaskLoss


def _image(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64).view(1, 1, 1, -1)


def test_pixel_cross_entropy_hand_computed() -> None:
    ce = DistributionCrossEntropy("pixel", eps=1e-12)
    # Pixels (0.25, 1.0) against SR (0.5, 0.75): per pixel -(0.25 ln 0.5 + 0.75 ln 0.5) = ln 2 and
    # -(1 ln 0.75 + 0 ln 0.25) = -ln 0.75; the image's value is their mean.
    two_pixels = math.log(2) - math.log(0.75)
    assert ce(_image(0.5, 0.75), _image(0.25, 1.0)).item() == pytest.approx(two_pixels / 2, abs=1e-9)
    summed = DistributionCrossEntropy("pixel", eps=1e-12, pixels="sum")
    assert summed(_image(0.5, 0.75), _image(0.25, 1.0)).item() == pytest.approx(two_pixels, abs=1e-9)
    # SR equal to HR: the entropy of the pixels' Bernoulli distributions (0 for a pixel at 0 or 1).
    entropy = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert ce(_image(0.25, 1.0), _image(0.25, 1.0)).item() == pytest.approx(entropy / 2, abs=1e-9)
    # Unlike the image reading, a brightness change costs: it pins absolute intensities.
    assert ce(_image(0.5, 0.5), _image(0.25, 0.25)).item() > ce(_image(0.25, 0.25), _image(0.25, 0.25)).item() + 0.1
    # The batch sums (eq. 7 sums over n).
    batch = ce(torch.cat([_image(0.5, 0.75), _image(0.25, 1.0)]), torch.cat([_image(0.25, 1.0)] * 2))
    assert batch.item() == pytest.approx((two_pixels + entropy) / 2, abs=1e-9)


def test_image_cross_entropy_hand_computed() -> None:
    ce = DistributionCrossEntropy("image", eps=0.0)
    # HR intensities (1, 3) -> p = (1/4, 3/4); SR (2, 2) -> q = (1/2, 1/2): CE = ln 2.
    assert ce(_image(2, 2), _image(1, 3)).item() == pytest.approx(math.log(2), abs=1e-12)
    # SR equal to HR: CE is the entropy of p, its minimum.
    entropy = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert ce(_image(1, 3), _image(1, 3)).item() == pytest.approx(entropy, abs=1e-12)
    # Scaling the SR image does not change its distribution.
    assert ce(_image(10, 30), _image(1, 3)).item() == pytest.approx(entropy, abs=1e-12)
    # The batch sums (eq. 7 sums over n).
    batch_sr, batch_hr = torch.cat([_image(2, 2), _image(1, 3)]), torch.cat([_image(1, 3), _image(1, 3)])
    assert ce(batch_sr, batch_hr).item() == pytest.approx(math.log(2) + entropy, abs=1e-12)
    assert DistributionCrossEntropy("image", eps=0.0, reduction="mean")(batch_sr, batch_hr).item() == pytest.approx(
        (math.log(2) + entropy) / 2, abs=1e-12
    )


def test_ssim_loss_hand_computed_on_constant_images() -> None:
    # Constant 11x11 images a and b: one valid window, variances 0, SSIM = (2ab + C1) / (a^2 + b^2 + C1).
    a, b, c1 = 0.4, 0.6, 0.01**2
    sr, hr = torch.full((1, 1, 11, 11), a, dtype=torch.float64), torch.full((1, 1, 11, 11), b, dtype=torch.float64)
    expected = 1 - (2 * a * b + c1) / (a * a + b * b + c1)
    # kornia adds eps = 1e-12 to the denominator: a relative 1e-9 against C2 = 9e-4.
    assert SSIMLoss()(sr, hr).item() == pytest.approx(expected, abs=1e-8)
    assert SSIMLoss()(hr, hr).item() == pytest.approx(0.0, abs=1e-8)
    assert SSIMLoss()(torch.cat([sr, hr]), torch.cat([hr, hr])).item() == pytest.approx(expected, abs=1e-8)  # sum


def test_multitask_loss_combines_with_beta_and_is_differentiable() -> None:
    torch.manual_seed(0)
    hr = torch.rand(2, 1, 16, 16, dtype=torch.float64)
    sr = (hr + 0.1 * torch.randn_like(hr)).clamp(0.01, 1).requires_grad_()
    loss = MultiTaskLoss(beta=1e-4)(sr, hr)
    expected = SSIMLoss()(sr, hr) + 1e-4 * DistributionCrossEntropy()(sr, hr)
    assert loss.item() == pytest.approx(expected.item(), abs=1e-12)
    loss.backward()
    assert torch.isfinite(sr.grad).all() and sr.grad.abs().sum() > 0
    assert MultiTaskLoss(beta=1.0)(sr, hr).item() > loss.item()  # the CE term is there, weighted by beta


def _stationary_pair(side: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """An HR patch of a stationary random texture and an SR guess (blurred, brightened, noisy)."""
    generator = torch.Generator().manual_seed(seed)
    noise = torch.rand(1, 1, side + 2, side + 2, generator=generator, dtype=torch.float64)
    hr = torch.nn.functional.avg_pool2d(noise, 3, 1)
    sr = torch.nn.functional.avg_pool2d(hr, 3, 1, padding=1, count_include_pad=False) * 0.9 + 0.08
    sr = (sr + 0.02 * torch.randn(sr.shape, generator=generator, dtype=torch.float64)).clamp(0.01, 0.99)
    return sr, hr


def test_each_task_is_a_per_image_average_so_beta_does_not_depend_on_patch_size() -> None:
    """EMTCM paper, eq. 6-8: both tasks per image are averages, summed over the batch."""
    ce, ce_summed, ssim = DistributionCrossEntropy(), DistributionCrossEntropy(pixels="sum"), SSIMLoss()
    # Exact: a patch tiled 2x2 has the same mean cross-entropy (4x the summed one).
    sr, hr = _stationary_pair(24, seed=1)
    tiled_sr, tiled_hr = sr.repeat(1, 1, 2, 2), hr.repeat(1, 1, 2, 2)
    assert ce(tiled_sr, tiled_hr).item() == pytest.approx(ce(sr, hr).item(), rel=1e-12)
    assert ce_summed(tiled_sr, tiled_hr).item() == pytest.approx(4 * ce_summed(sr, hr).item(), rel=1e-12)
    # Statistically: on the same texture, the ratio of the two tasks at 32x32 and at 128x128 patches.
    small, large = _stationary_pair(32, seed=2), _stationary_pair(128, seed=3)
    ratio_small = (ce(*small) / ssim(*small)).item()
    ratio_large = (ce(*large) / ssim(*large)).item()
    assert ratio_large == pytest.approx(ratio_small, rel=0.1)
    # Summed over pixels, the same ratio grows with the pixels of the patch: (128/32)^2 = 16.
    summed_ratio_growth = (ce_summed(*large) / ssim(*large)).item() / (ce_summed(*small) / ssim(*small)).item()
    assert summed_ratio_growth == pytest.approx(16, rel=0.1)
    # The batch: both tasks sum over images, so their ratio does not depend on the batch size either.
    loss = MultiTaskLoss(beta=0.5)
    tripled = loss(torch.cat([small[0]] * 3), torch.cat([small[1]] * 3))
    assert tripled.item() == pytest.approx(3 * loss(*small).item(), rel=1e-12)


def test_table6_ablations_drop_one_task() -> None:
    sr, hr = _stationary_pair(32, seed=4)
    assert MultiTaskLoss(beta=0.0)(sr, hr).item() == pytest.approx(SSIMLoss()(sr, hr).item(), rel=1e-12)  # EMTCM-FD
    assert MultiTaskLoss(beta=1e-4, hvs=False)(sr, hr).item() == pytest.approx(
        1e-4 * DistributionCrossEntropy()(sr, hr).item(), rel=1e-12)  # EMTCM-HVS
    with pytest.raises(ValueError, match="at least one task"):
        MultiTaskLoss(beta=0.0, hvs=False)
