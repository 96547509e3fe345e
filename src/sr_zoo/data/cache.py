"""First-use caches shared by processes: an inter-process lock and temporary folders to publish.

Each cache folder (the ``demo`` photos, an unpacked dataset) is built in a temporary folder beside its
target and renamed into place under a lock, so concurrent first uses build it once, never see half of
it, leave no temporary folder behind, and get the usual permissions (``mkdtemp`` makes 0700).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; concurrent first use is then not guarded
    fcntl = None  # type: ignore[assignment]

__all__ = ["file_lock", "make_temp_dir"]


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
    """A new empty folder in ``parent`` with the mode a plain ``mkdir`` would give it."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)
    return tmp
