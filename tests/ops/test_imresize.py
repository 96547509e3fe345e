"""imresize against an independent float64 reference of MATLAB's algorithm, and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sr_zoo.ops import imresize


def _matlab_cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    outer = np.where(ax <= 2, -0.5 * ax**3 + 2.5 * ax**2 - 4 * ax + 2, 0.0)
    return np.where(ax <= 1, 1.5 * ax**3 - 2.5 * ax**2 + 1, outer)


def _contribution_matrix(n_in: int, n_out: int, scale: float) -> np.ndarray:
    """Dense (n_out, n_in) matrix of MATLAB imresize's bicubic weights, mirrored indices folded in."""
    aa = scale < 1
    width = 4.0 / scale if aa else 4.0
    m = np.zeros((n_out, n_in))
    for i in range(1, n_out + 1):
        u = i / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - width / 2)
        idx = np.arange(left, left + math.ceil(width) + 2)
        w = scale * _matlab_cubic(scale * (u - idx)) if aa else _matlab_cubic(u - idx)
        w = w / w.sum()
        for j, wj in zip(idx, w):
            k = (j - 1) % (2 * n_in)  # symmetric padding: 1..n, n..1
            m[i - 1, k if k < n_in else 2 * n_in - 1 - k] += wj
    return m


def reference_imresize(x: np.ndarray, scale_h: float, scale_w: float, out_h: int, out_w: int) -> np.ndarray:
    """MATLAB imresize of (..., H, W) in float64 as two matrix products, smaller scale first."""
    mh = _contribution_matrix(x.shape[-2], out_h, scale_h)
    mw = _contribution_matrix(x.shape[-1], out_w, scale_w)
    if scale_w < scale_h:
        return mh @ (x @ mw.T)
    return (mh @ x) @ mw.T


CASES = [
    # (H, W, scale) with integer, fractional and tiny sizes; borders are included in every comparison.
    (48, 40, 1 / 2),
    (48, 40, 1 / 3),
    (64, 56, 1 / 4),
    (64, 72, 1 / 8),
    (13, 17, 2),
    (13, 17, 3),
    (9, 7, 4),
    (5, 6, 8),
    (2, 5, 3),  # the shortest side the polyphase form of integer upscaling takes
    (1, 4, 2),  # shorter: the matrix form (the mirror wraps)
    (50, 45, 0.9),
    (50, 45, 0.8),
    (50, 45, 0.7),
    (50, 45, 0.6),
    (50, 45, 0.5),
    (21, 30, 1.5),
    (3, 4, 1 / 2),
]


@pytest.mark.parametrize("h,w,scale", CASES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_matches_matlab_reference(h: int, w: int, scale: float, dtype: torch.dtype, rng: np.random.Generator) -> None:
    x = rng.random((2, 3, h, w))
    out = imresize(torch.from_numpy(x).to(dtype), scale=scale)
    out_h, out_w = math.ceil(h * scale), math.ceil(w * scale)
    expected = reference_imresize(x, scale, scale, out_h, out_w)
    assert out.shape == (2, 3, out_h, out_w) and out.dtype == dtype
    assert np.abs(out.double().numpy() - expected).max() < (1e-12 if dtype == torch.float64 else 1e-6)


def test_anisotropic_scale_and_explicit_size(rng: np.random.Generator) -> None:
    x = rng.random((1, 1, 30, 40))
    out = imresize(torch.from_numpy(x), scale=(0.5, 2.0))
    assert out.shape == (1, 1, 15, 80)
    assert np.abs(out.numpy() - reference_imresize(x, 0.5, 2.0, 15, 80)).max() < 1e-12
    # Only a size: the scale is size / input per dimension, as MATLAB does.
    out = imresize(torch.from_numpy(x), size=(10, 20))
    assert np.abs(out.numpy() - reference_imresize(x, 1 / 3, 0.5, 10, 20)).max() < 1e-12


def test_hand_computed_upsampling_weights() -> None:
    # x2 upsampling of [1, 0, 0, 0]: output 1 sits at u = 0.75, taps at -1, 0, 1, 2 with weights
    # cubic(1.75, 0.75, 0.25, 1.25) = (-3, 29, 111, -9) / 128; mirroring sends -1 -> 2 and 0 -> 1, so
    # y1 = (29 + 111) / 128 = 1.09375. Output 2 at u = 1.25: y2 = (-9 + 111) / 128 = 0.796875.
    # Output 3 at u = 1.75: taps 0 (weight -3/128, mirrored onto x1) and 1 (29/128): y3 = 26 / 128.
    x = torch.tensor([[1.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    out = imresize(x, scale=(1, 2))
    assert out[0, 0].item() == pytest.approx(1.09375, abs=1e-15)
    assert out[0, 1].item() == pytest.approx(0.796875, abs=1e-15)
    assert out[0, 2].item() == pytest.approx(0.203125, abs=1e-15)


def test_identity_and_constants(rng: np.random.Generator) -> None:
    x = torch.from_numpy(rng.random((1, 3, 11, 9)))
    assert torch.equal(imresize(x, scale=1), x)
    const = torch.full((1, 1, 20, 20), 0.3, dtype=torch.float64)
    for scale in (1 / 3, 0.7, 2, 4):
        resized = imresize(const, scale=scale)
        assert torch.allclose(resized, torch.full_like(resized, 0.3), atol=1e-14)


def test_layouts_and_half_precision(rng: np.random.Generator) -> None:
    x = torch.from_numpy(rng.random((3, 16, 16)))
    batched = imresize(x[None], scale=0.5)[0]
    assert torch.equal(imresize(x, scale=0.5), batched)  # CHW
    assert torch.equal(imresize(x[0], scale=0.5), batched[0])  # HW
    half = imresize(x.to(torch.bfloat16), scale=0.5)
    assert half.dtype == torch.bfloat16
    assert (half.double() - batched).abs().max() < 1e-2


def test_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError, match="floating-point"):
        imresize(torch.zeros(4, 4, dtype=torch.uint8), scale=2)
    with pytest.raises(ValueError, match="give scale or size"):
        imresize(torch.zeros(4, 4))
    with pytest.raises(ValueError, match="positive"):
        imresize(torch.zeros(4, 4), scale=-1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu(rng: np.random.Generator) -> None:
    x = torch.from_numpy(rng.random((2, 3, 64, 48)))
    for scale in (0.25, 3):
        assert torch.allclose(imresize(x.cuda(), scale=scale).cpu(), imresize(x, scale=scale), atol=1e-12)


def test_where_torch_interpolate_differs(rng: np.random.Generator) -> None:
    """Why the project carries its own resize: measured differences from F.interpolate.

    * bicubic without antialiasing (a = -0.75, no kernel widening) differs everywhere;
    * ``antialias=True`` (a = -0.5, widened kernel) agrees in the interior but renormalises the kernel
      at the borders instead of mirroring the image, so the outer pixels differ by several grey levels.
    """
    x = torch.from_numpy(rng.random((1, 1, 64, 64)))
    ours = imresize(x, scale=0.25)
    plain = F.interpolate(x, scale_factor=0.25, mode="bicubic", align_corners=False)
    aa = F.interpolate(x, scale_factor=0.25, mode="bicubic", align_corners=False, antialias=True)
    inner = (slice(None), slice(None), slice(3, -3), slice(3, -3))
    assert (ours - plain)[inner].abs().max() > 1e-2
    assert (ours - aa)[inner].abs().max() < 1e-12
    assert (ours - aa)[..., 0, :].abs().max() > 1e-3
    up_ours = imresize(ours, scale=4)
    up_torch = F.interpolate(ours, scale_factor=4, mode="bicubic", align_corners=False)
    assert (up_ours - up_torch)[..., 8:-8, 8:-8].abs().max() > 1e-3  # a = -0.75 vs MATLAB's -0.5
