"""x8 self-ensemble: the explicit mean of eight numpy-transformed passes, in whole and tiled inference."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from helpers.small_models import LIGHT
from sr_zoo.cli import main
from sr_zoo.inference import SelfEnsemble, receptive_radius, upscale
from sr_zoo.inference.self_ensemble import dihedral, undo_dihedral
from sr_zoo.models import create_model


def _explicit_mean(model: torch.nn.Module, image: np.ndarray) -> np.ndarray:
    """The eight transforms done with numpy (not the code under test), the outputs turned back and averaged."""
    outputs = []
    for turns in range(4):
        for flip in (False, True):
            x = np.rot90(image, turns, axes=(1, 2))
            x = x[:, :, ::-1] if flip else x
            with torch.no_grad():
                y = model(torch.from_numpy(np.ascontiguousarray(x))[None])[0].double().numpy()
            y = y[:, :, ::-1] if flip else y
            outputs.append(np.rot90(y, -turns, axes=(1, 2)))
    return np.mean(outputs, axis=0)


def test_the_eight_transforms_are_the_dihedral_group_and_undo_exactly() -> None:
    x = torch.arange(12.0).reshape(1, 1, 3, 4)
    seen = {tuple(dihedral(x, i).flatten().tolist()) for i in range(8)}
    assert len(seen) == 8
    assert all(torch.equal(undo_dihedral(dihedral(x, i), i), x) for i in range(8))


@pytest.mark.parametrize("name", [n for n in LIGHT if n != "bicubic"])  # Y-channel nets: the CbCr path is averaged too
def test_self_ensemble_is_the_mean_of_the_eight_passes_whole_and_tiled(name: str) -> None:
    model = create_model(name, 3, pretrained=True).eval()  # trained: a random SRCNN's output is all but flat
    image = torch.rand(3, 13, 17, generator=torch.Generator().manual_seed(1))
    expected = np.clip(_explicit_mean(model, image.numpy()), 0, 1)
    whole = upscale(model, image, self_ensemble=True)
    tiled = upscale(model, image, tile=6, self_ensemble=True)
    # float32 sums in another order (and another conv path for strided inputs): far below the 1e-3 gap below
    assert np.abs(whole.double().numpy() - expected).max() < 2e-5
    assert np.abs(tiled.double().numpy() - expected).max() < 2e-5
    assert (whole - upscale(model, image)).abs().max() > 1e-3  # it is not the single pass
    assert receptive_radius(SelfEnsemble(model), 3) == receptive_radius(model, 3)


def test_benchmark_and_upscale_take_self_ensemble(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "set"
    folder.mkdir()
    rng = np.random.default_rng(0)
    cv2.imwrite(str(folder / "a.png"), cv2.GaussianBlur(rng.integers(0, 256, (36, 30, 3), dtype=np.uint8), (0, 0), 2))
    assert main(["benchmark", "--model", "bicubic", "--scale", "2", "--data", str(folder), "--self-ensemble",
                 "--json"]) == 0
    plain_out = capsys.readouterr().out
    assert '"model": "bicubic+"' in plain_out
    assert main(["upscale", str(folder), "-o", str(tmp_path / "out"), "--model", "bicubic", "--scale", "2",
                 "--self-ensemble"]) == 0
    assert cv2.imread(str(tmp_path / "out" / "a.png")).shape == (72, 60, 3)
