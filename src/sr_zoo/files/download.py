"""Verified downloads: a URL streamed to a file with a progress bar, its size and SHA-256 checked before
it is published (``sr_zoo.files.atomic``), and the one offline switch, ``SR_ZOO_OFFLINE``.

Datasets (``sr_zoo.data.download``), the VGG16 weights of the perceptual losses and the zoo's
downloadable weights all fetch through :func:`download_file`.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

from tqdm import tqdm

from sr_zoo.errors import SRZooError, WeightsError, one_line, warn_once
from sr_zoo.files.atomic import write_atomically

__all__ = ["NETWORK_ERRORS", "OFFLINE_ENV", "cached_download", "download_file", "file_digest", "network_reason",
           "offline", "sha256_of"]

OFFLINE_ENV = "SR_ZOO_OFFLINE"
"""Environment variable: set to 1/true/yes/on, nothing in the zoo downloads (a missing file is one line)."""

NETWORK_ERRORS = (OSError, http.client.HTTPException)
"""What a failed connection raises (URLError, HTTPError, timeouts, resets): the callers word it."""

CHUNK_SIZE = 1 << 20
TIMEOUT_S = 60.0
USER_AGENT = "sr_zoo-downloader (Python urllib)"


def offline() -> bool:
    """Whether ``SR_ZOO_OFFLINE`` forbids downloading (1, true, yes or on, in any case)."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """The hex digest of a file (``sha256``, ``md5`` ...), read in 1 MiB blocks."""
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK_SIZE), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_of(path: str | os.PathLike) -> str:
    """The SHA-256 of a file, hex."""
    return file_digest(path, "sha256")


def network_reason(exc: BaseException) -> str:
    """A failed connection in a few words: ``HTTP 404 Not Found``, ``[Errno 111] Connection refused``."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return one_line(exc.reason)
    return one_line(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


def _chunks(response: http.client.HTTPResponse) -> Iterator[bytes]:
    """The body in chunks, ending early (not raising) when the server closes the connection before the
    announced Content-Length; the caller compares the byte count."""
    while True:
        try:
            chunk = response.read(CHUNK_SIZE)
        except http.client.IncompleteRead as exc:
            if exc.partial:
                yield exc.partial
            return
        if not chunk:
            return
        yield chunk


def download_file(url: str, dest: Path, sha256: str | None = None, size: int | None = None, progress: bool = True,
                  error: type[SRZooError] = SRZooError, sha256_prefix: bool = False, md5: str | None = None,
                  contents_checked: bool = False) -> Path:
    """Stream ``url`` to ``dest`` (atomically: ``dest`` appears only once complete and verified).

    Args:
        sha256: the expected SHA-256 (hex); ``None`` warns that the file could not be verified.
        size: the expected size in bytes, checked against the server's Content-Length and the bytes received.
        error: the class of the one-line errors for a truncated or mismatching file.
        sha256_prefix: ``sha256`` is only a prefix of the digest (torchvision names files so).
        md5: the expected MD5, for archives whose publishers give only that (checked as well as ``sha256``).
        contents_checked: the caller checks each file it reads from the download (an archive whose
            members have known hashes), so no sha256 is not worth a warning.

    Network failures propagate (one of ``NETWORK_ERRORS``) for the caller to word with what it was fetching.
    """
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})

    def fetch(tmp: str) -> None:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            header = response.headers.get("Content-Length")
            announced = int(header) if header and header.strip().isdigit() else None
            if announced is not None and size is not None and announced != size:
                raise error(f"{url}: the server sends {announced} bytes but {dest.name} should have {size}; "
                            "the file changed upstream or this is the wrong URL")
            expected = announced if announced is not None else size
            digest, md5_digest, received = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
            bar = tqdm(total=expected, desc=dest.name, unit="B", unit_scale=True, unit_divisor=1024,
                       disable=None if progress else True, leave=False)
            with bar, open(tmp, "wb") as out:
                for chunk in _chunks(response):
                    out.write(chunk)
                    digest.update(chunk)
                    md5_digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        if expected is not None and received != expected:
            raise error(f"{url}: download truncated: received {received} of {expected} bytes; try again")
        actual = digest.hexdigest()
        want = None if sha256 is None else sha256.lower()
        if want is not None and not (actual.startswith(want) if sha256_prefix else actual == want):
            raise error(f"{url}: sha256 mismatch: expected {want}{'...' if sha256_prefix else ''}, got {actual}; "
                        "the download is corrupt or the file changed upstream")
        if md5 is not None and md5_digest.hexdigest() != md5.lower():
            raise error(f"{url}: md5 mismatch: expected {md5.lower()}, got {md5_digest.hexdigest()}; "
                        "the download is corrupt or the file changed upstream")
        if want is None and md5 is None and not contents_checked:
            checked = f"only its size ({received} bytes) was checked" if size is not None else "nothing was checked"
            warn_once(f"{dest.name} could not be verified: no known sha256 ({checked}); its sha256 is {actual}")

    dest.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(dest, fetch)
    return dest


def cached_download(url: str, what: str, sha256: str | None = None, contents_checked: bool = False) -> Path:
    """The torch-cache path (``$TORCH_HOME/hub/checkpoints``) of ``url``'s file, fetched and checked first
    if absent, unless offline; one ``WeightsError`` line saying which file is expected where.

    Without ``sha256``, torchvision's naming convention gives a prefix (``vgg16-397923af.pth``);
    ``contents_checked``: the caller checks what it reads from the file (``download_file``)."""
    import torch

    name = url.rsplit("/", 1)[-1]
    path = Path(torch.hub.get_dir()) / "checkpoints" / name
    if path.is_file():
        return path
    hint = f"download {url} to {path} (or point TORCH_HOME at a folder holding hub/checkpoints/{name})"
    if offline():
        raise WeightsError(f"{path}: {what} not found and {OFFLINE_ENV}=1 forbids downloading; {hint}")
    prefix = re.search(r"-([a-f0-9]{8,})\.", name) if sha256 is None else None
    try:
        download_file(url, path, sha256 or (prefix.group(1) if prefix else None), error=WeightsError,
                      sha256_prefix=sha256 is None, contents_checked=contents_checked)
    except (WeightsError, *NETWORK_ERRORS) as exc:
        reason = str(exc) if isinstance(exc, WeightsError) else network_reason(exc)
        raise WeightsError(f"{path}: {what} not found and the download failed ({reason}); {hint}") from None
    return path
