"""Weights in the Hugging Face Hub's format: save_pretrained/from_pretrained reproduce every model exactly,
the shipped weights convert and load back identical, Hub repository ids download from a stand-in Hub on
127.0.0.1 (and from its cache offline), and every bad folder is one line naming its file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import sr_zoo
from helpers.hub_http import hub_stand_in, publish
from helpers.paths import load_benchmark
from helpers.small_models import SMALL, small_model
from sr_zoo.errors import SRZooError
from sr_zoo.models import create_model, list_models
from sr_zoo.models.hub import CONFIG_FILE, FORMAT, WEIGHTS_FILE, from_pretrained, save_pretrained, shipped_to_hub
from sr_zoo.models.pretrained import available_pretrained, manifest


def _upscale(model: torch.nn.Module) -> torch.Tensor:
    lr = torch.rand(1, 3, 13, 11, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        return model(lr)


def _one_line(call, *args) -> str:  # noqa: ANN001
    with pytest.raises(SRZooError) as info:
        call(*args)
    message = str(info.value)
    assert "\n" not in message and message, message
    return message


def test_every_registered_model_has_a_round_trip_case() -> None:
    assert sorted(SMALL) == list_models()


@pytest.mark.parametrize("name", sorted(SMALL))
def test_save_then_load_reproduces_the_model_exactly(name: str, tmp_path: Path) -> None:
    model = small_model(name, seed=0)
    expected = _upscale(model)
    save_pretrained(model, tmp_path / "saved")
    torch.manual_seed(1234)  # the rebuilt model's own random init differs: only the file can make it equal
    loaded = from_pretrained(tmp_path / "saved")
    assert type(loaded) is type(model) and loaded.scale == model.scale and not loaded.training
    assert torch.equal(_upscale(loaded), expected)
    saved, reloaded = model.net.state_dict(), loaded.net.state_dict()
    assert saved.keys() == reloaded.keys()
    assert all(torch.equal(saved[k], reloaded[k]) and saved[k].dtype == reloaded[k].dtype for k in saved)
    if saved:  # the check has teeth: a fresh model of the same hyper-parameters upscales differently
        assert not torch.equal(_upscale(small_model(name, seed=1234)), expected)
    else:
        assert name == "bicubic"


def test_config_json_and_the_weights_file_hold_what_rebuilds_the_network(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create_model("fsrcnn", 3, d=12, s=6, m=2, lr=0.5)
    model.hparams["_class_path"] = "sr_zoo.models.FSRCNN"  # as LightningCLI leaves in a checkpoint
    model.hparams["init_from"] = "runs/old/last.ckpt"
    model.hparams["finetune"] = "deconv"
    folder = save_pretrained(model, tmp_path / "out", metadata={"note": "a test"})
    config = json.loads((folder / CONFIG_FILE).read_text())
    assert config == {"format": FORMAT, "library": "sr_zoo", "sr_zoo_version": sr_zoo.__version__,
                      "model": "fsrcnn", "scale": 3, "metadata": {"note": "a test"},
                      "hparams": {"d": 12, "s": 6, "m": 2, "padding_mode": "replicate", "deconv_padding": None,
                                  "lr": 0.5, "deconv_lr": 1e-4, "sample_images": 1}}
    with safe_open(folder / WEIGHTS_FILE, framework="pt") as weights:  # read independently of from_pretrained
        assert weights.metadata() == {"format": "pt"}
        assert sorted(weights.keys()) == sorted(model.net.state_dict())
        assert all(torch.equal(weights.get_tensor(k), v) for k, v in model.net.state_dict().items())
    assert sorted(p.name for p in folder.iterdir()) == [CONFIG_FILE, WEIGHTS_FILE]  # no temporary files left


def test_saving_into_a_folder_keeps_its_other_files_and_replaces_ours(tmp_path: Path) -> None:
    folder = tmp_path / "clone"
    (folder / ".git").mkdir(parents=True)
    (folder / "README.md").write_text("my card")
    save_pretrained(small_model("srcnn", seed=0), folder)
    second = small_model("srcnn", seed=1)
    save_pretrained(second, folder)
    assert (folder / "README.md").read_text() == "my card" and (folder / ".git").is_dir()
    assert torch.equal(_upscale(from_pretrained(folder)), _upscale(second))


def test_overrides_replace_training_hyper_parameters_but_not_the_scale(tmp_path: Path) -> None:
    model = small_model("srcnn")
    folder = save_pretrained(model, tmp_path / "m")
    loaded = from_pretrained(folder, lr=0.25)
    assert loaded.hparams.lr == 0.25 and loaded.hparams.n1 == 16
    assert torch.equal(_upscale(loaded), _upscale(model))
    message = _one_line(lambda: from_pretrained(folder, scale=2))
    assert message == f"{folder / CONFIG_FILE}: these weights are for x3; the scale cannot be overridden"


def test_save_refuses_what_it_cannot_write_faithfully(tmp_path: Path) -> None:
    message = _one_line(save_pretrained, torch.nn.Conv2d(1, 1, 3), tmp_path / "a")
    assert "a Conv2d is not a zoo model" in message
    csrcnn = create_model("csrcnn", 4, blocks_per_level=[1, 1])
    csrcnn.set_curriculum(1, 1.0)  # part-way through the curriculum: forward upscales by 2
    assert "csrcnn upscales by x2 now, not its x4" in _one_line(save_pretrained, csrcnn, tmp_path / "b")
    fsrcnn = create_model("fsrcnn", 2)
    fsrcnn.hparams["d"] = object()
    assert "hyper-parameter 'd' of fsrcnn is a object" in _one_line(save_pretrained, fsrcnn, tmp_path / "c")
    assert not (tmp_path / "c" / CONFIG_FILE).exists()


# ------------------------------------------------------------------------------------------ shipped
@pytest.mark.parametrize("key", available_pretrained())
def test_shipped_weights_convert_and_load_back_identical(key: str, tmp_path: Path) -> None:
    name, scale = key.rsplit("_x", 1)
    folder = shipped_to_hub(key, tmp_path, owner="someone")
    assert folder == tmp_path / key
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", CONFIG_FILE, WEIGHTS_FILE]
    shipped = create_model(name, int(scale), pretrained=True).eval()
    loaded = from_pretrained(folder)
    assert shipped.net.state_dict().keys() == loaded.net.state_dict().keys()
    assert all(torch.equal(v, loaded.net.state_dict()[k]) for k, v in shipped.net.state_dict().items())
    assert torch.equal(_upscale(loaded), _upscale(shipped))
    entry = manifest()[key]
    metadata = json.loads((folder / CONFIG_FILE).read_text())["metadata"]
    assert metadata["scores"] == entry["scores"] and metadata["command"] == entry["command"]
    assert metadata["machine"] == entry["machine"] and metadata["converted_from"]["sha256"] == entry["sha256"]
    card = (folder / "README.md").read_text()
    set5 = entry["scores"]["Set5"]
    assert f"| Set5 | {set5['psnr']:.2f} | {set5['ssim']:.4f} |" in card
    assert entry["command"] in card and f'from_pretrained("someone/{key}")' in card and "library_name: sr-zoo" in card


def test_the_conversion_script_writes_the_folders_it_reports(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    script = load_benchmark("convert_to_hub")
    script.main([str(tmp_path / "hub"), "srcnn_x3", "fsrcnn_x2"])
    out = capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "hub").iterdir()) == ["fsrcnn_x2", "srcnn_x3"]
    assert out.count("| yes |") == 2
    assert "no shipped weights 'srcnn_x5'" in _one_line(shipped_to_hub, "srcnn_x5", tmp_path)


# ------------------------------------------------------------------------------------------ the Hub
@pytest.fixture
def hub_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """(stand-in folder, request log): HF_ENDPOINT on a stand-in Hub, an empty Hugging Face cache, online."""
    huggingface_hub = pytest.importorskip("huggingface_hub")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    for var in ("SR_ZOO_OFFLINE", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    folder = tmp_path / "www"
    folder.mkdir()
    with hub_stand_in(folder) as (endpoint, log):
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        yield folder, log


def test_a_hub_repository_id_downloads_its_two_files_and_revisions(hub_env, tmp_path: Path) -> None:  # noqa: ANN001
    www, log = hub_env
    main, tagged = small_model("fsrcnn", seed=0), small_model("fsrcnn", seed=1)
    publish(www, "someone/fsrcnn_x2", save_pretrained(main, tmp_path / "main"))
    publish(www, "someone/fsrcnn_x2", save_pretrained(tagged, tmp_path / "v1"), revision="v1")
    loaded = from_pretrained("someone/fsrcnn_x2")
    assert not loaded.training and torch.equal(_upscale(loaded), _upscale(main))
    assert [r for r in log if r.startswith("GET")] == ["GET /someone/fsrcnn_x2/resolve/main/config.json",
                                                      "GET /someone/fsrcnn_x2/resolve/main/model.safetensors"]
    assert torch.equal(_upscale(from_pretrained("someone/fsrcnn_x2@v1")), _upscale(tagged))
    assert not torch.equal(_upscale(tagged), _upscale(main))


def test_offline_a_hub_repository_loads_from_the_cache_or_is_one_line(hub_env, tmp_path: Path,  # noqa: ANN001
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    www, log = hub_env
    model = small_model("srcnn")
    publish(www, "someone/srcnn_x3", save_pretrained(model, tmp_path / "m"))
    publish(www, "someone/other", tmp_path / "m")
    from_pretrained("someone/srcnn_x3")  # online once: now in the cache
    requests = len(log)
    monkeypatch.setenv("SR_ZOO_OFFLINE", "1")
    assert torch.equal(_upscale(from_pretrained("someone/srcnn_x3")), _upscale(model))
    message = _one_line(from_pretrained, "someone/other")
    assert message == ("someone/other: config.json is not in the Hugging Face cache and SR_ZOO_OFFLINE=1 forbids "
                       "downloading; fetch it once online, or pass a local folder")
    assert len(log) == requests  # offline: not one request


def test_what_the_hub_does_not_have_is_one_line(hub_env, tmp_path: Path) -> None:  # noqa: ANN001
    www, _ = hub_env
    folder = save_pretrained(small_model("srcnn"), tmp_path / "m")
    (folder / WEIGHTS_FILE).unlink()
    publish(www, "someone/half", folder)
    assert _one_line(from_pretrained, "someone/missing").startswith(
        "someone/missing: no such repository on the Hugging Face Hub")
    assert _one_line(from_pretrained, "someone/half@v7") == "someone/half@v7: the repository has no revision 'v7'"
    message = _one_line(from_pretrained, "someone/half")
    assert message.startswith("someone/half: the repository has no model.safetensors")


def test_without_huggingface_hub_a_repository_id_is_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # `import huggingface_hub` now fails
    message = _one_line(from_pretrained, "someone/srcnn_x3")
    assert message.startswith("someone/srcnn_x3: no such folder")
    assert message.endswith('needs huggingface_hub: pip install "sr-zoo[hub]"')


# ------------------------------------------------------------------------------------------ bad folders
def _break(folder: Path, what: str) -> Path:
    """Damage a saved fsrcnn (d=12) folder one way; returns the file that the error must name."""
    config, weights = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    data = json.loads(config.read_text())
    if what == "no config":
        config.unlink()
        return config
    if what == "no weights":
        weights.unlink()
        return weights
    if what == "bad json":
        config.write_text(config.read_text()[:-10])
        return config
    if what == "unknown model":
        data["model"] = "nosuchnet"
    elif what == "bad scale":
        data["scale"] = 5
    elif what == "newer format":
        data["format"] = FORMAT + 1
    elif what == "unknown hparam":
        data["hparams"]["bogus"] = 1
    elif what == "not an object":
        data = [data]
    elif what == "wrong shape":
        data["hparams"]["d"] = 16
        config.write_text(json.dumps(data))
        return weights
    elif what in ("missing key", "nan", "not safetensors"):
        state = dict(small_model("fsrcnn").net.state_dict())
        if what == "missing key":
            state.pop(sorted(state)[0])
        elif what == "nan":  # two NaNs and an infinity in one tensor
            state["body.0.0.weight"].view(-1)[:3] = torch.tensor([float("nan"), float("inf"), float("nan")])
        save_file(state, weights)
        if what == "not safetensors":
            weights.write_bytes(b"not a safetensors file at all")
        return weights
    config.write_text(json.dumps(data))
    return config


BAD = {
    "no config": "config.json: not found; a folder written by save_pretrained holds",
    "no weights": "model.safetensors: not found; a folder written by save_pretrained holds",
    "bad json": "config.json: not valid JSON (",
    "unknown model": "config.json: unknown model 'nosuchnet'; available: bicubic, csrcnn",
    "bad scale": "config.json: model 'fsrcnn' cannot do scale 5",
    "newer format": f"config.json: written in format {FORMAT + 1} by a newer sr_zoo",
    "unknown hparam": "config.json: its hyper-parameters do not fit fsrcnn (",
    "not an object": "config.json: not an sr_zoo config (a JSON list, not an object)",
    "wrong shape": "model.safetensors: weights do not fit fsrcnn x2 (size mismatch for ",
    "missing key": "model.safetensors: weights do not fit fsrcnn x2 (Missing key(s) in state_dict: ",
    "nan": "model.safetensors: 3 of {total} weights are NaN or infinite (diverged or damaged weights)",
    "not safetensors": "model.safetensors: not a readable safetensors file (",
}


@pytest.mark.parametrize("what", sorted(BAD))
def test_a_bad_folder_is_one_line_naming_its_file(what: str, tmp_path: Path) -> None:
    folder = save_pretrained(small_model("fsrcnn"), tmp_path / "m")
    culprit = _break(folder, what)
    message = _one_line(from_pretrained, folder)
    assert message.startswith(str(culprit) + ":"), message
    total = sum(p.numel() for p in small_model("fsrcnn").net.parameters())
    assert message.startswith(str(folder) + "/" + BAD[what].format(total=total)), message


def test_a_path_that_is_neither_folder_nor_repository_id_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file.safetensors").write_bytes(b"")
    assert _one_line(from_pretrained, tmp_path / "file.safetensors").startswith(
        f"{tmp_path / 'file.safetensors'}: not a folder; pass the folder itself")
    assert _one_line(from_pretrained, str(tmp_path / "no" / "such")) == (
        f"{tmp_path / 'no' / 'such'}: no such folder, and not a Hugging Face Hub repository id "
        "(owner/name or owner/name@revision)")
