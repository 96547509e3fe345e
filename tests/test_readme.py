"""The README's Python snippets run as written, in order, on a data root holding only Set5 (a user's
first `test_set("set5")` fetches it; here the project's copy stands in, since tests never download)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from helpers.paths import REPO, shared_set


def test_readme_python_snippets_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    snippets = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)
    assert len(snippets) >= 2
    shutil.copytree(shared_set("Set5"), tmp_path / "data" / "Set5")  # a local copy wins over a download
    monkeypatch.setenv("SR_ZOO_DATA", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for snippet in snippets:
        exec(compile(snippet, "README.md", "exec"), namespace)  # noqa: S102 - the README's own code
    out = capsys.readouterr().out
    assert "emtcm" in out and "Set5" in out
    assert tuple(namespace["sr"].shape[-2:]) == tuple(namespace["hr"].shape[-2:])


def test_the_readmes_models_block_is_the_commands_output() -> None:
    """The README's ``$ sr-zoo models`` block is what the command prints (the shipped weights' Set5 scores
    included), so a new shipped file or model cannot leave it stale."""
    import subprocess
    import sys

    block = re.search(r"```text\n\$ sr-zoo models\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    assert block is not None
    out = subprocess.run([sys.executable, "-m", "sr_zoo", "models"], capture_output=True, text=True, check=True,
                         timeout=120).stdout
    assert block.group(1) == out
