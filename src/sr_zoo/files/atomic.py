"""Publishing files and folders atomically: a reader sees the old version or the whole new one, never half.

A file is written to a hidden temporary file beside its target and renamed over it; a folder is built in
a temporary folder and renamed into place under an inter-process lock, so concurrent first uses build it
once. Stop signals wait until the rename (``sr_zoo.interrupts.deferred_signals``), failures leave no
temporary file or folder, and results get the permissions a plain ``open``/``mkdir`` would give.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator

from sr_zoo.errors import SRZooError
from sr_zoo.interrupts import deferred_signals

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; concurrent first use is then not guarded
    fcntl = None  # type: ignore[assignment]

__all__ = ["file_lock", "make_temp_dir", "os_error", "publish_folder", "write_atomically"]


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created if needed) for the ``with`` block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        if fcntl is not None:
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fh, fcntl.LOCK_UN)


def make_temp_dir(parent: Path, prefix: str) -> Path:
    """A new empty folder in ``parent`` with the mode a plain ``mkdir`` would give it (not 0700)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(tmp, 0o777 & ~_umask())
    return tmp


def os_error(exc: BaseException | None) -> OSError | None:
    """The ``OSError`` behind ``exc`` (itself or a cause), e.g. a full disk that torch's zip writer
    reports as a ``RuntimeError``; None if there is none."""
    while exc is not None:
        if isinstance(exc, OSError):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def write_atomically(path: str | os.PathLike, write: Callable[[str], None],
                     error: Callable[[str], SRZooError] | None = None) -> None:
    """``write(temporary path)`` beside ``path``, flushed to disk, then renamed over ``path``.

    Args:
        path: the file to publish; an earlier file of that name stays as it was if anything fails.
        write: writes the whole content to the path it is given.
        error: the one-line error for an operating-system failure (full disk, no permission), given its
            reason; ``None`` re-raises the ``OSError``.
    """
    path = Path(path)
    with deferred_signals(path):
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix or ".tmp", dir=path.parent)
        os.close(fd)
        try:
            write(tmp)
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600
            os.replace(tmp, path)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            cause = os_error(exc)
            if cause is not None and error is not None:
                raise error(str(cause.strerror or cause)) from None
            raise


def publish_folder(target: Path, build: Callable[[Path], None], complete: Callable[[], bool],
                   lock: Path | None = None) -> bool:
    """Build ``target`` once, atomically: under ``lock``, unless ``complete()``, ``build(tmp)`` fills a
    temporary folder beside ``target`` which then replaces it (an incomplete ``target`` is moved aside
    first). Returns whether an incomplete folder was replaced."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(lock or target.parent / f".{target.name}.lock"):
        if complete():  # another process finished it while we waited
            return False
        for pattern in (f".{target.name}.tmp-*", f".{target.name}.old-*"):  # left by killed attempts
            for leftover in target.parent.glob(pattern):
                shutil.rmtree(leftover, ignore_errors=True)
        tmp = make_temp_dir(target.parent, f".{target.name}.tmp-")
        try:
            build(tmp)
            with deferred_signals(target):
                if not (target.exists() or target.is_symlink()):
                    os.replace(tmp, target)
                    return False
                old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
                os.replace(target, old / target.name)
                os.replace(tmp, target)
                shutil.rmtree(old, ignore_errors=True)
                return True
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
