"""Dataset downloads against a local HTTP server on 127.0.0.1: verification, atomic install, offline.

Nothing here touches a non-loopback address: every spec is built by the test and points at a
``http.server`` running in a thread for the duration of one test.
"""

from __future__ import annotations

import hashlib
import io
import re
import socket
import tarfile
import threading
import zipfile
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from helpers.archives import make_tgz, make_zip
from sr_zoo.data import download as dl
from sr_zoo.data.download import DATASETS, MARKER, DatasetSpec, RemoteFile, ensure_dataset, is_complete
from sr_zoo.errors import DatasetError
from sr_zoo.files import download as files_download

# --------------------------------------------------------------------------------------------------
# A tiny file server
# --------------------------------------------------------------------------------------------------


class FileServer:
    """Serves registered byte strings on 127.0.0.1 and counts the requests per path.

    Modes: ``ok`` (normal, with Content-Length), ``truncate`` (announces the full length, sends
    half and closes), ``no-length`` (no Content-Length, body then close), ``short-no-length``
    (no Content-Length, half the body then close).
    """

    def __init__(self) -> None:
        self.routes: dict[str, tuple[bytes, str]] = {}
        self.requests: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                server.requests[self.path] += 1
                if self.path not in server.routes:
                    self.send_error(404, "Not Found")
                    return
                body, mode = server.routes[self.path]
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                if mode in ("ok", "truncate"):
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body if mode in ("ok", "no-length") else body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:  # keep test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def add(self, filename: str, body: bytes, mode: str = "ok", sha256: str | None = "auto", **kw) -> RemoteFile:
        """Serve ``body`` as ``/<filename>`` and return a RemoteFile for it (real sha256 by default)."""
        self.routes[f"/{filename}"] = (body, mode)
        digest = hashlib.sha256(body).hexdigest() if sha256 == "auto" else sha256
        return RemoteFile(self.base + filename, digest, filename, **kw)

    def count(self, filename: str) -> int:
        return self.requests[f"/{filename}"]

    def total(self) -> int:
        return sum(self.requests.values())

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[FileServer]:
    srv = FileServer()
    try:
        yield srv
    finally:
        srv.close()


@pytest.fixture(autouse=True)
def _isolated_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxies (127.0.0.1 must be reached directly), not offline, and short timeouts."""
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.delenv(dl.OFFLINE_ENV, raising=False)
    monkeypatch.setattr(files_download, "TIMEOUT_S", 5.0)


# --------------------------------------------------------------------------------------------------
# Archives in the real DIV2K layout
# --------------------------------------------------------------------------------------------------


def png(seed: int) -> bytes:
    img = np.random.default_rng(seed).integers(0, 256, size=(6, 5, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


TRAIN = {"DIV2K_train_HR/0001.png": png(1), "DIV2K_train_HR/0002.png": png(2)}
VALID = {"DIV2K_valid_HR/0801.png": png(3)}
LAYOUT = ("DIV2K_train_HR/0001.png", "DIV2K_train_HR/0002.png", "DIV2K_valid_HR/0801.png")


def div2k_like(server: FileServer, name: str = "tiny-div2k", train_mode: str = "ok", **train_kw) -> DatasetSpec:
    """A two-archive spec (a zip and a tar.gz) in the DIV2K layout, served by ``server``."""
    train = server.add("DIV2K_train_HR.zip", make_zip(TRAIN), train_mode, **train_kw)
    valid = server.add("DIV2K_valid_HR.tar.gz", make_tgz(VALID))
    return DatasetSpec(name, (train, valid), LAYOUT, "DIV2K_train_HR/0001.png ... and DIV2K_valid_HR/0801.png ...")


def assert_nothing_complete(root: Path, spec: DatasetSpec) -> None:
    """No folder that reads as complete, no temporary folders, no .part files."""
    assert not is_complete(spec, root / spec.name)
    assert not (root / spec.name / MARKER).exists()
    assert list(root.glob(f".{spec.name}.*")) == []
    assert list((root / ".downloads").glob("*.part")) == [] if (root / ".downloads").exists() else True


# --------------------------------------------------------------------------------------------------
# Good downloads
# --------------------------------------------------------------------------------------------------


def test_download_extracts_layout_and_marks_complete(server: FileServer, tmp_path: Path) -> None:
    spec = div2k_like(server)
    folder = ensure_dataset(spec, tmp_path, progress=False)

    assert folder == tmp_path / spec.name
    assert (folder / MARKER).is_file()
    assert is_complete(spec, folder)
    for rel, data in {**TRAIN, **VALID}.items():
        assert (folder / rel).read_bytes() == data
    # Archives are removed after a successful install; nothing temporary is left behind.
    assert sorted(p.name for p in (tmp_path / ".downloads").iterdir()) == [f"{spec.name}.lock"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".downloads", spec.name]
    assert server.count("DIV2K_train_HR.zip") == 1 and server.count("DIV2K_valid_HR.tar.gz") == 1


def test_keep_archives_keeps_the_verified_archive(server: FileServer, tmp_path: Path) -> None:
    spec = div2k_like(server)
    ensure_dataset(spec, tmp_path, progress=False, keep_archives=True)
    for remote in spec.files:
        archive = tmp_path / ".downloads" / remote.filename
        assert hashlib.sha256(archive.read_bytes()).hexdigest() == remote.sha256


def test_second_call_does_not_download_again(server: FileServer, tmp_path: Path, monkeypatch) -> None:
    spec = div2k_like(server)
    first = ensure_dataset(spec, tmp_path, progress=False)
    requests = server.total()
    assert requests == 2

    assert ensure_dataset(spec, tmp_path, progress=False) == first
    monkeypatch.setenv(dl.OFFLINE_ENV, "1")  # a complete dataset needs no network at all
    assert ensure_dataset(spec, tmp_path, download=False, progress=False) == first
    assert server.total() == requests


def test_size_only_file_downloads_with_a_warning(server: FileServer, tmp_path: Path, capsys) -> None:
    body = make_zip(TRAIN)
    train = server.add("train.zip", body, sha256=None, size=len(body))
    spec = DatasetSpec("unverified", (train,), ("DIV2K_train_HR/0001.png",), "DIV2K_train_HR/0001.png ...")
    folder = ensure_dataset(spec, tmp_path, progress=False)
    assert is_complete(spec, folder)
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if "could not be verified" in line]
    assert len(warnings) == 1 and "train.zip" in warnings[0]


# --------------------------------------------------------------------------------------------------
# Corrupt and truncated downloads
# --------------------------------------------------------------------------------------------------


def test_wrong_checksum_is_rejected_and_cleaned_up(server: FileServer, tmp_path: Path) -> None:
    wrong = "0" * 64
    spec = div2k_like(server, sha256=wrong)
    actual = hashlib.sha256(make_zip(TRAIN)).hexdigest()

    with pytest.raises(DatasetError) as info:
        ensure_dataset(spec, tmp_path, progress=False)
    msg = str(info.value)
    assert spec.files[0].url in msg and wrong in msg and actual in msg and "sha256" in msg
    assert "\n" not in msg
    assert_nothing_complete(tmp_path, spec)
    assert not (tmp_path / spec.name).exists()
    assert not (tmp_path / ".downloads" / "DIV2K_train_HR.zip").exists()
    assert not (tmp_path / ".downloads" / "DIV2K_train_HR.zip.part").exists()


@pytest.mark.parametrize(
    ("mode", "size"),
    [("truncate", None), ("short-no-length", "body")],
    ids=["content-length-larger-than-body", "no-content-length-known-size"],
)
def test_truncated_download_is_rejected(server: FileServer, tmp_path: Path, mode: str, size) -> None:
    body = make_zip(TRAIN)
    kw = {"size": len(body)} if size == "body" else {}
    spec = div2k_like(server, train_mode=mode, **kw)

    with pytest.raises(DatasetError, match="truncated") as info:
        ensure_dataset(spec, tmp_path, progress=False)
    assert spec.files[0].url in str(info.value)
    assert_nothing_complete(tmp_path, spec)
    assert not (tmp_path / spec.name).exists()
    assert list((tmp_path / ".downloads").glob("DIV2K_train_HR.zip*")) == []


def test_server_size_different_from_known_size_is_rejected(server: FileServer, tmp_path: Path) -> None:
    body = make_zip(TRAIN)
    spec = div2k_like(server, size=len(body) + 1)
    with pytest.raises(DatasetError, match="changed upstream"):
        ensure_dataset(spec, tmp_path, progress=False)
    assert_nothing_complete(tmp_path, spec)


# --------------------------------------------------------------------------------------------------
# Interrupted or wrong extraction, half folders
# --------------------------------------------------------------------------------------------------


def test_interrupted_extraction_leaves_nothing_complete_and_retry_succeeds(
    server: FileServer, tmp_path: Path, monkeypatch
) -> None:
    spec = div2k_like(server)
    real_extract = dl._extract
    calls = []

    def crash_on_second(archive: Path, dest: Path) -> None:
        calls.append(archive.name)
        if len(calls) == 2:
            raise KeyboardInterrupt  # e.g. Ctrl-C while the second archive is being unpacked
        real_extract(archive, dest)

    monkeypatch.setattr(dl, "_extract", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        ensure_dataset(spec, tmp_path, progress=False)
    assert calls == ["DIV2K_train_HR.zip", "DIV2K_valid_HR.tar.gz"]
    assert_nothing_complete(tmp_path, spec)
    assert not (tmp_path / spec.name).exists()

    monkeypatch.setattr(dl, "_extract", real_extract)
    folder = ensure_dataset(spec, tmp_path, progress=False)
    assert is_complete(spec, folder)
    assert (folder / "DIV2K_valid_HR/0801.png").read_bytes() == VALID["DIV2K_valid_HR/0801.png"]
    # The archives were verified and kept after the failed attempt, so the retry did not download.
    assert server.total() == 2


def test_archive_without_the_layout_is_rejected_then_a_fixed_one_installs(server: FileServer, tmp_path: Path) -> None:
    broken = server.add("DIV2K_train_HR.zip", make_zip({"0001.png": png(1), "0002.png": png(2)}))
    spec = DatasetSpec("tiny-div2k", (broken,), LAYOUT[:2], "DIV2K_train_HR/0001.png ...")
    with pytest.raises(DatasetError) as info:
        ensure_dataset(spec, tmp_path, progress=False)
    msg = str(info.value)
    assert "DIV2K_train_HR/0001.png" in msg and str(tmp_path / spec.name) in msg and "\n" not in msg
    assert_nothing_complete(tmp_path, spec)
    assert not (tmp_path / spec.name).exists()

    # Upstream fixed: same filename, new content and checksum. The stale archive must not be reused.
    fixed = server.add("DIV2K_train_HR.zip", make_zip(TRAIN))
    spec = DatasetSpec("tiny-div2k", (fixed,), LAYOUT[:2], "DIV2K_train_HR/0001.png ...")
    folder = ensure_dataset(spec, tmp_path, progress=False)
    assert is_complete(spec, folder)
    assert server.count("DIV2K_train_HR.zip") == 2


def test_half_folder_without_marker_is_not_complete_and_gets_replaced(server: FileServer, tmp_path: Path) -> None:
    spec = div2k_like(server)
    half = tmp_path / spec.name
    for rel in LAYOUT:  # every layout path exists, but no marker: an earlier attempt died
        (half / rel).parent.mkdir(parents=True, exist_ok=True)
        (half / rel).write_bytes(b"half-written")
    (half / "stale.txt").write_text("left over")
    # A temporary folder of a killed attempt, complete with marker, must not count either.
    leftover = tmp_path / f".{spec.name}.tmp-killed"
    (leftover / "DIV2K_train_HR").mkdir(parents=True)
    (leftover / MARKER).write_text("{}")

    assert not is_complete(spec, half)
    with pytest.raises(DatasetError, match=re.escape(f"no {MARKER} marker")) as info:
        ensure_dataset(spec, tmp_path, download=False)
    assert str(half) in str(info.value)
    assert server.total() == 0

    folder = ensure_dataset(spec, tmp_path, progress=False)
    assert folder == half and is_complete(spec, folder)
    assert not (folder / "stale.txt").exists()
    assert (folder / "DIV2K_train_HR/0001.png").read_bytes() == TRAIN["DIV2K_train_HR/0001.png"]
    assert not leftover.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".downloads", spec.name]


# --------------------------------------------------------------------------------------------------
# Offline
# --------------------------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _assert_one_line_missing(msg: str, folder: Path, spec: DatasetSpec) -> None:
    assert "\n" not in msg
    assert msg.startswith(f"{folder}: dataset '{spec.name}' not found")
    assert spec.description in msg
    assert spec.files[0].url in msg


def test_server_not_running_gives_one_line_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/DIV2K_train_HR.zip"
    remote = RemoteFile(url, "0" * 64, "DIV2K_train_HR.zip")
    spec = DatasetSpec("tiny-div2k", (remote,), LAYOUT, "DIV2K_train_HR/0001.png ...")
    with pytest.raises(DatasetError, match="could not be downloaded") as info:
        ensure_dataset(spec, tmp_path, progress=False)
    _assert_one_line_missing(str(info.value), tmp_path / spec.name, spec)
    assert_nothing_complete(tmp_path, spec)


def test_http_404_gives_one_line_error(server: FileServer, tmp_path: Path) -> None:
    spec = DatasetSpec(
        "tiny-div2k", (RemoteFile(server.base + "gone.zip", None, "gone.zip"),), LAYOUT, "DIV2K_train_HR/0001.png ..."
    )
    with pytest.raises(DatasetError, match="HTTP 404") as info:
        ensure_dataset(spec, tmp_path, progress=False)
    _assert_one_line_missing(str(info.value), tmp_path / spec.name, spec)


def test_offline_env_never_touches_the_network(server: FileServer, tmp_path: Path, monkeypatch) -> None:
    spec = div2k_like(server)
    monkeypatch.setenv(dl.OFFLINE_ENV, "1")
    with pytest.raises(DatasetError, match=dl.OFFLINE_ENV) as info:
        ensure_dataset(spec, tmp_path)
    _assert_one_line_missing(str(info.value), tmp_path / spec.name, spec)
    assert server.total() == 0
    assert not (tmp_path / ".downloads").exists()


def test_download_false_never_touches_the_network(server: FileServer, tmp_path: Path) -> None:
    spec = div2k_like(server)
    with pytest.raises(DatasetError, match="downloading is turned off") as info:
        ensure_dataset(spec, tmp_path, download=False)
    _assert_one_line_missing(str(info.value), tmp_path / spec.name, spec)
    assert server.total() == 0


def test_named_dataset_offline_names_folder_and_layout(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(dl.OFFLINE_ENV, "1")
    with pytest.raises(DatasetError) as info:
        ensure_dataset("div2k", tmp_path / "data")
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"{tmp_path / 'data' / 'div2k'}: dataset 'div2k' not found")
    assert "DIV2K_train_HR/0001.png" in msg and "https://data.vision.ee.ethz.ch/cvl/DIV2K/DIV2K_train_HR.zip" in msg


def test_unknown_name_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="div2k") as info:
        ensure_dataset("imagenet", tmp_path, download=False)
    assert "'imagenet'" in str(info.value)


# --------------------------------------------------------------------------------------------------
# Unsafe archives
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("member", ["../evil.png", "DIV2K_train_HR/../../evil.png", "/tmp/evil.png"])
def test_zip_path_traversal_is_rejected(server: FileServer, tmp_path: Path, member: str) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("DIV2K_train_HR/0001.png", png(1))
        zf.writestr(zipfile.ZipInfo(member), b"evil")
    root = tmp_path / "root"
    spec = DatasetSpec("tiny-div2k", (server.add("evil.zip", buf.getvalue()),), LAYOUT[:1], "DIV2K_train_HR/0001.png")

    with pytest.raises(DatasetError, match="unsafe path") as info:
        ensure_dataset(spec, root, progress=False)
    assert member in str(info.value)
    assert_nothing_complete(root, spec)
    assert not (tmp_path / "evil.png").exists() and not (root / "evil.png").exists()


@pytest.mark.parametrize("kind", ["dotdot", "symlink-out"])
def test_tar_path_traversal_is_rejected(server: FileServer, tmp_path: Path, kind: str) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        if kind == "dotdot":
            info = tarfile.TarInfo("../evil.png")
            info.size = 4
            tf.addfile(info, io.BytesIO(b"evil"))
        else:
            info = tarfile.TarInfo("DIV2K_train_HR")
            info.type = tarfile.SYMTYPE
            info.linkname = "../../"
            tf.addfile(info)
    root = tmp_path / "root"
    spec = DatasetSpec("tiny-div2k", (server.add("evil.tar", buf.getvalue()),), LAYOUT[:1], "DIV2K_train_HR/0001.png")
    with pytest.raises(DatasetError, match="unsafe member"):
        ensure_dataset(spec, root, progress=False)
    assert_nothing_complete(root, spec)
    assert not (tmp_path / "evil.png").exists()


# --------------------------------------------------------------------------------------------------
# The table of official datasets
# --------------------------------------------------------------------------------------------------


def test_datasets_table_is_well_formed() -> None:
    assert {"div2k", "div2k-lr-x2", "div2k-lr-x3", "div2k-lr-x4", "coco-stuff"} <= set(DATASETS)
    assert "t91" not in DATASETS and "general100" not in DATASETS  # no official zip/tar archive
    for key, spec in DATASETS.items():
        assert key == spec.name
        assert spec.files and spec.layout and spec.description
        assert len({f.filename for f in spec.files}) == len(spec.files)
        for remote in spec.files:
            assert re.fullmatch(r"https?://[^\s/]+/\S+", remote.url), remote.url
            assert remote.url.rsplit("/", 1)[1] == remote.filename
            assert remote.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", remote.sha256), remote.url
            assert remote.size is None or (isinstance(remote.size, int) and remote.size > 0)
            assert ".." not in Path(remote.extract_to).parts and not Path(remote.extract_to).is_absolute()
        for rel in spec.layout:
            assert rel and not Path(rel).is_absolute() and ".." not in Path(rel).parts


def test_official_urls_and_checksums() -> None:
    div2k = {f.filename: f for f in DATASETS["div2k"].files}
    assert div2k["DIV2K_train_HR.zip"].url == "https://data.vision.ee.ethz.ch/cvl/DIV2K/DIV2K_train_HR.zip"
    assert div2k["DIV2K_train_HR.zip"].size == 3530603713
    assert div2k["DIV2K_valid_HR.zip"].sha256 == "20dd31fd84d777bc1cf5d6b7654a3f569c0aec74458ae094122ad1d0489900fc"
    coco = {f.filename: f for f in DATASETS["coco-stuff"].files}
    assert coco["train2017.zip"].url == "http://images.cocodataset.org/zips/train2017.zip"
    assert coco["val2017.zip"].sha256 == "4f7e2ccb2866ec5041993c9cf2a952bbed69647b115d0f74da7ce8f4bef82f05"
    stuff = coco["stuffthingmaps_trainval2017.zip"]
    assert stuff.url.startswith("http://calvin.inf.ed.ac.uk/")
    assert stuff.sha256 is None  # no published checksum: verified by nothing, with a warning
    for s in (2, 3, 4):
        spec = DATASETS[f"div2k-lr-x{s}"]
        assert all(f.sha256 and f.size for f in spec.files)
        assert f"DIV2K_train_LR_bicubic/X{s}/0001x{s}.png" in spec.layout
