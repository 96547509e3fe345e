"""A stand-in for the Hugging Face Hub on 127.0.0.1: ``{endpoint}/{owner}/{name}/resolve/{revision}/{file}``
served from ``folder/owner/name/resolve/revision/file``, with the headers huggingface_hub's downloader reads
from its HEAD request (``X-Repo-Commit``, ``ETag``; ``X-Error-Code`` on a 404, as the Hub says what is
missing), and a log of the requests."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator


class _HubHandler(SimpleHTTPRequestHandler):
    requests: list[str]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def send_head(self):  # noqa: ANN201 - http.server API
        self.requests.append(f"{self.command} {self.path}")
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            revision = path.parent
            missing = ("EntryNotFound" if revision.is_dir() else
                       "RevisionNotFound" if revision.parent.parent.is_dir() else "RepoNotFound")
            self.send_response(404)
            self.send_header("X-Error-Code", missing)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        return super().send_head()

    def end_headers(self) -> None:
        path = Path(self.translate_path(self.path))
        if path.is_file():  # the commit of a revision: fixed per repository and revision, as on the Hub
            revision_url = self.path.split("/resolve/")[0] + "@" + self.path.split("/resolve/")[1].split("/")[0]
            self.send_header("X-Repo-Commit", hashlib.sha1(revision_url.encode()).hexdigest())
            self.send_header("ETag", f'"{hashlib.sha256(path.read_bytes()).hexdigest()}"')
        super().end_headers()


@contextlib.contextmanager
def hub_stand_in(folder: Path) -> Iterator[tuple[str, list[str]]]:
    """``(endpoint URL, request log)`` of a server on 127.0.0.1 answering as the Hub does for ``folder``."""
    log: list[str] = []
    handler = type("Handler", (_HubHandler,), {"requests": log})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", log
    finally:
        httpd.shutdown()
        httpd.server_close()


def publish(folder: Path, repo: str, files: Path, revision: str = "main") -> None:
    """Put the files of the folder ``files`` in the stand-in's repository ``repo`` at ``revision``."""
    target = folder / repo / "resolve" / revision
    target.mkdir(parents=True, exist_ok=True)
    for path in files.iterdir():
        if path.is_file():
            (target / path.name).write_bytes(path.read_bytes())
