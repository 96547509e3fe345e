"""Archives built in memory, in the layouts the dataset sources publish, for the download tests."""

from __future__ import annotations

import io
import tarfile
import zipfile


def make_zip(members: dict[str, bytes]) -> bytes:
    """A zip holding ``members`` (path inside the archive -> bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def make_tar(members: dict[str, bytes], mode: str = "w") -> bytes:
    """A tar (``mode="w:gz"``: a .tgz) holding ``members``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def make_tgz(members: dict[str, bytes]) -> bytes:
    return make_tar(members, "w:gz")
