"""The named training datasets (DIV2K, its bicubic LR sets, COCO-Stuff), downloaded from their official
sources, verified and unpacked safely: ``ensure_dataset("div2k", root)`` returns ``root/div2k``.

A dataset folder is complete when every path of its ``layout`` and the marker ``.sr_zoo_complete`` exist;
it is built in a temporary folder and renamed into place (``sr_zoo.files.atomic.publish_folder``), so an
interrupted download or extraction never looks complete. Archives are fetched by
``sr_zoo.files.download`` (size and SHA-256 checked, ``SR_ZOO_OFFLINE`` respected) into
``root/.downloads`` and unpacked with member paths checked first (no absolute paths, ``..`` or links
out). Tests and mirrors pass a :class:`DatasetSpec` of their own instead of a name.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable

from sr_zoo.errors import DatasetError, one_line, warn_once
from sr_zoo.files.atomic import publish_folder
from sr_zoo.files.download import (
    NETWORK_ERRORS,
    OFFLINE_ENV,
    download_file,
    file_digest,
    network_reason,
    offline,
    sha256_of,
)

__all__ = [
    "DATASETS",
    "MARKER",
    "OFFLINE_ENV",
    "DatasetSpec",
    "RemoteFile",
    "ensure_dataset",
    "get_spec",
    "is_complete",
]

MARKER = ".sr_zoo_complete"
"""Name of the file that marks a dataset folder as completely downloaded and unpacked."""

DOWNLOADS = ".downloads"
"""Folder under the data root where archives are downloaded to."""


@dataclass(frozen=True)
class RemoteFile:
    """One archive of a dataset.

    ``sha256`` and ``size`` (bytes) are checked after the download when known; with ``sha256=None``
    only the size is checked (when known) and a warning says that the file could not be verified.
    The archive is unpacked into ``extract_to``, a folder relative to the dataset folder ("" = the
    dataset folder itself).
    """

    url: str
    sha256: str | None
    filename: str
    size: int | None = None
    extract_to: str = ""
    md5: str | None = None  # where the publisher gives only an MD5


@dataclass(frozen=True)
class DatasetSpec:
    """A named dataset: its archives, the paths that must exist once they are unpacked, and a
    human description of that layout for error messages."""

    name: str
    files: tuple[RemoteFile, ...]
    layout: tuple[str, ...]
    description: str
    prepare: Callable[[Path], None] | None = None  # normalises the unpacked folder before the layout check

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(f.url for f in self.files)


# --------------------------------------------------------------------------------------------------
# The datasets.
#
# Checksums: every sha256/size below was copied from the TensorFlow Datasets checksum files, which
# list "URL size sha256" for each file they download:
#   DIV2K: tensorflow/datasets, tensorflow_datasets/datasets/div2k/checksums.tsv
#          (the same values are in tensorflow_datasets/url_checksums/div2k.txt)
#   COCO:  tensorflow/datasets, tensorflow_datasets/url_checksums/coco2017.txt (and coco.txt)
# No published checksum or exact size was found for stuffthingmaps_trainval2017.zip (the COCO-Stuff
# README, github.com/nightrome/cocostuff, gives only "659 MB"), so it is downloaded unverified.
#
# Not here: T91 and General-100. T91 (Yang et al. 2010) is officially distributed only inside the
# ScSR MATLAB code archive (ScSR.rar, a RAR file, images under Data/Training), and General-100
# (Dong et al. 2016) only through a file-sharing link on the FSRCNN project page; neither is an
# official zip/tar with a stable URL, so both are read from local folders (see sr_zoo.data.sources).
# --------------------------------------------------------------------------------------------------

_DIV2K_URL = "https://data.vision.ee.ethz.ch/cvl/DIV2K/"

_DIV2K_HR = DatasetSpec(
    name="div2k",
    files=(
        RemoteFile(
            _DIV2K_URL + "DIV2K_train_HR.zip",
            "9d0b9c463f6e35b6c62cc6a930ee2224f670b34c1df841a57670f9acf0f6c335",
            "DIV2K_train_HR.zip",
            3530603713,
        ),
        RemoteFile(
            _DIV2K_URL + "DIV2K_valid_HR.zip",
            "20dd31fd84d777bc1cf5d6b7654a3f569c0aec74458ae094122ad1d0489900fc",
            "DIV2K_valid_HR.zip",
            448993893,
        ),
    ),
    layout=(
        "DIV2K_train_HR/0001.png",
        "DIV2K_train_HR/0800.png",
        "DIV2K_valid_HR/0801.png",
        "DIV2K_valid_HR/0900.png",
    ),
    description="DIV2K_train_HR/0001.png ... 0800.png and DIV2K_valid_HR/0801.png ... 0900.png",
)

# (scale, train sha256, train size, valid sha256, valid size)
_DIV2K_BICUBIC = (
    (
        2,
        "a53a424317575838dadce4bcd97cf7b744d6855f43740ed5f0245af3cf4bd850",
        925390592,
        "60eed9875c697df51204aa579e2a699e1d5215095788a097ff54dd17e2664d57",
        117763600,
    ),
    (
        3,
        "ad5c8e5507e2765823d3c2c5bd0934842efcd487c5370604c224090898b3163a",
        427847282,
        "04b9a2ed3b4a0715d3924d3ae8514830c3328fac8d30512ce716d6f419e052a3",
        54513392,
    ),
    (
        4,
        "f006b837f4eb52b82909aa01478e6d6d199eefce932179491d0c9dbb706dde3a",
        246914039,
        "a50a5d1c4b88de4e8d300d8fb2b904c52fe93b2b298a4899697760d7cbb6d553",
        31505881,
    ),
)


def _div2k_bicubic(scale: int, train_sha: str, train_size: int, valid_sha: str, valid_size: int) -> DatasetSpec:
    """The official bicubic LR images of DIV2K for one scale (``DIV2K_<split>_LR_bicubic/X<s>/``)."""
    s = scale
    train, valid = f"DIV2K_train_LR_bicubic_X{s}.zip", f"DIV2K_valid_LR_bicubic_X{s}.zip"
    return DatasetSpec(
        name=f"div2k-lr-x{s}",
        files=(
            RemoteFile(_DIV2K_URL + train, train_sha, train, train_size),
            RemoteFile(_DIV2K_URL + valid, valid_sha, valid, valid_size),
        ),
        layout=(
            f"DIV2K_train_LR_bicubic/X{s}/0001x{s}.png",
            f"DIV2K_train_LR_bicubic/X{s}/0800x{s}.png",
            f"DIV2K_valid_LR_bicubic/X{s}/0801x{s}.png",
            f"DIV2K_valid_LR_bicubic/X{s}/0900x{s}.png",
        ),
        description=(
            f"DIV2K_train_LR_bicubic/X{s}/0001x{s}.png ... 0800x{s}.png and "
            f"DIV2K_valid_LR_bicubic/X{s}/0801x{s}.png ... 0900x{s}.png"
        ),
    )


_COCO_STUFF = DatasetSpec(
    name="coco-stuff",
    files=(
        RemoteFile(
            "http://images.cocodataset.org/zips/train2017.zip",
            "69a8bb58ea5f8f99d24875f21416de2e9ded3178e903f1f7603e283b9e06d929",
            "train2017.zip",
            19336861798,
        ),
        RemoteFile(
            "http://images.cocodataset.org/zips/val2017.zip",
            "4f7e2ccb2866ec5041993c9cf2a952bbed69647b115d0f74da7ce8f4bef82f05",
            "val2017.zip",
            815585330,
        ),
        # The COCO-Stuff authors' download (github.com/nightrome/cocostuff#downloads). The zip holds
        # train2017/ and val2017/ folders of label PNGs; they go under stuffthingmaps_trainval2017/.
        RemoteFile(
            "http://calvin.inf.ed.ac.uk/wp-content/uploads/data/cocostuffdataset/stuffthingmaps_trainval2017.zip",
            None,
            "stuffthingmaps_trainval2017.zip",
            None,
            extract_to="stuffthingmaps_trainval2017",
        ),
    ),
    layout=(
        "train2017",
        "val2017",
        "stuffthingmaps_trainval2017/train2017",
        "stuffthingmaps_trainval2017/val2017",
    ),
    description=(
        "train2017/000000000009.jpg ..., val2017/000000000139.jpg ... and "
        "stuffthingmaps_trainval2017/{train2017,val2017}/<same names>.png"
    ),
)

# --------------------------------------------------------------------------------------------------
# Test sets: HR images only (LR is always made by sr_zoo.ops.imresize). Sources and checksums:
#   EDSR's benchmark.tar (Set5, Set14, B100, Urban100 as benchmark/<Set>/HR/*.png, beside LR_bicubic/
#   folders that are dropped): MD5 as published by Coloquinte/torchSR, torchsr/datasets/benchmarks.py
#   (its `urls` list); no SHA-256 is published. The copy EDSR, RCAN and torchSR score on.
#   DIV2K_valid_HR.zip: SHA-256 and size from tensorflow/datasets, datasets/div2k/checksums.tsv.
#   BSR_bsds500.tgz (Berkeley; BSD200 = BSDS500's 200 test images): no checksum published; unverified.
#   SRCNN_train.zip (the SRCNN authors' T91, Train/*.bmp): no checksum published; unverified.
# Not downloadable: Manga109 (academic use by application; redistribution forbidden) and General-100
# (only a file-sharing link on the FSRCNN project page): see MANUAL_SETS.
# --------------------------------------------------------------------------------------------------

# Originally single-channel images that some copies store as three equal channels: scored on their one
# channel (as in the published tables), so they are stored as one channel again.
GRAY_ORIGINALS = {"set14": ("bridge",)}
_EDSR_SETS = {"Set5": "set5", "Set14": "set14", "B100": "bsd100", "Urban100": "urban100"}


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _flatten_hr(moves: dict[str, str]) -> Callable[[Path], None]:
    """A ``prepare`` step: ``folder/<src>`` (HR images) becomes ``folder/<dst>``, everything else goes;
    non-images (``Thumbs.db``) go too, and ``GRAY_ORIGINALS`` become one channel again."""

    def prepare(folder: Path) -> None:
        from sr_zoo.files.images import is_image_name, normalise_gray

        kept = {dst: folder / f".keep-{dst}" for src, dst in moves.items() if (folder / src).is_dir()}
        for src, dst in moves.items():
            if dst in kept:
                (folder / src).rename(kept[dst])
        for entry in list(folder.iterdir()):
            if entry not in kept.values():
                _remove(entry)
        for dst, tmp in kept.items():
            tmp.rename(folder / dst)
            for path in list((folder / dst).iterdir()):
                if not is_image_name(path):
                    _remove(path)
                elif path.stem in GRAY_ORIGINALS.get(dst, ()):
                    normalise_gray(path)

    return prepare


_SR_BENCHMARK = DatasetSpec(
    name="sr-benchmark",
    files=(RemoteFile("https://cv.snu.ac.kr/research/EDSR/benchmark.tar", None, "benchmark.tar",
                      md5="4ace41d33c2384b97e6b320cd0afd6ba"),),
    layout=("set5/baby.png", "set14/bridge.png", "bsd100/3096.png", "urban100/img001.png"),
    description="set5/, set14/, bsd100/, urban100/ of HR PNGs (from benchmark/<Set>/HR/ of EDSR's benchmark.tar)",
    prepare=_flatten_hr({f"benchmark/{src}/HR": dst for src, dst in _EDSR_SETS.items()}),
)
_DIV2K_VAL = DatasetSpec(
    name="div2k-val",
    files=(_DIV2K_HR.files[1],),
    layout=("div2k-val/0801.png", "div2k-val/0900.png"),
    description="div2k-val/0801.png ... 0900.png (DIV2K_valid_HR.zip)",
    prepare=_flatten_hr({"DIV2K_valid_HR": "div2k-val"}),
)
_BSDS500 = DatasetSpec(
    name="bsds500",
    files=(RemoteFile("http://www.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/BSR/BSR_bsds500.tgz",
                      None, "BSR_bsds500.tgz"),),
    layout=("bsd200",),
    description="bsd200/*.jpg (the 200 test images, BSR/BSDS500/data/images/test/ of BSR_bsds500.tgz)",
    prepare=_flatten_hr({"BSR/BSDS500/data/images/test": "bsd200"}),
)
_T91 = DatasetSpec(
    name="t91-download",
    files=(RemoteFile("http://mmlab.ie.cuhk.edu.hk/projects/SRCNN/SRCNN_train.zip", None, "SRCNN_train.zip"),),
    layout=("T91/t1.bmp", "T91/tt27.bmp"),
    description="T91/t1.bmp ... tt27.bmp (Train/ of the SRCNN authors' SRCNN_train.zip)",
    prepare=_flatten_hr({"Train": "T91"}),
)

MANUAL_SETS = {
    "manga109": "Manga109 may not be redistributed (academic use, by application: http://www.manga109.org/en/); "
                "put its HR images (PNG) in {folder}",
    "general100": "General-100 has no stable archive URL (FSRCNN project page, "
                  "http://mmlab.ie.cuhk.edu.hk/projects/FSRCNN.html); put im_1.bmp ... im_100.bmp in {folder}",
}
"""Sets that cannot be fetched: the one line saying where to get them and where to put them."""

DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (_DIV2K_HR, *(_div2k_bicubic(*row) for row in _DIV2K_BICUBIC), _COCO_STUFF, _SR_BENCHMARK,
                 _DIV2K_VAL, _BSDS500, _T91)
}
"""The datasets :func:`ensure_dataset` can download by name."""


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


def get_spec(name_or_spec: str | DatasetSpec) -> DatasetSpec:
    """The :class:`DatasetSpec` for a name of :data:`DATASETS` (case-insensitive), or the spec itself."""
    if isinstance(name_or_spec, DatasetSpec):
        return name_or_spec
    spec = DATASETS.get(str(name_or_spec).lower())
    if spec is None:
        known = ", ".join(sorted(DATASETS))
        raise DatasetError(f"unknown dataset '{name_or_spec}': the downloadable datasets are {known}")
    return spec


def is_complete(spec: DatasetSpec, folder: Path) -> bool:
    """Whether ``folder`` holds a completely unpacked ``spec``: the marker and every layout path."""
    return (folder / MARKER).is_file() and all((folder / rel).exists() for rel in spec.layout)


def ensure_dataset(
    name_or_spec: str | DatasetSpec,
    root: str | os.PathLike[str],
    download: bool = True,
    progress: bool = True,
    *,
    keep_archives: bool = False,
) -> Path:
    """Return ``root/<name>`` holding the complete dataset, downloading and unpacking it if needed.

    Args:
        name_or_spec: a key of :data:`DATASETS` (e.g. ``"div2k"``) or a :class:`DatasetSpec`.
        root: the data root; the dataset goes to ``root/<name>``, archives to ``root/.downloads``.
        download: when False, a missing dataset is an error instead of being downloaded.
        progress: show a byte progress bar per file (only on a terminal).
        keep_archives: keep the verified archives in ``root/.downloads`` after unpacking.

    Raises:
        DatasetError: one line naming the folder and the expected layout when the dataset is absent
            and may not (``download=False``, ``SR_ZOO_OFFLINE=1``) or could not (network error) be
            downloaded; naming the URL on a checksum mismatch or a truncated download; naming the
            archive when it is unsafe or unpacks without the expected layout.
    """
    spec = get_spec(name_or_spec)
    root = Path(root).expanduser()
    target = root / spec.name
    if is_complete(spec, target):
        return target

    if not download:
        raise _missing(spec, target, "downloading is turned off")
    if offline():
        raise _missing(spec, target, f"{OFFLINE_ENV} is set")

    downloads = root / DOWNLOADS
    downloads.mkdir(parents=True, exist_ok=True)

    archives: list[Path] = []

    def build(tmp: Path) -> None:
        archives.extend(_fetch(f, downloads, spec, target, progress) for f in spec.files)
        _unpack(spec, archives, tmp, target)

    if publish_folder(target, build, lambda: is_complete(spec, target), lock=downloads / f"{spec.name}.lock"):
        warn_once(f"{target} had no {MARKER} marker and was replaced by a fresh download")
    if not keep_archives:
        for archive in archives:
            archive.unlink(missing_ok=True)
    return target


# --------------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------------


def _missing(spec: DatasetSpec, target: Path, reason: str) -> DatasetError:
    """The one-line error for a dataset that is not there and was not downloaded."""
    if target.exists() and not (target / MARKER).is_file():
        reason = f"{reason}; the folder exists but has no {MARKER} marker, so it is incomplete"
    urls = " ".join(spec.urls)
    if spec.prepare is not None:  # a test set: its archive unpacked in the data root is found as it is
        how = f"download {urls} and unpack it in {target.parent}"
    else:
        how = f"download {urls}, unpack there, then create an empty {MARKER} file in it"
    return DatasetError(
        one_line(
            f"{target}: dataset '{spec.name}' not found and could not be downloaded ({reason}); "
            f"expected {spec.description} ({how})"
        )
    )


# --------------------------------------------------------------------------------------------------
# Downloading
# --------------------------------------------------------------------------------------------------


def _fetch(remote: RemoteFile, downloads: Path, spec: DatasetSpec, target: Path, progress: bool) -> Path:
    """The verified archive ``downloads/<filename>``, reusing one from an earlier run if it checks out."""
    dest = downloads / remote.filename
    if dest.is_file():
        if _archive_ok(remote, dest):
            return dest
        dest.unlink()
    try:
        return download_file(remote.url, dest, remote.sha256, remote.size, progress, error=DatasetError, md5=remote.md5)
    except NETWORK_ERRORS as exc:
        raise _missing(spec, target, f"{remote.url}: {network_reason(exc)}") from exc


def _archive_ok(remote: RemoteFile, path: Path) -> bool:
    """Whether an archive already on disk matches the expected size and SHA-256 (where known)."""
    if remote.size is not None and path.stat().st_size != remote.size:
        return False
    if remote.sha256 is not None and sha256_of(path) != remote.sha256.lower():
        return False
    return remote.md5 is None or file_digest(path, "md5") == remote.md5.lower()


# --------------------------------------------------------------------------------------------------
# Unpacking
# --------------------------------------------------------------------------------------------------


def _unpack(spec: DatasetSpec, archives: list[Path], tmp: Path, target: Path) -> None:
    """Unpack ``archives`` into ``tmp``, check the layout and write the marker (``publish_folder`` then
    renames ``tmp`` to ``target``)."""
    for remote, archive in zip(spec.files, archives):
        dest = tmp / remote.extract_to if remote.extract_to else tmp
        dest.mkdir(parents=True, exist_ok=True)
        _extract(archive, dest)
    if spec.prepare is not None:
        spec.prepare(tmp)
    missing = [rel for rel in spec.layout if not (tmp / rel).exists()]
    if missing:
        names = ", ".join(a.name for a in archives)
        raise DatasetError(
            f"{target}: the archives of dataset '{spec.name}' ({names}) unpacked without "
            f"{', '.join(missing)}; expected {spec.description}"
        )
    marker = {
        "name": spec.name,
        "files": [{"url": f.url, "sha256": f.sha256} for f in spec.files],
        "completed": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    (tmp / MARKER).write_text(json.dumps(marker, indent=1) + "\n")


def _unsafe_member(name: str) -> bool:
    """Whether an archive member name is absolute or climbs out of the folder with ``..``."""
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or (len(normalized) > 1 and normalized[1] == ":"):
        return True
    return ".." in PurePosixPath(normalized).parts


def _extract(archive: Path, dest: Path) -> None:
    """Unpack a zip or tar archive into ``dest``, refusing members that would land outside it."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if _unsafe_member(info.filename):
                    raise DatasetError(f"{archive}: unsafe path in zip archive: {info.filename!r}; not unpacked")
            zf.extractall(dest)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive, "r:*") as tf:
            members = tf.getmembers()
            for member in members:
                bad_link = (member.issym() or member.islnk()) and _unsafe_member(member.linkname)
                if _unsafe_member(member.name) or bad_link or member.isdev():
                    raise DatasetError(f"{archive}: unsafe member in tar archive: {member.name!r}; not unpacked")
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4 / 3.12: a second line of defence
                tf.extractall(dest, members=members, filter="data")
            else:  # pragma: no cover - old Pythons
                tf.extractall(dest, members=members)
    else:
        raise DatasetError(f"{archive}: not a zip or tar archive; delete it and try again")
