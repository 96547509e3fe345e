"""Where training and benchmark images live: named sources resolved to files on disk.

A source is a name (``t91``, ``general100``, ``div2k``, ``coco-stuff``, ``demo``, or a benchmark set
such as ``set5``), ``name:PATH`` for a named layout at an explicit path, ``folder:PATH``, or a plain
path to a folder of images. Named sources are looked up under the data root: the ``root`` argument,
else ``$SR_ZOO_DATA``, else ``~/.cache/sr_zoo``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from sr_zoo.errors import DatasetError
from sr_zoo.files.atomic import publish_folder
from sr_zoo.files.images import is_image_name, list_images

__all__ = ["SOURCE_NAMES", "TEST_SETS", "Record", "data_root", "display_name", "is_test_set_name",
           "resolve_benchmark", "resolve_source", "test_set", "user_cache"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Record:
    """One training image: its HR file, and where they exist its label map and LR file. ``paired``: the LR is
    the data (a real pair, ``sr_zoo.data.paired``), used whatever the degradation; else an official bicubic LR
    (DIV2K's), used only where the degradation is bicubic."""

    hr: Path
    label: Path | None = None
    lr: Path | None = None
    paired: bool = False


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: ``root``, else ``$SR_ZOO_DATA``, else ``$XDG_CACHE_HOME/sr_zoo`` (``~/.cache/sr_zoo``)."""
    if root is not None:
        return Path(root).expanduser()
    if os.environ.get("SR_ZOO_DATA"):
        return Path(os.environ["SR_ZOO_DATA"]).expanduser()
    return user_cache()


def user_cache() -> Path:
    """The zoo's cache of this user: ``$XDG_CACHE_HOME/sr_zoo`` (``~/.cache/sr_zoo``)."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")).expanduser() / "sr_zoo"


def _first_dir(base: Path, names: tuple[str, ...]) -> Path | None:
    return next((base / n for n in names if (base / n).is_dir()), None)


def _missing(name: str, where: Path, layout: str) -> DatasetError:
    return DatasetError(f"{where}: dataset '{name}' not found; expected {layout}")


def _folder(path: Path) -> list[Record]:
    return [Record(p) for p in list_images(path)]


# Folder names accepted for the small sets: the distributed names and those in ../shared/data.
_T91_DIRS = ("T91", "t91", "91-image", "91-images", "91image", "Train")
_G100_DIRS = ("General100", "General-100", "general100", "general-100")


def _t91_folder(base: Path) -> Path:
    folder = _first_dir(base, _T91_DIRS) or _first_dir(base / "t91-download", ("T91",))  # the fetched copy
    folder = folder or (base if _looks_like_images(base) else None)
    if folder is None:
        raise _missing("t91", base, f"one of {'/, '.join(_T91_DIRS)}/ holding t1.bmp ... t91.bmp (or PNGs)")
    return folder


def _general100_folder(base: Path) -> Path:
    folder = _first_dir(base, _G100_DIRS) or (base if _looks_like_images(base) else None)
    if folder is None:
        raise _missing("general100", base, f"one of {'/, '.join(_G100_DIRS)}/ holding im_1.bmp ... (or im_001.png ...)")
    return folder


# Training sets that are one folder of HR images, usable as a held-out validation set by name (General-100
# for the 91-image recipes: a split that is no reported test set, issue 27).
_IMAGE_FOLDER_SOURCES = {"t91": _t91_folder, "general100": _general100_folder}


def _looks_like_images(folder: Path) -> bool:
    return folder.is_dir() and any(is_image_name(p) for p in folder.iterdir())


def div2k_records(base: Path, scale: int | None, split: str = "train") -> list[Record]:
    """DIV2K HR images (``DIV2K_<split>_HR/0001.png``) with the official bicubic LR when present
    (``DIV2K_<split>_LR_bicubic/X<s>/0001x<s>.png``)."""
    root = _first_dir(base, ("div2k", "DIV2K")) or base
    hr_dir = root / f"DIV2K_{split}_HR"
    if not hr_dir.is_dir():
        raise _missing("div2k", root, f"DIV2K_{split}_HR/0001.png ... "
                       f"(and optionally DIV2K_{split}_LR_bicubic/X2/0001x2.png ...)")
    # Official LR next to the HR folder, or where sr_zoo.data.download puts it (root/div2k-lr-x<s>/).
    lr_dir = None
    if scale:
        candidates = (root / f"DIV2K_{split}_LR_bicubic" / f"X{scale}",
                      root.parent / f"div2k-lr-x{scale}" / f"DIV2K_{split}_LR_bicubic" / f"X{scale}")
        lr_dir = next((c for c in candidates if c.is_dir()), None)
    records = []
    for hr in list_images(hr_dir):
        lr = lr_dir / f"{hr.stem}x{scale}{hr.suffix}" if lr_dir is not None else None
        records.append(Record(hr, lr=lr if lr is not None and lr.is_file() else None))
    return records


def coco_stuff_records(base: Path, split: str = "train") -> tuple[list[Record], list[Path]]:
    """COCO 2017 images (``<split>2017/*.jpg``) paired with COCO-Stuff label maps
    (``stuffthingmaps_trainval2017/<split>2017/*.png``); returns the pairs and the images without a label."""
    root = base / "coco-stuff" if (base / "coco-stuff").is_dir() else base
    images = _first_dir(root, (f"{split}2017", f"images/{split}2017"))
    labels = _first_dir(root, (f"stuffthingmaps_trainval2017/{split}2017", f"stuffthingmaps/{split}2017"))
    if images is None or labels is None:
        raise _missing(
            "coco-stuff", root,
            f"{split}2017/000000000009.jpg ... and stuffthingmaps_trainval2017/{split}2017/000000000009.png ..."
        )
    records, unlabeled = [], []
    for image in list_images(images):
        label = labels / f"{image.stem}.png"
        if label.is_file():
            records.append(Record(image, label=label))
        else:
            unlabeled.append(image)
    return records, unlabeled


# Photographs bundled with scikit-image: training works on a fresh machine with no dataset and no network.
DEMO_TRAIN = ("astronaut", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry", "brick", "grass", "gravel",
              "moon", "coins")
DEMO_VAL = ("chelsea", "camera")
DEMO_VAL_SIDE = 192
"""The demo validates on the central 192x192 of its two photos (a multiple of every zoo scale): with the whole
photos, validation took 2 min 14 s of a CSRCNN x8 demo's 7 min 38 s on the project's loaded CPU (issue 28's
probe), and a crop shows the same."""


def demo_folder(root: Path, split: str = "train") -> Path:
    """Write scikit-image's bundled photos once as PNGs under ``root/demo/train`` (whole) or ``root/demo/val192``
    (central ``DEMO_VAL_SIDE`` crops) and return the folder.

    Safe under concurrent first use: built in a temporary folder under a lock and renamed into place.
    """
    folder = root / "demo" / ("train" if split == "train" else f"val{DEMO_VAL_SIDE}")
    names = DEMO_TRAIN if split == "train" else DEMO_VAL

    def complete() -> bool:
        return folder.is_dir() and all((folder / f"{n}.png").is_file() for n in names)

    if complete():
        return folder
    from skimage import data as skdata  # imported here: only the demo source needs it

    def build(tmp: Path) -> None:
        for name in names:
            image = getattr(skdata, name)()
            if split != "train":
                top, left = ((n - DEMO_VAL_SIDE) // 2 for n in image.shape[:2])
                image = image[top:top + DEMO_VAL_SIDE, left:left + DEMO_VAL_SIDE]
            if image.ndim == 3:
                image = cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2BGR)
            if not cv2.imwrite(str(tmp / f"{name}.png"), image):
                raise OSError(f"cannot write {tmp / name}.png")

    try:
        publish_folder(folder, build, complete, lock=folder.parent / ".lock")
    except OSError as exc:
        raise DatasetError(f"{folder}: cannot create the demo data here: {exc.strerror or exc} "
                           "(set --data.root or $SR_ZOO_DATA to a writable folder)") from None
    return folder


SOURCE_NAMES = ("t91", "general100", "div2k", "coco-stuff", "demo", "folder")


def resolve_source(spec: str, root: Path, scale: int | None = None) -> tuple[str, list[Record], list[Path]]:
    """A training source spec to ``(name, records, skipped)``; ``skipped`` lists unusable files found."""
    if spec.lower().startswith("paired:"):
        from sr_zoo.data.paired import paired_folders, paired_records

        if scale is None:
            raise DatasetError(f"{spec!r}: paired data needs the scale")
        return paired_folders(spec)[1].parent.name, paired_records(spec, scale), []
    named = ":" in spec and spec.split(":", 1)[0].lower() in SOURCE_NAMES
    name, _, path = spec.partition(":") if named else ("", "", spec)
    name = name.lower()
    if not name:
        if spec.lower() in SOURCE_NAMES:
            name, path = spec.lower(), ""
        else:
            return Path(spec).name, _folder(Path(spec).expanduser()), []
    base = Path(path).expanduser() if path else root
    if name == "folder":
        if not path:
            raise DatasetError("source 'folder' needs a path: folder:/path/to/images")
        return base.name, _folder(base), []
    if name in _IMAGE_FOLDER_SOURCES:
        return name, _folder(_IMAGE_FOLDER_SOURCES[name](base)), []
    if name == "div2k":
        return "div2k", div2k_records(base, scale), []
    if name == "coco-stuff":
        records, unlabeled = coco_stuff_records(base)
        return "coco-stuff", records, unlabeled
    return "demo", _folder(demo_folder(base)), []


@dataclass(frozen=True)
class _TestSet:
    """A test set known by name: how tables call it, the folders people keep it in (a local copy wins over a
    download), and the downloadable dataset (``sr_zoo.data.download.DATASETS``) and folder it is fetched to."""

    display: str
    folders: tuple[str, ...]
    fetched: tuple[str, str] | None  # None: cannot be fetched (``MANUAL_SETS``)


_TEST_SETS = {
    "set5": _TestSet("Set5", ("Set5", "set5"), ("sr-benchmark", "set5")),
    "set14": _TestSet("Set14", ("Set14", "set14"), ("sr-benchmark", "set14")),
    "bsd100": _TestSet("BSD100", ("BSD100", "B100", "bsd100"), ("sr-benchmark", "bsd100")),  # B100: EDSR's name
    "urban100": _TestSet("Urban100", ("Urban100", "urban100"), ("sr-benchmark", "urban100")),
    "manga109": _TestSet("Manga109", ("Manga109", "manga109"), None),
    # BSDS500's 200 test images (EMTCM 4.1, after FSRCNN): a folder of them, or the BSDS500 archive's own layout
    "bsd200": _TestSet("BSD200", ("BSD200", "B200", "bsd200", "BSDS500/data/images/test",
                                  "BSR/BSDS500/data/images/test"), ("bsds500", "bsd200")),
    "div2k-val": _TestSet("DIV2K-val", ("DIV2K_valid_HR", "div2k/DIV2K_valid_HR", "DIV2K/DIV2K_valid_HR"),
                          ("div2k-val", "div2k-val")),
}
_ALIASES = {"b100": "bsd100", "bsds100": "bsd100", "div2k_val": "div2k-val", "div2k-valid": "div2k-val"}
TEST_SETS = tuple(_TEST_SETS)
"""The test sets known by name (``b100`` is ``bsd100``); all but Manga109 are fetched on first use."""


def _test_set_key(spec: str) -> str:
    key = spec.lower()
    return _ALIASES.get(key, key)


def display_name(spec: str) -> str:
    """How a named test set is called in logs and tables (``Set5``, ``BSD100`` ...), whatever its folder."""
    return _TEST_SETS[_test_set_key(spec)].display


def is_test_set_name(spec: str) -> bool:
    """Whether ``spec`` names a test set (``set5``, ``B100`` ...) rather than a folder."""
    return _test_set_key(spec) in _TEST_SETS


def test_set(name: str, root: str | os.PathLike | None = None, download: bool = True) -> Path:
    """The folder of HR images of test set ``name`` (``set5``, ``bsd100`` ...), fetched into the data root
    (``root``, else ``$SR_ZOO_DATA``, else ``~/.cache/sr_zoo``) on first use."""
    if not is_test_set_name(name):
        raise DatasetError(f"unknown test set {name!r}; known: {', '.join(TEST_SETS)}")
    return resolve_benchmark(name, data_root(root), download)


test_set.__test__ = False  # type: ignore[attr-defined]  # not a pytest test, whatever its name


def resolve_benchmark(spec: str, root: Path, download: bool = True) -> Path:
    """A test-set spec (a name of ``TEST_SETS``, ``demo``, ``t91``/``general100`` (a training set held out for
    validation), or a path) to its folder of HR images.

    An existing folder of that name (``Set5`` beside you) is taken as it is. A named set is looked for under
    ``root`` in the layouts people use (``Set5/``, ``benchmark/Set5/``)
    and else fetched from its source (``sr_zoo.data.download``; not with ``download=False`` or
    ``SR_ZOO_OFFLINE``); one that is neither there nor fetchable is a one-line ``DatasetError``.
    """
    key = _test_set_key(spec)
    if key == "demo":
        return demo_folder(root, "val")
    if key in _IMAGE_FOLDER_SOURCES and not Path(spec).expanduser().is_dir():
        return _IMAGE_FOLDER_SOURCES[key](root)
    if key in _TEST_SETS and not Path(spec).expanduser().is_dir():
        known = _TEST_SETS[key]
        found = _first_dir(root, known.folders) or _first_dir(root / "benchmark", known.folders)
        if found is not None:  # EDSR's archive unpacked by hand: benchmark/Set5/HR/ beside LR_bicubic/
            return found / "HR" if (found / "HR").is_dir() else found
        from sr_zoo.data.download import MANUAL_SETS, ensure_dataset

        if known.fetched is None:
            raise DatasetError(f"test set {spec!r}: not found under {root}; "
                               + MANUAL_SETS[key].format(folder=root / known.folders[0]))
        dataset, folder = known.fetched
        try:
            return ensure_dataset(dataset, root, download=download) / folder
        except DatasetError as exc:
            raise DatasetError(f"test set {spec!r}: {exc}") from None
    if key.startswith("folder:"):  # the training sources' spelling of a plain folder
        spec = spec[len("folder:"):]
        if not spec:
            raise DatasetError("benchmark 'folder' needs a path: folder:/path/to/images")
    path = Path(spec).expanduser()
    if not path.exists():
        if key.startswith("folder:"):
            raise DatasetError(f"{path}: benchmark folder not found")
        raise DatasetError(f"{path}: no such directory (nor a test set name: {', '.join(TEST_SETS)})")
    if not path.is_dir():
        raise DatasetError(f"{path}: not a folder (a benchmark set is a folder of HR images)")
    return path
