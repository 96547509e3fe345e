"""Pretrained weights: the shipped files match their recorded sha256 and Set5 scores; registry entries
that download are fetched from a server on 127.0.0.1 and checked; missing weights are one line."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pytest
import torch

import sr_zoo.models.pretrained as pw
from helpers.paths import REPO, shared_set
from sr_zoo.data.eval_sets import BenchmarkDataset
from sr_zoo.errors import SRZooError
from sr_zoo.inference.evaluation import evaluate
from sr_zoo.models import create_model

SHIPPED = [f"{m}_x{s}" for m in ("emtcm", "fsrcnn", "srcnn") for s in (2, 3, 4)]


def test_the_small_models_are_shipped_at_x2_x3_x4_with_intact_files() -> None:
    entries = pw.manifest()
    assert sorted(entries) == sorted(SHIPPED)
    for key, entry in entries.items():
        path = Path(str(pw.resources.files("sr_zoo.models.weights") / entry["file"]))
        assert pw.sha256_of(path) == entry["sha256"], key
        # The command that made them: scripts and recipes of this repository, each of which exists.
        files = re.findall(r"(?:benchmarks|experiments)/[\w./-]+\.(?:sh|py|yaml)", entry["command"])
        assert "benchmarks/export_pretrained.py" in files, key
        assert all((REPO / f).is_file() for f in files), (key, files)


@pytest.mark.parametrize("key", SHIPPED)
def test_shipped_weights_reproduce_their_recorded_set5_score(key: str) -> None:
    set5 = shared_set("Set5")
    name, scale = key.rsplit("_x", 1)
    entry = pw.manifest()[key]
    model = create_model(name, int(scale), pretrained=True)
    result = evaluate(model, BenchmarkDataset(set5, int(scale)), name)
    assert round(result.psnr, 2) == pytest.approx(entry["scores"]["Set5"]["psnr"], abs=0.011)
    assert round(result.ssim, 4) == pytest.approx(entry["scores"]["Set5"]["ssim"], abs=1.1e-4)


def test_no_weights_is_one_line() -> None:
    with pytest.raises(SRZooError, match=r"no pretrained weights for msfmgan x4 \(available: .*\); train a model"):
        create_model("msfmgan", 4, pretrained=True)


def _publish(folder: Path, name: str, scale: int) -> tuple[str, str]:
    torch.manual_seed(3)
    model = create_model(name, scale)
    buffer = io.BytesIO()
    torch.save({"state_dict": model.net.state_dict(), "hyper_parameters": {}}, buffer)
    data = buffer.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    filename = f"{name}_x{scale}-{sha[:8]}.pt"
    (folder / filename).write_bytes(data)
    return filename, sha


def test_a_registry_entry_with_a_url_downloads_and_checks(served, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001, F811
    folder, base = served
    filename, sha = _publish(folder, "srresnet", 4)
    monkeypatch.setattr(pw, "manifest", lambda: {"srresnet_x4": {"url": base + filename, "sha256": sha}})
    model = create_model("srresnet", 4, pretrained=True)
    torch.manual_seed(3)
    reference = create_model("srresnet", 4)
    assert all(torch.equal(a, b) for a, b in zip(model.net.state_dict().values(), reference.net.state_dict().values()))
    monkeypatch.setattr(pw, "manifest", lambda: {"srresnet_x4": {"url": base + filename, "sha256": "0" * 64}})
    with pytest.raises(SRZooError, match="is not the recorded 000000000000... of srresnet_x4"):
        create_model("srresnet", 4, pretrained=True)
