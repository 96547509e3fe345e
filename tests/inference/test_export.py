"""Export: every model's ONNX (ONNX Runtime) and TorchScript file against the eager model on real photos of
odd sizes, tiled as whole, and the ``sr-zoo export`` / ``sr-zoo upscale --onnx`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
import torch
from skimage import data as photos

from helpers.cli_runner import run_cli
from helpers.small_models import SMALL, small_model
from sr_zoo.cli import main
from sr_zoo.errors import SRZooError
from sr_zoo.files.images import write_image
from sr_zoo.inference.export import ExportedModel, export_model
from sr_zoo.inference.tiling import receptive_radius, upscale
from sr_zoo.models import inference_model, list_models

TOLERANCE = 1e-4  # on outputs in [0, 1] (tests' SMALL networks are random: see _tolerance)


def _photo_crops() -> list[torch.Tensor]:
    """Real photographs (scikit-image's, always installed) cut to odd sizes: RGB, grey, one below 8 px, a batch."""
    rgb = torch.from_numpy(photos.astronaut()[100:137, 180:225].copy()).permute(2, 0, 1).float() / 255
    grey = torch.from_numpy(photos.camera()[200:221, 250:269].copy()).float()[None] / 255
    coffee = torch.from_numpy(photos.coffee()[::8, ::8][:23, :31].copy()).permute(2, 0, 1).float() / 255
    return [rgb[None], grey[None], rgb[None, :, :5, :7], torch.stack([coffee[:, :20, :30], rgb[:, :20, :30]])]


def _tolerance(model: torch.nn.Module, lr: torch.Tensor) -> float:
    """1e-4, scaled by the network's raw output where an untrained network's is far beyond [0, 1]: float32
    rounding grows with it (a random CSRCNN reaches ~500, and its eager float32 result is itself ~1e-3 from
    float64), while a trained one's outputs, and so its error, stay within [0, 1]."""
    rgb = lr.expand(-1, 3, -1, -1)
    with torch.no_grad():
        raw = model.net(rgb[:, :1] if model.y_channel else rgb)
    return TOLERANCE * max(1.0, float(raw.abs().max()))


def test_every_registered_model_has_an_export_case() -> None:
    assert sorted(SMALL) == list_models()


@pytest.mark.parametrize("name", sorted(SMALL))
def test_exported_models_match_the_eager_model_on_photos_of_odd_sizes(name: str, tmp_path: Path) -> None:
    model = small_model(name)
    radius = receptive_radius(model, model.scale)  # measured once for both files (the tiling test checks it)
    for fmt, suffix in (("onnx", ".onnx"), ("torchscript", ".pt")):
        exported = ExportedModel(export_model(model, tmp_path / f"{name}{suffix}", fmt, radius=radius))
        assert (exported.model_name, exported.scale) == (name, model.scale)
        for lr in _photo_crops():
            with torch.no_grad():
                eager = model(lr)
            sr = exported(lr)
            assert sr.shape == eager.shape == (lr.shape[0], lr.shape[1], *(model.scale * n for n in lr.shape[-2:]))
            difference = float((sr - eager).abs().max())
            assert difference <= _tolerance(model, lr), (fmt, tuple(lr.shape), difference)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_an_exported_model_tiles_as_it_runs_whole(name: str, tmp_path: Path) -> None:
    model = small_model(name)
    exported = ExportedModel(export_model(model, tmp_path / f"{name}.onnx"))
    assert exported.receptive_radius == receptive_radius(model, model.scale)  # what tiling overlaps by
    assert exported.tile_align == getattr(model.net, "tile_align", 1)
    image = torch.from_numpy(photos.chelsea()[60:101, 90:143].copy()).permute(2, 0, 1).float() / 255
    whole, tiled = upscale(exported, image), upscale(exported, image, tile=16)
    assert tiled.shape == (3, 41 * model.scale, 53 * model.scale)
    assert float((tiled - whole).abs().max()) <= _tolerance(model, image[None])
    with torch.no_grad():  # and whole, it is the eager model's result
        assert float((whole - model(image[None])[0]).abs().max()) <= _tolerance(model, image[None])


def test_the_file_records_what_tiling_and_padding_need(tmp_path: Path) -> None:
    model = small_model("msfmgan")
    path = export_model(model, tmp_path / "msfm.onnx")
    graph = onnx.load(str(path))
    meta = json.loads({p.key: p.value for p in graph.metadata_props}["sr_zoo"])
    assert meta["model"] == "msfmgan" and meta["scale"] == 2
    assert meta["tile_align"] == 2  # two max-pools on the x2 upscaled input: LR tiles on multiples of 2
    assert (meta["min_input_side"], meta["small_input_pad"]) == (model.min_input_side, model.small_input_pad)
    assert graph.opset_import[0].version == 17
    dims = [d.dim_param for d in graph.graph.input[0].type.tensor_type.shape.dim]
    assert dims[0] and dims[2] and dims[3] and graph.graph.input[0].type.tensor_type.shape.dim[1].dim_value == 3


def test_a_file_sr_zoo_did_not_write_is_one_line(tmp_path: Path) -> None:
    plain = tmp_path / "plain.onnx"
    with pytest.warns(DeprecationWarning):  # torch's word on its TorchScript-based ONNX exporter
        torch.onnx.export(torch.nn.Conv2d(3, 3, 3), (torch.rand(1, 3, 8, 8),), str(plain), dynamo=False)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    broken_ts = tmp_path / "broken.pt"
    broken_ts.write_bytes(b"PK\x03\x04 not a zip")
    for path, words in ((plain, "no sr_zoo metadata"), (garbage, "not a readable ONNX model"),
                        (broken_ts, "not a readable TorchScript model"), (tmp_path / "absent.onnx", "no such")):
        with pytest.raises(SRZooError) as info:
            ExportedModel(path)
        assert str(info.value).startswith(str(path)) and words in str(info.value) and "\n" not in str(info.value)


@pytest.fixture()
def photo_file(tmp_path: Path) -> Path:
    path = tmp_path / "inputs" / "astronaut_crop.png"
    path.parent.mkdir()
    write_image(path, torch.from_numpy(photos.astronaut()[120:171, 200:247].copy()).permute(2, 0, 1) / 255)
    return path


def test_sr_zoo_export_checks_parity_and_upscale_runs_the_file(tmp_path: Path, photo_file: Path) -> None:
    onnx_file, eager_dir, onnx_dir = tmp_path / "fsrcnn_x3.onnx", tmp_path / "eager", tmp_path / "onnx"
    export, eager, tiled = run_cli([
        ["export", "--model", "fsrcnn", "--scale", "3", "-o", onnx_file, "--check", photo_file],
        ["upscale", "--model", "fsrcnn", "--scale", "3", photo_file, "-o", eager_dir],
        ["upscale", "--onnx", onnx_file, photo_file, "-o", onnx_dir, "--tile", "16"],
    ])
    assert export.returncode == 0, export
    assert f"--check {photo_file} (47x51): max |exported - eager| = " in export.stdout and "within" in export.stdout
    assert float(export.stdout.split("= ")[1].split(",")[0]) <= TOLERANCE
    assert eager.returncode == 0 and tiled.returncode == 0, tiled
    assert "with fsrcnn (fsrcnn_x3.onnx) (tiles of 16 px" in tiled.stdout

    from sr_zoo.files.images import read_image

    expected, got = read_image(eager_dir / photo_file.name), read_image(onnx_dir / photo_file.name)  # (C, H, W)
    assert got.shape == expected.shape == (3, 153, 141)
    # 8-bit rounding of outputs 1e-6 apart: a pixel at a .5 boundary may round either way
    assert float((got - expected).abs().max()) * 255 <= 1 + 1e-3
    # what was exported is the shipped weights, not an untrained network
    lr = read_image(photo_file)[None]
    with torch.no_grad():
        assert float((ExportedModel(onnx_file)(lr) - inference_model("fsrcnn", 3)(lr)).abs().max()) <= TOLERANCE


def test_export_command_errors_are_one_line(tmp_path: Path, photo_file: Path) -> None:
    onnx_file = tmp_path / "srcnn_x3.onnx"
    image = str(photo_file)
    cases = [
        (["export", "--model", "srcnn", "--scale", "3", "-o", onnx_file], None),
        (["export", "--model", "srcnn", "--scale", "5", "-o", "x.onnx"], "cannot do scale 5"),
        (["export", "--model", "csrcnn", "--scale", "2", "-o", "x.onnx"], "no pretrained weights for csrcnn x2"),
        (["export", "--model", "srcnn", "--scale", "3", "-o", "x.onnx", "--check", "nope.png"], "nope.png"),
        (["export", "--model", "srcnn", "--scale", "3", "-o", tmp_path], "is a folder"),
        (["upscale", "--onnx", onnx_file, "--model", "fsrcnn", image, "-o", "o"], "is srcnn x3"),
        (["upscale", "--onnx", onnx_file, "--scale", "2", image, "-o", "o"], "is srcnn x3"),
        (["upscale", "--onnx", onnx_file, "--ckpt", "a.ckpt", image, "-o", "o"], "--ckpt"),
        (["upscale", "--onnx", onnx_file, "--precision", "16", image, "-o", "o"], "--precision 16"),
        (["upscale", "--onnx", "absent.onnx", image, "-o", "o"],
         "absent.onnx: no such file (the exported model to run)"),
        (["upscale", "--onnx", str(tmp_path), image, "-o", "o"], "is a folder, not a file (the exported model"),
        (["upscale", image, "-o", "o"], "--model is required (or run an exported model with --onnx"),
    ]
    results = run_cli([argv for argv, _ in cases], cwd=tmp_path)
    assert results[0].returncode == 0, results[0]
    for (argv, words), result in zip(cases[1:], results[1:]):
        assert result.returncode == 2 and words in result.stderr and len(result.err_lines) == 1, result


def test_a_check_above_the_tolerance_exits_1(tmp_path: Path, photo_file: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture) -> None:
    import sr_zoo.inference.export as export
    from sr_zoo.cli import main

    monkeypatch.setattr(export, "parity", lambda *args: 0.25)  # an export that drifted: status 1, and said so
    argv = ["export", "--model", "srcnn", "--scale", "3", "-o", str(tmp_path / "s.onnx"), "--check", str(photo_file)]
    assert main(argv) == 1
    assert "= 2.50e-01, ABOVE the tolerance 0.0001" in capsys.readouterr().out


def test_export_never_writes_over_its_inputs(tmp_path: Path, photo_file: Path) -> None:
    """-o naming the --check image or the --ckpt itself (also through another path) is one line, and both
    files stay as they were."""
    ckpt = tmp_path / "in.ckpt"
    image = tmp_path / "face.png"
    image.write_bytes(photo_file.read_bytes())
    from sr_zoo.models import create_model
    from sr_zoo.training.checkpointing import atomic_torch_save

    model = create_model("srcnn", 3, n1=8, n2=4)
    atomic_torch_save({"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams),
                     "sr_zoo": {"model": "srcnn", "scale": 3}}, ckpt)
    before = {p: p.read_bytes() for p in (ckpt, image)}
    cases = [
        ["export", "--model", "srcnn", "--scale", "3", "-o", str(image), "--check", str(image)],
        ["export", "--model", "srcnn", "--scale", "3", "--ckpt", str(ckpt), "-o", str(ckpt), "--format",
         "torchscript"],
        ["export", "--model", "srcnn", "--scale", "3", "--ckpt", str(ckpt), "-o",
         str(tmp_path / "sub" / ".." / "in.ckpt")],
    ]
    (tmp_path / "sub").mkdir()
    for argv, result in zip(cases, run_cli(cases, cwd=tmp_path)):
        result.one_error_line("would overwrite the input")
    assert {p: p.read_bytes() for p in before} == before


def test_export_on_a_full_disk_is_one_line_and_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture) -> None:
    import errno
    import os

    real = Path.write_bytes

    def full(self: Path, data: bytes) -> int:
        real(self, data[:100])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_bytes", full)
    out = tmp_path / "m.onnx"
    assert main(["export", "--model", "srcnn", "--scale", "3", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"sr-zoo: error: {out}: not written (No space left on device); an earlier file of that name "
                   "is unchanged"]
    assert list(tmp_path.iterdir()) == []
