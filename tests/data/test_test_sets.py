"""Test sets by name, fetched on first use from a server on 127.0.0.1 that serves each source's own archive
layout (real Set5/Set14 from ../shared/data where present, stand-ins otherwise)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import tarfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from helpers.archives import make_tar, make_zip
from helpers.paths import SHARED_DATA
from helpers.published import published_bicubic
from sr_zoo.cli import main
from sr_zoo.data import SRDataModule
from sr_zoo.data import download as dl
from sr_zoo.data.sources import resolve_benchmark
from sr_zoo.errors import DatasetError


def _texture(h: int, w: int, seed: int, gray: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), 1.5)
    return np.repeat(image[:, :, :1], 3, axis=2) if gray else image


def _encode(image: np.ndarray, ext: str = ".png") -> bytes:
    ok, data = cv2.imencode(ext, image)
    assert ok
    return data.tobytes()


def _real_or_standin(name: str, stems: list[str]) -> dict[str, bytes]:
    """``{stem: PNG bytes}`` of a real set from ../shared/data, or stand-ins of the same names."""
    folder = SHARED_DATA / name
    if folder.is_dir():
        return {p.stem: _encode(cv2.imread(str(p), cv2.IMREAD_UNCHANGED)) for p in sorted(folder.iterdir())
                if p.suffix.lower() in (".bmp", ".png")}
    return {stem: _encode(_texture(80, 72, i, gray=stem == "bridge")) for i, stem in enumerate(stems)}


def _serve(monkeypatch: pytest.MonkeyPatch, www: Path, base: str, dataset: str, filename: str, data: bytes,
           md5: bool = True) -> None:
    """Serve ``data`` as the archive of ``dataset``: the registry entry points at 127.0.0.1 with its checksum."""
    (www / filename).write_bytes(data)
    remote = dl.RemoteFile(base + filename, None, filename, md5=hashlib.md5(data).hexdigest() if md5 else None)
    monkeypatch.setitem(dl.DATASETS, dataset, dataclasses.replace(dl.DATASETS[dataset], files=(remote,)))


def _edsr_benchmark() -> bytes:
    """EDSR's benchmark.tar layout: benchmark/<Set>/HR/*.png beside LR_bicubic/X<s>/ (which are dropped);
    Set14's bridge stored as three equal channels, as some copies have it."""
    members = {}
    set5 = _real_or_standin("Set5", ["baby", "bird", "butterfly", "head", "woman"])
    set14 = _real_or_standin("Set14", ["baboon", "bridge", "comic"])
    bridge = cv2.imdecode(np.frombuffer(set14["bridge"], np.uint8), cv2.IMREAD_UNCHANGED)
    set14["bridge"] = _encode(np.repeat(bridge[:, :, None], 3, axis=2) if bridge.ndim == 2 else bridge)
    sets = {"Set5": set5, "Set14": set14,
            "B100": {s: _encode(_texture(64, 96, i)) for i, s in enumerate(["3096", "8023", "12084"])},
            "Urban100": {f"img{i:03d}": _encode(_texture(96, 64, 10 + i)) for i in (1, 2)}}
    for folder, images in sets.items():
        for stem, data in images.items():
            members[f"benchmark/{folder}/HR/{stem}.png"] = data
            members[f"benchmark/{folder}/LR_bicubic/X2/{stem}x2.png"] = _encode(_texture(8, 8, 0))
    return make_tar(members)


def test_benchmark_by_name_fetches_verifies_and_matches_the_published_bicubic_table(
        served: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    www, base = served
    _serve(monkeypatch, www, base, "sr-benchmark", "benchmark.tar", _edsr_benchmark())
    monkeypatch.setenv("SR_ZOO_DATA", str(tmp_path / "data"))
    argv = ["benchmark", "--model", "bicubic", "--scale", "2", "3", "4", "8", "--data", "set5", "set14", "b100",
            "urban100", "--json"]
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)["results"]
    assert {(r["dataset"], r["images"]) for r in rows} >= {("BSD100", 3), ("Urban100", 2)}
    installed = tmp_path / "data" / "sr-benchmark"
    assert (installed / dl.MARKER).is_file() and not (tmp_path / "data" / ".downloads" / "benchmark.tar").exists()
    assert sorted(p.name for p in installed.iterdir()) == [dl.MARKER, "bsd100", "set14", "set5", "urban100"]
    assert not any("x2" in p.name for p in installed.rglob("*.png"))  # HR only: LR is always made by imresize
    assert cv2.imread(str(installed / "set14" / "bridge.png"), cv2.IMREAD_UNCHANGED).ndim == 2  # one channel again
    (www / "benchmark.tar").unlink()  # a second use needs no server
    monkeypatch.setenv("SR_ZOO_OFFLINE", "1")
    assert main(argv) == 0 and json.loads(capsys.readouterr().out)["results"] == rows
    if not (SHARED_DATA / "Set5").is_dir():
        pytest.skip(f"real Set5/Set14 not available ({SHARED_DATA}); stand-ins scored, published table not compared")
    expected = published_bicubic()
    for row in (r for r in rows if r["dataset"] in ("Set5", "Set14")):
        psnr, ssim = expected[(row["dataset"], row["scale"])]
        assert row["images"] == {"Set5": 5, "Set14": 14}[row["dataset"]]
        assert abs(row["psnr"] - psnr) <= 0.03 and abs(row["ssim"] - ssim) <= 0.003, row


@pytest.mark.parametrize("damage", ["corrupt", "truncated"])
def test_a_damaged_archive_is_one_line_and_leaves_no_dataset(damage: str, served: tuple[Path, str], tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    www, base = served
    data = _edsr_benchmark()
    _serve(monkeypatch, www, base, "sr-benchmark", "benchmark.tar", data)
    if damage == "corrupt":
        (www / "benchmark.tar").write_bytes(data[:1000] + b"x" + data[1001:])
        expected = "md5 mismatch"
    else:  # the server sends fewer bytes than the archive has
        spec = dl.DATASETS["sr-benchmark"]
        remote = dataclasses.replace(spec.files[0], size=len(data) + 10)
        monkeypatch.setitem(dl.DATASETS, "sr-benchmark", dataclasses.replace(spec, files=(remote,)))
        expected = f"the server sends {len(data)} bytes but benchmark.tar should have {len(data) + 10}"
    root = tmp_path / "data"
    with pytest.raises(DatasetError) as error:
        resolve_benchmark("set5", root)
    assert expected in str(error.value) and "\n" not in str(error.value)
    assert sorted(p.name for p in root.iterdir()) == [".downloads"]
    assert sorted(p.name for p in (root / ".downloads").iterdir()) == ["sr-benchmark.lock"]


def test_div2k_val_bsd200_and_t91_are_flattened_from_their_archives(served: tuple[Path, str], tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    www, base = served
    root = tmp_path / "data"
    _serve(monkeypatch, www, base, "div2k-val", "DIV2K_valid_HR.zip",
           make_zip({f"DIV2K_valid_HR/{n}.png": _encode(_texture(40, 48, int(n))) for n in ("0801", "0850", "0900")}))
    assert sorted(p.name for p in resolve_benchmark("div2k-val", root).iterdir()) == ["0801.png", "0850.png",
                                                                                        "0900.png"]
    bsds = {f"BSR/BSDS500/data/images/{split}/{n}.jpg": _encode(_texture(48, 72, i), ".jpg")
            for i, (split, n) in enumerate([("test", "100007"), ("test", "100039"), ("train", "2092"),
                                            ("val", "3096")])}
    bsds["BSR/BSDS500/data/images/test/Thumbs.db"] = b"\x00" * 10
    bsds["BSR/BSDS500/data/groundTruth/test/100007.mat"] = b"mat"
    _serve(monkeypatch, www, base, "bsds500", "BSR_bsds500.tgz", make_tar(bsds, "w:gz"), md5=False)  # none published
    assert sorted(p.name for p in resolve_benchmark("bsd200", root).iterdir()) == ["100007.jpg", "100039.jpg"]
    _serve(monkeypatch, www, base, "t91-download", "SRCNN_train.zip",
           make_zip({f"Train/{n}.bmp": _encode(_texture(64, 72, i), ".bmp") for i, n in enumerate(["t1", "tt27"])}))
    dm = SRDataModule(train=["t91"], val=["div2k-val"], scale=2, root=str(root), num_workers=0)
    dm.prepare_data()
    dm.setup("fit")
    assert sorted(r.hr.name for r in dm.train_set.records) == ["t1.bmp", "tt27.bmp"]
    assert dm.val_names == ["DIV2K-val"]


def test_sets_that_cannot_be_fetched_say_where_to_get_them(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"^test set 'manga109': not found under .*; Manga109 may not be "
                                           r"redistributed .*manga109.org.*; put its HR images \(PNG\) in .*Manga109$"):
        resolve_benchmark("manga109", tmp_path)
    with pytest.raises(DatasetError, match=r"^test set 'set5': .*SR_ZOO_OFFLINE is set"):
        resolve_benchmark("set5", tmp_path)  # the test session is offline
    assert not (tmp_path / "sr-benchmark").exists()


def test_the_archive_unpacked_by_hand_is_found_as_it_is(tmp_path: Path) -> None:
    """What the one-line error tells an offline user to do: unpack benchmark.tar in the data root."""
    with tarfile.open(fileobj=io.BytesIO(_edsr_benchmark())) as archive:
        archive.extractall(tmp_path, filter="data")
    assert resolve_benchmark("set5", tmp_path) == tmp_path / "benchmark" / "Set5" / "HR"
    assert resolve_benchmark("b100", tmp_path) == tmp_path / "benchmark" / "B100" / "HR"
    with pytest.raises(DatasetError, match=r"\(download https://cv.snu.ac.kr/research/EDSR/benchmark.tar and "
                                           r"unpack it in .*empty\)$"):
        resolve_benchmark("set5", tmp_path / "empty")
