"""The SRCNN and FSRCNN authors' released weights (../shared/weights/authors): ``sr-zoo convert`` turns each
file into a zoo checkpoint that ``sr-zoo benchmark`` scores at every published cell (Set5 and Set14, x2/x3/x4);
the converted networks compute what the authors' test code computes (an independent port of SRCNN.m,
FSRCNN.m and deconv.m in a few lines of ``torch.nn.functional``); other variants (SRCNN 9-5-5) convert
without code changes; bad files are one line; the weights by name are fetched from a server on 127.0.0.1,
checked and converted; checkpoints from before the padding option keep their zero padding."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import zipfile
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import pytest
import scipy.io
import torch
import torch.nn.functional as F

import sr_zoo.models.authors as authors
from helpers.local_http import served  # noqa: F401 - fixture
from helpers.paths import SHARED, TESTS, shared_set
from sr_zoo.cli import main
from sr_zoo.errors import SRZooError
from sr_zoo.files.images import read_image
from sr_zoo.inference.published import AUTHORS_TABLE, published_for
from sr_zoo.models import create_model
from sr_zoo.models.blocks import centred_deconv_padding
from sr_zoo.models.convert import convert_mat
from sr_zoo.models.pretrained import manifest
from sr_zoo.ops import imresize, rgb_to_y

AUTHORS_DIR = SHARED / "weights" / "authors"
FILES = {("srcnn", s): f"srcnn/9-1-5_91_x{s}.mat" for s in (2, 3, 4)}
FILES.update({("fsrcnn", s): f"fsrcnn/FSRCNN_x{s}.mat" for s in (2, 3, 4)})


def _authors_file(model: str, scale: int) -> Path:
    path = AUTHORS_DIR / FILES[(model, scale)]
    if not path.is_file():
        pytest.skip(f"the authors' weights are not available: {path} is absent (it lives in the project's "
                    "shared/ folder)")
    return path


# ---------------------------------------------------------------- an independent port of the authors' code
def _filter(column: np.ndarray) -> np.ndarray:
    """MATLAB's ``reshape(column, k, k)``: column-major."""
    k = math.isqrt(column.size)
    return column.reshape(k, k, order="F")


def _imfilter(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``imfilter(x, w, 'same', 'replicate')`` summed over inputs: a correlation of the replicate-padded input."""
    r = weight.shape[-1] // 2
    return F.conv2d(F.pad(x, (r, r, r, r), mode="replicate"), weight)


def _srcnn_m(mat: dict, y_bicubic: torch.Tensor) -> torch.Tensor:
    """SRCNN.m on the bicubic-upscaled Y (1, 1, H, W), float64."""
    w1, w2, w3 = mat["weights_conv1"], mat["weights_conv2"], mat["weights_conv3"]
    w1 = np.stack([_filter(w1[:, i]) for i in range(w1.shape[1])])[:, None]
    w2 = np.stack([np.stack([_filter(w2[j, :, i]) for j in range(w2.shape[0])]) for i in range(w2.shape[2])])
    w3 = np.stack([_filter(w3[i, :]) for i in range(w3.shape[0])])[None]
    x = y_bicubic
    layers = ((w1, mat["biases_conv1"], True), (w2, mat["biases_conv2"], True), (w3, mat["biases_conv3"], False))
    for w, b, relu in layers:
        x = _imfilter(x, torch.from_numpy(w)) + torch.from_numpy(b.reshape(1, -1, 1, 1))
        x = torch.relu(x) if relu else x
    return x


def _fsrcnn_m(mat: dict, y: torch.Tensor, scale: int) -> torch.Tensor:
    """FSRCNN.m and deconv.m on the LR Y (1, 1, h, w), float64; at x3 shifted by one pixel as the authors'
    demo does (shave_x3.m), so that it lands on the HR grid."""
    weights, biases, prelu = (list(mat[k].ravel()) for k in ("weights_conv", "biases_conv", "prelu_conv"))
    x = y
    for w, b, a in zip(weights[:-1], biases[:-1], prelu):
        w = np.stack([np.stack([_filter(w[j, :, i]) for j in range(w.shape[0])]) for i in range(w.shape[2])])
        x = _imfilter(x, torch.from_numpy(w)) + torch.from_numpy(b.reshape(1, -1, 1, 1))
        x = torch.where(x > 0, x, float(a.reshape(())) * x)
    last = weights[-1]  # (1, k*k, channels)
    w = torch.from_numpy(np.stack([_filter(last[0, :, i]) for i in range(last.shape[2])])[:, None])
    k, (h, wd) = w.shape[-1], y.shape[-2:]
    # deconv.m: pad by one replicated pixel, add each pixel times the filter at stride s, crop from (k+1)/2 + s.
    full = F.conv_transpose2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), w, stride=scale)
    start = (k - 1) // 2 + scale - (1 if scale == 3 else 0)
    return full[..., start : start + h * scale, start : start + wd * scale] + float(biases[-1].reshape(()))


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], Path]:
    """``sr-zoo convert FILE``, once per file in this module."""
    folder = tmp_path_factory.mktemp("converted")

    def convert(path: Path) -> Path:
        out = folder / f"{path.stem}.ckpt"
        if not out.is_file():
            assert main(["convert", str(path), "-o", str(out)]) == 0
        return out

    return convert


@pytest.mark.parametrize("model,scale", sorted(FILES))
def test_the_converted_network_is_the_authors_forward_pass(model: str, scale: int, converted) -> None:
    path = _authors_file(model, scale)
    mat = scipy.io.loadmat(str(path))
    rgb = read_image(shared_set("Set5") / "butterfly.bmp")[None]  # (1, 3, 256, 256) in [0, 1]
    side = 256 // scale * scale  # cropped to a multiple of the scale, as the benchmarks do
    y = imresize(rgb_to_y(rgb[..., :side, :side]).double(), scale=1 / scale)
    net = create_model(model, scale, checkpoint=converted(path)).net.eval()
    with torch.no_grad():
        ours = net(y.float()).double()
        theirs = _srcnn_m(mat, imresize(y, scale=scale)) if model == "srcnn" else _fsrcnn_m(mat, y, scale)
    assert ours.shape == theirs.shape == (1, 1, side, side)
    assert float((ours - theirs).abs().max()) < 1e-5


# ---------------------------------------------------------------- the published tables, through the CLI
# x3 in the default run (about 20 s per file here); x2 and x4 with -m slow.
@pytest.mark.parametrize("model,scale", [pytest.param(m, s, marks=() if s == 3 else pytest.mark.slow)
                                         for m, s in sorted(FILES)])
def test_sr_zoo_benchmark_reproduces_every_published_cell(model: str, scale: int, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    path = _authors_file(model, scale)
    ckpt = tmp_path / "converted.ckpt"
    assert main(["convert", str(path), "-o", str(ckpt)]) == 0
    assert f"{model} " in capsys.readouterr().out
    sets = [str(shared_set("Set5")), str(shared_set("Set14"))]
    assert main(["benchmark", "--model", model, "--scale", str(scale), "--ckpt", str(ckpt), "--data", *sets,
                 "--json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert {r["dataset"] for r in results} == {"Set5", "Set14"}
    for row in results:  # at the tables' precision (2 and 4 decimals), as sr-zoo benchmark prints them
        (paper,) = [p for p in published_for(model, row["dataset"], scale) if p.table == AUTHORS_TABLE]
        assert abs(round(row["psnr"], 2) - paper.psnr) <= 0.03 + 1e-9, (row, paper)
        assert abs(round(row["ssim"], 4) - paper.ssim) <= 0.002 + 1e-9, (row, paper)


# ---------------------------------------------------------------- variants and bad files
def _random_srcnn_mat(path: Path, f1: int, f2: int, f3: int, n1: int = 8, n2: int = 4) -> dict:
    """A .mat in the layout of the authors' SRCNN files (weights_conv2 is (n1, f2*f2, n2)), random values."""
    rng = np.random.default_rng(0)
    arrays = {
        "weights_conv1": rng.normal(0, 0.05, (f1 * f1, n1)), "biases_conv1": rng.normal(0, 0.1, (n1, 1)),
        "weights_conv2": rng.normal(0, 0.1, (n1, f2 * f2, n2)), "biases_conv2": rng.normal(0, 0.1, (n2, 1)),
        "weights_conv3": rng.normal(0, 0.1, (n2, f3 * f3)), "biases_conv3": rng.normal(0, 0.1, (1, 1)),
    }
    scipy.io.savemat(str(path), arrays)
    return arrays


def test_an_srcnn_9_5_5_file_converts_without_code_changes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    mat = _random_srcnn_mat(tmp_path / "9-5-5(ImageNet)_x3.mat", 9, 5, 5)
    out = tmp_path / "srcnn955.ckpt"
    assert main(["convert", str(tmp_path / "9-5-5(ImageNet)_x3.mat"), "-o", str(out)]) == 0
    assert "srcnn 9-5-5 x3" in capsys.readouterr().out
    model = create_model("srcnn", 3, checkpoint=out).eval()
    assert (model.hparams["f1"], model.hparams["f2"], model.hparams["f3"]) == (9, 5, 5)
    torch.manual_seed(0)
    y = torch.rand(1, 1, 12, 10, dtype=torch.float64)
    with torch.no_grad():
        ours = model.net.double()(y)
    assert float((ours - _srcnn_m(mat, imresize(y, scale=3))).abs().max()) < 1e-6


def test_an_srcnn_variant_through_create_model_computes_the_authors_forward_pass() -> None:
    """9-3-5 built by ``create_model`` with weights in the authors' layout: SRCNN.m's output, not only its shapes."""
    model = create_model("srcnn", 2, f1=9, f2=3, f3=5, n1=8, n2=4).eval().double()
    assert model.net.mapping.weight.shape == (4, 8, 3, 3) and model.net.mapping.padding_mode == "replicate"
    net = model.net
    mat = {  # the authors' layout of the same weights: (f*f, n1), (n1, f*f, n2), (n2, f*f), column-major filters
        "weights_conv1": net.features.weight.detach()[:, 0].permute(0, 2, 1).reshape(8, 81).T.numpy(),
        "biases_conv1": net.features.bias.detach().numpy()[:, None],
        "weights_conv2": net.mapping.weight.detach().permute(1, 3, 2, 0).reshape(8, 9, 4).numpy(),
        "biases_conv2": net.mapping.bias.detach().numpy()[:, None],
        "weights_conv3": net.reconstruction.weight.detach()[0].permute(0, 2, 1).reshape(4, 25).numpy(),
        "biases_conv3": net.reconstruction.bias.detach().numpy()[:, None],
    }
    torch.manual_seed(0)
    y = torch.rand(1, 1, 11, 9, dtype=torch.float64)
    with torch.no_grad():
        assert float((net(y) - _srcnn_m(mat, imresize(y, scale=2))).abs().max()) < 1e-6


def _v73(path: Path) -> None:
    """The first bytes of a MATLAB v7.3 (HDF5) file, as scipy sees them."""
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 .".ljust(116) + bytes(8) + b"\x00\x02IM"
    path.write_bytes(header.ljust(512, b"\x00") + b"\x89HDF\r\n\x1a\n" + bytes(64))


@pytest.mark.parametrize("case,message", [
    ("another network", r"not an SRCNN or FSRCNN weight file .* \(it holds layer1; SRCNN's are biases_conv1"),
    ("a left-over array", r"array 'notes' is not part of SRCNN"),
    ("a bias of the wrong size", r"biases_conv2 has 3 values where the layer has 4 outputs"),
    ("a truncated file", r"not a readable MATLAB \.mat file"),
    ("a v7.3 file", r"a MATLAB v7\.3 \(HDF5\) file, which scipy cannot read"),
    ("no scale in the name", r"its name does not say the scale"),
    ("the output is the input", r"-o .*x2\.mat: would overwrite the input"),
])
def test_bad_files_are_one_line(case: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path, out = tmp_path / "x2.mat", tmp_path / "out.ckpt"
    if case == "another network":
        scipy.io.savemat(str(path), {"layer1": np.zeros((3, 3))})
    elif case in ("a left-over array", "a bias of the wrong size"):
        _random_srcnn_mat(path, 9, 1, 5)
        arrays = scipy.io.loadmat(str(path))
        arrays = {k: v for k, v in arrays.items() if not k.startswith("__")}
        if case == "a left-over array":
            arrays["notes"] = np.ones((1, 1))
        else:
            arrays["biases_conv2"] = np.zeros((3, 1))
        scipy.io.savemat(str(path), arrays)
    elif case == "a truncated file":
        _random_srcnn_mat(path, 9, 1, 5)
        path.write_bytes(path.read_bytes()[:300])
    elif case == "a v7.3 file":
        _v73(path)
    elif case == "no scale in the name":
        path = tmp_path / "weights.mat"
        _random_srcnn_mat(path, 9, 1, 5)
    else:
        _random_srcnn_mat(path, 9, 1, 5)
        out = path
    before = path.read_bytes()
    assert main(["convert", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sr-zoo: error: ")
    assert re.search(message, err[0]), err[0]
    assert path.read_bytes() == before  # the input is never written over
    assert case == "the output is the input" or not out.exists()


# ---------------------------------------------------------------- by name, from the authors' archives
def _archives(folder: Path) -> None:
    """``SRCNN_v1.zip`` and ``FSRCNN_test.zip`` as the authors publish them (a top folder, model/...), built
    from the shared files."""
    for name, top, model in (("SRCNN_v1.zip", "SRCNN", "srcnn"), ("FSRCNN_test.zip", "FSRCNN_test", "fsrcnn")):
        with zipfile.ZipFile(folder / name, "w") as zipped:
            for scale in (2, 3, 4):
                entry = authors.AUTHORS[(model, scale)]
                zipped.write(_authors_file(model, scale), f"{top}/{entry.member}")
            zipped.writestr(f"{top}/README.txt", "test code")


@pytest.fixture
def local_archives(served, monkeypatch: pytest.MonkeyPatch) -> Path:  # noqa: F811
    folder, base = served
    _archives(folder)
    moved = {key: dataclasses.replace(entry, archive=base + Path(entry.archive).name)
             for key, entry in authors.AUTHORS.items()}
    monkeypatch.setattr(authors, "AUTHORS", moved)
    return folder


def test_pretrained_authors_fetches_checks_and_converts(local_archives: Path, tmp_path: Path) -> None:
    model = create_model("fsrcnn", 3, pretrained="authors")
    expected = convert_mat(_authors_file("fsrcnn", 3))["state_dict"]
    assert all(torch.equal(v, expected[f"net.{k}"]) for k, v in model.net.state_dict().items())
    assert model.hparams["padding_mode"] == "replicate" and model.net.deconv.padding == (3, 3)
    (local_archives / "FSRCNN_test.zip").unlink()  # fetched once: later uses read the cache
    again = create_model("fsrcnn", 2, pretrained="authors")
    assert again.net.deconv.padding == (4, 4)


def test_a_changed_member_is_refused(local_archives: Path) -> None:
    with zipfile.ZipFile(local_archives / "SRCNN_v1.zip", "w") as zipped:
        zipped.writestr("SRCNN/model/9-1-5(91 images)/x3.mat", b"MATLAB 5.0 but not the released file")
    with pytest.raises(SRZooError, match=r"x3\.mat has sha256 .*, not the released file's ef05325a9622"):
        create_model("srcnn", 3, pretrained="authors")


def test_offline_the_missing_archive_is_one_line_saying_where_it_goes(local_archives: Path, monkeypatch) -> None:
    monkeypatch.setenv("SR_ZOO_OFFLINE", "1")
    with pytest.raises(SRZooError, match=r"hub/checkpoints/SRCNN_v1\.zip: the SRCNN authors' weights .* "
                                         r"forbids downloading; download http://127\.0\.0\.1:\d+/SRCNN_v1\.zip to"):
        create_model("srcnn", 3, pretrained="authors")
    with pytest.raises(SRZooError, match="no authors' weights for emtcm x3"):
        create_model("emtcm", 3, pretrained="authors")


def test_weights_authors_on_the_command_line(local_archives: Path, tmp_path: Path, converted, capsys) -> None:
    image = read_image(shared_set("Set5") / "baby.bmp")[:, :40, :36]
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), (image.permute(1, 2, 0).numpy()[:, :, ::-1] * 255).round().astype(np.uint8))
    assert main(["upscale", "--model", "srcnn", "--scale", "2", "--weights", "authors", str(src),
                 "-o", str(tmp_path / "named")]) == 0
    ckpt = converted(_authors_file("srcnn", 2))
    assert main(["upscale", "--model", "srcnn", "--scale", "2", "--ckpt", str(ckpt), str(src),
                 "-o", str(tmp_path / "file")]) == 0
    assert (tmp_path / "named" / "in.png").read_bytes() == (tmp_path / "file" / "in.png").read_bytes()
    capsys.readouterr()
    assert main(["upscale", "--model", "srcnn", "--scale", "2", "--weights", "authors", "--ckpt", str(ckpt),
                 str(src), "-o", str(tmp_path / "both")]) == 2
    assert "pass either --ckpt or --weights, not both" in capsys.readouterr().err


# ---------------------------------------------------------------- the padding checkpoints were trained with
OLD_CKPT = TESTS / "fixtures" / "old_layout" / "fsrcnn_x3_257273f.ckpt"


def _layout(model: torch.nn.Module) -> tuple[set[str], tuple[int, int], int]:
    modes = {m.padding_mode for m in model.net.modules() if isinstance(m, torch.nn.Conv2d)}
    return modes, model.net.deconv.padding, model.net.deconv.replicate_edge


def test_a_checkpoint_from_before_the_option_loads_zero_padded() -> None:
    assert _layout(create_model("fsrcnn", 3)) == ({"replicate"}, (3, 3), 1)  # today's default
    assert _layout(create_model("fsrcnn", 3, checkpoint=OLD_CKPT)) == ({"zeros"}, (4, 4), 0)


def test_resuming_a_checkpoint_from_before_the_option_keeps_its_padding() -> None:
    """What Lightning calls when ``fit --ckpt_path`` or ``load_from_checkpoint`` restores an old checkpoint
    into a model built with today's defaults."""
    model = create_model("fsrcnn", 3)
    saved = torch.load(OLD_CKPT, map_location="cpu", weights_only=True)
    model.on_load_checkpoint(saved)
    assert _layout(model) == ({"zeros"}, (4, 4), 0)
    assert (model.hparams["padding_mode"], model.hparams["deconv_padding"]) == ("zeros", 4)
    assert saved["hyper_parameters"]["padding_mode"] == "zeros"  # and the next checkpoint records it


@pytest.mark.parametrize("key", sorted(manifest()))
def test_the_shipped_weights_load_as_they_were_trained(key: str) -> None:
    """Each shipped file loads with the padding its manifest entry records (the zero-padded files from before
    the option included)."""
    name, scale = key.rsplit("_x", 1)
    recorded = manifest()[key]["hyper_parameters"]
    model = create_model(name, int(scale), pretrained=True)
    modes = {m.padding_mode for m in model.net.modules() if isinstance(m, torch.nn.Conv2d)}
    assert modes == {recorded["padding_mode"]} and model.hparams["padding_mode"] == recorded["padding_mode"]
    if name != "srcnn":
        padding = recorded["deconv_padding"]
        padding = centred_deconv_padding(9, int(scale)) if padding is None else padding
        assert model.net.deconv.padding == (padding, padding)
        assert model.net.deconv.replicate_edge == int(recorded["padding_mode"] == "replicate")


def test_a_hub_folder_from_before_the_option_loads_zero_padded(tmp_path: Path) -> None:
    from sr_zoo.models import from_pretrained, save_pretrained

    folder = save_pretrained(create_model("srcnn", 3, padding_mode="zeros"), tmp_path / "old")
    config = json.loads((folder / "config.json").read_text())
    del config["hparams"]["padding_mode"]  # as written before the option existed
    (folder / "config.json").write_text(json.dumps(config))
    assert from_pretrained(folder).net.features.padding_mode == "zeros"


def test_the_authors_weights_are_listed_with_their_published_set5_score(capsys: pytest.CaptureFixture) -> None:
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.split()[:5] == ["fsrcnn", "authors", "x3", "33.16", "/"] for line in lines)
    assert any(line.split()[:5] == ["srcnn", "authors", "x2", "36.34", "/"] for line in lines)
    assert any(line.split()[:3] == ["emtcm", "zoo", "x3"] for line in lines)


def test_compare_sets_the_authors_weights_beside_the_zoos(local_archives: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    image = shared_set("Set5") / "bird.bmp"
    out = tmp_path / "bird.png"
    assert main(["compare", str(image), "--scale", "3", "--models", "fsrcnn", "fsrcnn@authors", "-o",
                 str(out)]) == 0
    scores = json.loads(capsys.readouterr().out)["scores"]
    assert {"fsrcnn", "fsrcnn (authors)"} <= set(scores)
    assert scores["fsrcnn (authors)"]["psnr"] > scores["fsrcnn"]["psnr"]  # 33.2 vs 31.8 dB on Set5 x3
    assert main(["compare", str(image), "--scale", "3", "--models", "fsrcnn@mine", "-o", str(out)]) == 2
    assert "--models fsrcnn@mine: @ names weights (zoo, authors)" in capsys.readouterr().err


def test_an_srcnn_variant_from_the_command_line(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_:  # LightningCLI ends --print_config so
        main(["fit", "--model", "srcnn", "--scale", "3", "--model.init_args.f2", "5", "--print_config"])
    assert exit_.value.code == 0
    printed = capsys.readouterr().out
    assert re.search(r"\n\s+f2: 5\n", printed) and re.search(r"\n\s+padding_mode: replicate\n", printed)
