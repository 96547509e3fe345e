"""Every relative link and picture in the repository's Markdown (README, docs, model cards, run notes) points at
a file or folder that exists: the docs moved into a folder per paper, and a broken link is a dead end."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")  # [text](target) and ![alt](target), anchors dropped


def markdown_files() -> list[Path]:
    skip = {".git", ".venv", "venv", "build", "dist", ".pytest_cache"}  # not the repository's own pages
    return sorted(p for p in REPO.rglob("*.md")
                  if not skip & set(p.relative_to(REPO).parts) and ".egg-info" not in str(p))


def test_relative_links_resolve() -> None:
    broken = []
    for md in markdown_files():
        for target in LINK.findall(md.read_text(encoding="utf-8")):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            if not (md.parent / target).exists():
                broken.append(f"{md.relative_to(REPO)}: {target}")
    assert len(markdown_files()) > 10
    assert not broken, "broken links:\n" + "\n".join(broken)
