"""Where the commands write: never over an input, and checked before any model runs.

An output path that resolves (symlinks, ``..``, hard links) to an input file is refused, and so is an
output folder that is an input's own folder where a file of the output's name already exists beside
the inputs: either would replace a photo with a derived image. Output files are written atomically
(temporary file, rename), so a full disk leaves the previous file, or none, never half an image.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable, Iterable

from sr_zoo.errors import SRZooError
from sr_zoo.files.atomic import write_atomically as publish_atomically

__all__ = ["check_output_file", "refuse_overwriting_inputs", "write_atomically"]


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _resolved(path: Path) -> Path:
    """``path.resolve()``, or the path as given where it cannot be resolved (a symlink loop: Python 3.11's
    ``resolve`` raises ``RuntimeError``; reading the file later says what is wrong with it)."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):
        return path.absolute()


def refuse_overwriting_inputs(targets: Iterable[Path], inputs: Iterable[Path], flag: str, output: Path,
                              beside: bool = True) -> None:
    """One ``SRZooError`` line if writing ``targets`` would replace one of ``inputs`` (or, with ``beside``, a
    file beside them when ``output`` is an input's own folder: a folder of results written among photos).
    Every command that writes files checks its outputs here before any work."""
    inputs = list(inputs)
    by_path = {_resolved(p): p for p in inputs}
    by_inode = {key: p for p in inputs if (key := _inode(p)) is not None}
    folders = {_resolved(p).parent for p in inputs}
    for target in targets:
        hit = by_path.get(_resolved(target))
        if hit is None and target.exists():
            hit = by_inode.get(_inode(target))
        if hit is not None:
            raise SRZooError(f"{flag} {output}: would overwrite the input {hit} (it is {target}); "
                             "write the results to another folder")
        if beside and _resolved(target).parent in folders and target.exists():
            raise SRZooError(f"{flag} {output}: is the inputs' own folder and {target.name} already exists there "
                             "(it would be replaced); write the results to another folder")


def check_output_file(path: Path, flag: str) -> None:
    """``path`` can be created or replaced: not a folder, its folder creatable and writable; one line."""
    if path.is_dir():
        raise SRZooError(f"{flag} {path}: is a folder; name the file to write (e.g. {path / 'figure.png'})")
    blocker = next((a for a in path.parents if a.exists() and not a.is_dir()), None)
    if blocker is not None:
        raise SRZooError(f"{flag} {path}: cannot write there ({blocker} is a file, not a folder)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as exc:
        raise SRZooError(f"{flag} {path}: cannot write there ({exc.strerror or exc})") from None


def write_atomically(path: Path, write: Callable[[str], None], flag: str) -> None:
    """``sr_zoo.files.atomic.write_atomically`` with the command's one-line error for ``flag``."""
    publish_atomically(path, write, lambda reason: SRZooError(
        f"{flag} {path}: not written ({reason}); an earlier file of that name is unchanged"))
