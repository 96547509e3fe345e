"""``sr_zoo.files``: one extension table, one atomic writer, one folder publisher, one SHA-256."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from sr_zoo.cli import main
from sr_zoo.errors import SRZooError
from sr_zoo.files.atomic import publish_folder, write_atomically
from sr_zoo.files.download import offline, sha256_of
from sr_zoo.files.images import IMAGE_EXTENSIONS, list_images, load_image_file, read_image


def _photo(path: Path, h: int = 12, w: int = 10, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), 1.0)
    assert cv2.imwrite(str(path), image, [cv2.IMWRITE_WEBP_QUALITY, 101] if path.suffix == ".webp" else [])
    return image


def test_a_folder_of_webp_files_is_read_as_one_file_is(tmp_path: Path) -> None:
    """The readers of folders and of single files share one table: .webp (lossless) in both."""
    folder = tmp_path / "in"
    folder.mkdir()
    images = {name: _photo(folder / f"{name}.webp", seed=i) for i, name in enumerate(("a", "b"))}
    assert ".webp" in IMAGE_EXTENSIONS
    assert [p.name for p in list_images(folder)] == ["a.webp", "b.webp"]
    for name, bgr in images.items():
        rgb = bgr[:, :, ::-1]
        assert np.array_equal(load_image_file(folder / f"{name}.webp").pixels, rgb)
        assert np.array_equal((read_image(folder / f"{name}.webp") * 255).round().byte().permute(1, 2, 0).numpy(), rgb)
    out = tmp_path / "out"
    assert main(["upscale", str(folder), "-o", str(out), "--model", "bicubic", "--scale", "2"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.webp", "b.webp"]
    assert cv2.imread(str(out / "a.webp")).shape == (24, 20, 3)


def test_write_atomically_publishes_whole_files_or_nothing(tmp_path: Path) -> None:
    target = tmp_path / "result.bin"
    target.write_bytes(b"old")

    def fail_halfway(tmp: str) -> None:
        Path(tmp).write_bytes(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(SRZooError, match=r"^result.bin: No space left on device$"):
        write_atomically(target, fail_halfway, lambda reason: SRZooError(f"{target.name}: {reason}"))
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["result.bin"]
    write_atomically(target, lambda tmp: Path(tmp).write_bytes(b"new"))
    assert target.read_bytes() == b"new" and sorted(p.name for p in tmp_path.iterdir()) == ["result.bin"]


def test_publish_folder_builds_once_and_replaces_an_incomplete_folder(tmp_path: Path) -> None:
    target = tmp_path / "set"
    target.mkdir()
    (target / "partial.png").write_bytes(b"")  # an earlier attempt, killed
    builds: list[Path] = []

    def build(tmp: Path) -> None:
        builds.append(tmp)
        (tmp / "complete.png").write_bytes(b"x")

    def complete() -> bool:
        return (target / "complete.png").is_file()

    assert publish_folder(target, build, complete) is True  # replaced the incomplete folder
    assert sorted(p.name for p in target.iterdir()) == ["complete.png"]
    assert publish_folder(target, build, complete) is False and len(builds) == 1  # complete: not built again
    assert sorted(p.name for p in tmp_path.iterdir()) == [".set.lock", "set"]  # no temporary folder left

    def crash(tmp: Path) -> None:
        (tmp / "x").write_bytes(b"")
        raise RuntimeError("killed")

    other = tmp_path / "other"
    with pytest.raises(RuntimeError):
        publish_folder(other, crash, lambda: False)
    assert not other.exists() and not list(tmp_path.glob(".other.tmp-*"))


def test_sha256_and_the_offline_switch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = bytes(range(256)) * 5000  # over one 1 MiB block
    (tmp_path / "f").write_bytes(data)
    assert sha256_of(tmp_path / "f") == hashlib.sha256(data).hexdigest()
    for value, expected in [("1", True), ("TRUE", True), ("yes", True), ("On", True), ("0", False), ("", False)]:
        monkeypatch.setenv("SR_ZOO_OFFLINE", value)
        assert offline() is expected, value
