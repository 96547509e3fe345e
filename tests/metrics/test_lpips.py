"""LPIPS through torchmetrics: zero for an image with itself, growing with noise, never downloading in tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision

from sr_zoo.errors import WeightsError
from sr_zoo.metrics import LPIPS, LPIPS_BACKBONES


@pytest.fixture
def alexnet_standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """torchvision's AlexNet with random weights where LPIPS looks for the ImageNet ones (an empty TORCH_HOME)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    path = tmp_path / "torch" / "hub" / "checkpoints" / LPIPS_BACKBONES["alex"].rsplit("/", 1)[-1]
    path.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), path)
    return path


def _photo(size: int = 64) -> torch.Tensor:
    y, x = torch.meshgrid(torch.linspace(0, 6, size), torch.linspace(0, 6, size), indexing="ij")
    return torch.stack([torch.sin(x + y), torch.cos(2 * x - y), torch.sin(3 * y)])[None] * 0.4 + 0.5


def test_lpips_is_zero_for_an_image_with_itself_and_grows_with_noise(alexnet_standin: Path) -> None:
    metric = LPIPS(crop_border=2)
    hr = _photo()
    metric.update(hr, hr)
    assert float(metric.compute()) == 0.0
    scores = []
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(hr.shape, generator=g)
    for sigma in (0.01, 0.03, 0.1, 0.3):
        metric.reset()
        metric.update((hr + sigma * noise).clamp(0, 1), hr)
        scores.append(float(metric.compute()))
    assert all(a < b for a, b in zip(scores, scores[1:])), scores
    assert scores[0] > 0


def test_lpips_averages_per_image_and_scores_gray_as_rgb(alexnet_standin: Path) -> None:
    metric = LPIPS()
    hr, sr = _photo(), (_photo() * 0.9).clamp(0, 1)
    single = LPIPS()
    single.update(sr, hr)
    metric.update(sr, hr)
    metric.update(hr, hr)
    assert float(metric.compute()) == pytest.approx(float(single.compute()) / 2, rel=1e-6)
    gray = LPIPS()
    gray.update(sr[:, :1], hr[:, :1])
    rgb = LPIPS()
    rgb.update(sr[:, :1].expand(-1, 3, -1, -1), hr[:, :1].expand(-1, 3, -1, -1))
    assert float(gray.compute()) == pytest.approx(float(rgb.compute()), rel=1e-6)


def test_missing_backbone_offline_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    monkeypatch.setenv("SR_ZOO_OFFLINE", "1")
    with pytest.raises(WeightsError, match=r"alexnet-owt-7be5be79.pth: alex ImageNet weights \(the backbone of LPIPS\) "
                                           r"not found and SR_ZOO_OFFLINE=1 forbids downloading") as error:
        LPIPS()
    assert "\n" not in str(error.value)


def test_benchmark_scores_lpips_when_asked(alexnet_standin: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from sr_zoo.cli import main
    from sr_zoo.files.images import write_image

    folder = tmp_path / "set"
    g = torch.Generator().manual_seed(0)
    for i in range(2):  # sharp texture: bicubic x2 loses it
        write_image(folder / f"{i}.png", torch.rand(3, 72 + 8 * i, 72, generator=g))
    assert main(["benchmark", "--model", "bicubic", "--scale", "2", "--data", str(folder), "--json"]) == 0
    assert "lpips" not in json.loads(capsys.readouterr().out)["results"][0]
    assert main(["benchmark", "--model", "bicubic", "--scale", "2", "--data", str(folder), "--json",
                 "--metrics", "psnr", "ssim", "lpips"]) == 0
    row = json.loads(capsys.readouterr().out)["results"][0]
    from sr_zoo.data import BenchmarkDataset
    from sr_zoo.models import create_model

    dataset, model, expected = BenchmarkDataset(folder, 2), create_model("bicubic", 2), LPIPS(crop_border=2)
    for item in (dataset[i] for i in range(len(dataset))):
        expected.update(model(item["lr"][None]), item["hr"][None])
    assert 0 < row["lpips"] == pytest.approx(float(expected.compute()), abs=1e-4)
