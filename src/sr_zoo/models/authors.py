"""The SRCNN and FSRCNN authors' own weights by name: ``create_model("fsrcnn", 3, pretrained="authors")``,
``--weights authors``.

Each is a member of the archive the authors publish with their MATLAB test code on their project page
(``SRCNN_v1.zip``, ``FSRCNN_test.zip``), fetched once into the torch cache and read from it: the member is
checked against the sha256 below (of the files as released) every time it is read, then converted
(``sr_zoo.models.convert``, a few milliseconds). Offline, a missing archive is one line saying where to put it.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sr_zoo.errors import SRZooError, WeightsError
from sr_zoo.files.download import cached_download

__all__ = ["AUTHORS", "AUTHORS_MODELS", "AuthorsWeights", "authors_scales", "load_authors"]

SRCNN_ARCHIVE = "http://mmlab.ie.cuhk.edu.hk/projects/SRCNN/SRCNN_v1.zip"
FSRCNN_ARCHIVE = "http://mmlab.ie.cuhk.edu.hk/projects/FSRCNN/FSRCNN_test.zip"


@dataclass(frozen=True)
class AuthorsWeights:
    """One released weight file: the archive it comes in, its path there and its sha256 (what the authors
    published for it is in its paper folder's ``published.json``, table "the authors' released weights")."""

    model: str
    scale: int
    archive: str
    member: str
    sha256: str
    what: str


def _srcnn(scale: int, sha256: str) -> AuthorsWeights:
    return AuthorsWeights("srcnn", scale, SRCNN_ARCHIVE, f"model/9-1-5(91 images)/x{scale}.mat", sha256,
                          "SRCNN 9-1-5 trained on the 91 images")


def _fsrcnn(scale: int, sha256: str) -> AuthorsWeights:
    return AuthorsWeights("fsrcnn", scale, FSRCNN_ARCHIVE, f"model/FSRCNN/x{scale}.mat", sha256,
                          "FSRCNN (56, 12, 4) trained on 91 images + General-100")


AUTHORS: dict[tuple[str, int], AuthorsWeights] = {(w.model, w.scale): w for w in (
    _srcnn(2, "51b748297e8669832a4ad27cc4b7eebc6d65d37a77bcb19bef23c1b5f972ea12"),
    _srcnn(3, "ef05325a96221ab9399db844bc833f687796a1078bfa6aacc6930bde60ca5b10"),
    _srcnn(4, "717c2c6f5196a95959f98953f84a359e56fc415eba190b5db016b25896e74862"),
    _fsrcnn(2, "1d00d037c4eae56d898e1a1e62b736eb11bb2ec112b2fd29d7ead0bff5e4e8b5"),
    _fsrcnn(3, "9cbd62ce9cb8d0236d21c7b1311b1ee7f53ff227fd4a5ea62ddaf347870a80a0"),
    _fsrcnn(4, "af005f2ba6e90ef45f1807045c3f78132e15b57d9056e4691c79e34863dbdd4f"),
)}
"""The released files by (model, scale); the hashes are those of the files in the authors' archives."""

AUTHORS_MODELS = ("srcnn", "fsrcnn")
"""The zoo models whose authors' ``.mat`` files ``sr_zoo.models.convert`` reads (any variant, not only these files)."""


def authors_scales(name: str) -> list[int]:
    """The scales at which the authors' weights of ``name`` can be loaded by name."""
    return sorted(scale for model, scale in AUTHORS if model == name)


def _member(archive: Path, entry: AuthorsWeights) -> bytes:
    """The bytes of ``entry.member`` (under any top folder) in ``archive``, checked against its sha256."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            names = [n for n in zipped.namelist() if n == entry.member or n.endswith("/" + entry.member)]
            if not names:
                raise WeightsError(f"{archive}: holds no {entry.member} (is it the authors' "
                                   f"{Path(entry.archive).name}?)")
            data = zipped.read(names[0])
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise WeightsError(f"{archive}: not a readable zip archive ({exc}); delete it to fetch it again") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != entry.sha256:
        raise WeightsError(f"{archive}: {entry.member} has sha256 {actual[:12]}..., not the released file's "
                           f"{entry.sha256[:12]}...; delete the archive to fetch it again")
    return data


def load_authors(name: str, scale: int) -> dict[str, Any]:
    """The zoo checkpoint of the authors' ``name`` x``scale`` weights (fetched, checked, converted); one line
    if they released none or the archive is missing offline, damaged or changed."""
    from sr_zoo.models.convert import convert_mat

    entry = AUTHORS.get((name, int(scale)))
    if entry is None:
        have = ", ".join(f"{m} x{s}" for m, s in AUTHORS)
        raise SRZooError(f"no authors' weights for {name} x{scale} (there are: {have})")
    label = f"the {name.upper()} authors' weights ({Path(entry.archive).name})"
    archive = cached_download(entry.archive, label, contents_checked=True)
    return convert_mat(_member(archive, entry), name, int(scale), name=f"{archive.name}:{entry.member}")
