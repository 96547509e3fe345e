"""Compatibility with the flat layout before issue 18 (``sr_zoo.callbacks``, ``sr_zoo.loggers`` ...): a
checkpoint and the ``config.yaml`` of a run made by that code (tests/fixtures/old_layout, see its README)
load, upscale and resume through the real entry points, and the old module paths still import, each
with a ``DeprecationWarning`` that names the new one."""

from __future__ import annotations

import importlib
import re
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml

import sr_zoo
import sr_zoo.losses
import sr_zoo.models
from helpers.paths import TESTS
from sr_zoo import _compat
from sr_zoo.cli import main
from sr_zoo.models import create_model

OLD = TESTS / "fixtures" / "old_layout"
CKPT = OLD / "fsrcnn_x3_257273f.ckpt"
CONFIG = OLD / "fsrcnn_x3_257273f.config.yaml"
SAVED_STEP = 3  # the old run: sr-zoo fit --model fsrcnn --scale 3 --trainer.max_steps 3


def _saved() -> dict:
    return torch.load(CKPT, map_location="cpu", weights_only=True)


def _forget(monkeypatch: pytest.MonkeyPatch, old: str) -> None:
    """Make the next ``import old`` run the compatibility finder again (restored after the test)."""
    monkeypatch.delitem(sys.modules, old, raising=False)
    parent, _, child = old.rpartition(".")
    monkeypatch.delattr(sys.modules[parent], child, raising=False)


def test_the_old_checkpoint_loads_with_its_weights() -> None:
    saved = _saved()
    assert saved["global_step"] == SAVED_STEP and saved["sr_zoo"] == {"model": "fsrcnn", "scale": 3}
    model = create_model("fsrcnn", 3, checkpoint=CKPT)
    state = model.state_dict()
    assert state.keys() == saved["state_dict"].keys()
    assert all(torch.equal(state[k], saved["state_dict"][k]) for k in state)


def test_sr_zoo_upscale_with_the_old_checkpoint(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rgb = cv2.GaussianBlur(rng.integers(0, 256, (14, 11, 3), dtype=np.uint8), (0, 0), 1.0)
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), rgb[:, :, ::-1])
    out = tmp_path / "out"
    assert main(["upscale", "--model", "fsrcnn", "--scale", "3", str(src), "-o", str(out), "--ckpt", str(CKPT)]) == 0
    written = cv2.imread(str(out / "in.png"), cv2.IMREAD_UNCHANGED)
    assert written.shape == (42, 33, 3) and written.dtype == np.uint8
    # The library's whole-image result with the same weights, quantized as the command quantizes.
    model = create_model("fsrcnn", 3, checkpoint=CKPT).eval()
    expected = sr_zoo.upscale(model, torch.from_numpy(rgb.transpose(2, 0, 1).astype(np.float32) / 255))
    expected = np.floor(expected.numpy().transpose(1, 2, 0) * 255 + 0.5)
    assert np.abs(written[:, :, ::-1].astype(float) - expected).max() <= 1


def test_fit_resumes_the_old_run_from_its_config_and_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture) -> None:
    """The saved config names ``sr_zoo.loggers.SRZooWandbLogger``: it resolves through the old path
    (warning) and the run continues from step 3 to step 5 (``Announce`` prints each batch's step)."""
    monkeypatch.setenv("WANDB_MODE", "disabled")
    monkeypatch.chdir(tmp_path)  # the logger's save_dir is "."
    config = yaml.safe_load(CONFIG.read_text())
    assert config["trainer"]["logger"]["class_path"] == "sr_zoo.loggers.SRZooWandbLogger"
    config["trainer"]["default_root_dir"] = str(tmp_path / "runs")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    ckpt = shutil.copyfile(CKPT, tmp_path / "old.ckpt")
    _forget(monkeypatch, "sr_zoo.loggers")
    with pytest.warns(DeprecationWarning, match=r"sr_zoo\.loggers moved to sr_zoo\.training\.loggers"):
        status = main(["fit", "--config", str(tmp_path / "config.yaml"), "--ckpt_path", str(ckpt),
                       "--trainer.max_steps", "5", "--data.root", str(tmp_path / "data"),
                       "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
                       "--trainer.callbacks+=helpers.interrupt_helpers.Announce"])
    assert status == 0
    assert re.findall(r"^test: step (\d+)$", capsys.readouterr().err, re.M) == ["4", "5"]
    last = [p for p in tmp_path.rglob("last.ckpt")]
    assert len(last) == 1, last
    resumed = torch.load(last[0], map_location="cpu", weights_only=True)
    assert resumed["global_step"] == 5
    assert resumed["SRDataModule"]["progress"]["batches"] == 5  # the data position continued too
    assert not all(torch.equal(resumed["state_dict"][k], v) for k, v in _saved()["state_dict"].items())


def _expected_names(targets: tuple[str, ...]) -> dict[str, object]:
    """Each public name of the new modules, as the old path looks it up (the first module holding it)."""
    names: dict[str, object] = {}
    for target in targets:
        module = importlib.import_module(target)
        public = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
        for name in public:
            names.setdefault(name, getattr(module, name))
    return names


@pytest.mark.parametrize("old", sorted(_compat.MOVED))
def test_old_module_paths_resolve_to_the_new_objects(old: str, monkeypatch: pytest.MonkeyPatch) -> None:
    targets = _compat.MOVED[old]
    _forget(monkeypatch, old)
    with pytest.warns(DeprecationWarning, match=rf"^{old} moved to {', '.join(targets)};"):
        module = importlib.import_module(old)
    assert sys.modules[old] is module
    expected = _expected_names(targets)
    assert expected, f"{targets} export nothing"
    for name, obj in expected.items():
        assert getattr(module, name) is obj, f"{old}.{name}"
    for old_name, new_name in _compat.RENAMED.get(old, {}).items():
        assert getattr(module, old_name) is expected[new_name], f"{old}.{old_name} -> {new_name}"


def test_import_statement_of_an_old_path(monkeypatch: pytest.MonkeyPatch) -> None:
    _forget(monkeypatch, "sr_zoo.callbacks")
    with pytest.warns(DeprecationWarning, match="sr_zoo.callbacks moved to sr_zoo.training.schedules"):
        import sr_zoo.callbacks
    from sr_zoo.training.schedules import SteadyStateStop

    assert sr_zoo.callbacks.SteadyStateStop is SteadyStateStop


@pytest.mark.parametrize("name", sorted(sr_zoo.losses.MOVED_TO_FOLDERS))
def test_a_loss_moved_to_its_papers_folder_keeps_its_old_name(name: str) -> None:
    new = getattr(importlib.import_module(sr_zoo.losses.MOVED_TO_FOLDERS[name]), name)
    with pytest.warns(DeprecationWarning, match=rf"^sr_zoo.losses.{name} moved to sr_zoo.models.\w+.loss;"):
        assert getattr(sr_zoo.losses, name) is new


def test_the_flat_model_modules_are_the_paper_folders() -> None:
    """``sr_zoo.models.emtcm.EMTCM`` (a module before issue 29, a folder now) names the same classes."""
    for name in sr_zoo.models.list_models():
        info = sr_zoo.models.model_info(name)
        folder = importlib.import_module(info.module.rsplit(".", 1)[0])
        assert getattr(folder, info.class_name) is info.builder
    from sr_zoo.models.csrcnn import CSRCNNNet
    from sr_zoo.models.emtcm import EMTCMNet

    assert EMTCMNet.__module__ == "sr_zoo.models.emtcm.model" and CSRCNNNet.__module__ == "sr_zoo.models.csrcnn.model"


@pytest.mark.parametrize("module,name", [("sr_zoo.training.schedules", "Curriculum"),
                                         ("sr_zoo.training.schedules", "LossSchedule"),
                                         ("sr_zoo.training", "Curriculum")])
def test_csrcnns_schedules_moved_to_its_folder_keep_their_old_names(module: str, name: str) -> None:
    from sr_zoo.models.csrcnn import schedules

    with pytest.warns(DeprecationWarning, match=rf"^{module}.{name} moved to sr_zoo.models.csrcnn.schedules;"):
        assert getattr(importlib.import_module(module), name) is getattr(schedules, name)


def test_the_fixture_files_are_the_ones_its_readme_records() -> None:
    """The old-layout checkpoint is this project's own 3-step run: its files hash to what its README records."""
    import hashlib

    folder = TESTS / "fixtures" / "old_layout"
    recorded = dict(re.findall(r"^\| `([^`]+)`.*\| `([0-9a-f]{64})` \|$", (folder / "README.md").read_text(), re.M))
    assert sorted(recorded) == sorted(p.name for p in folder.iterdir() if p.name != "README.md")
    for name, digest in recorded.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
