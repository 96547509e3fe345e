"""The README's Python snippets and its first shell commands run as written, in order, offline, on a data root
holding only the test sets a first use fetches (here the project's copies stand in, since tests never download)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
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


@pytest.mark.slow
def test_the_readme_first_commands_run_as_written_offline(tmp_path: Path) -> None:
    """A newcomer's first hour as the README orders it (the ``sr-zoo`` lines between "Install and test" and
    "Commands"), each run as written by bash in a fresh folder with a fresh HOME, no network (``SR_ZOO_OFFLINE``) and
    no W&B account, then the demo's own printed resume line. Set5 and Set14 sit in the user's cache as a first use
    leaves them (the download is tested against 127.0.0.1: tests/data/test_download.py; shipping Set5 in the package
    would copy the project's shared images into the repository, which the project's rules forbid)."""
    import cv2

    home = tmp_path / "home"
    cache = home / ".cache" / "sr_zoo"
    for name in ("Set5", "Set14"):
        shutil.copytree(shared_set(name), cache / name)
    butterfly = cache / "sr-benchmark" / "set5" / "butterfly.png"  # where the download puts it (compare's line)
    butterfly.parent.mkdir(parents=True)
    cv2.imwrite(str(butterfly), cv2.imread(str(cache / "Set5" / "butterfly.bmp")))
    (tmp_path / "photos").mkdir()
    for name in ("baby", "head"):  # a user's photos
        cv2.imwrite(str(tmp_path / "photos" / f"{name}.png"), cv2.imread(str(cache / "Set5" / f"{name}.bmp")))
    readme = (REPO / "README.md").read_text()
    start = readme.index("## Install and test")
    blocks = re.findall(r"```bash\n(.*?)```", readme[start:readme.index("## Commands", start)], flags=re.S)
    commands = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()
                if line.startswith("sr-zoo ")]
    assert [c.split()[1] for c in commands] == ["benchmark", "upscale", "fit", "compare"], commands
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB", "SR_ZOO", "TORCH_HOME"))}
    env.update(HOME=str(home), SR_ZOO_OFFLINE="1", PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}")

    def run(command: str) -> str:
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=900)
        assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
        return done.stdout

    outputs = [run(command) for command in commands]
    bicubic = re.findall(r"Set5 x(\d): measured [\d.]+ / [\d.]+, paper .*?: ([+-][\d.]+) dB", outputs[0])
    assert sorted(scale for scale, _ in bicubic) == ["2", "3", "4", "8"], outputs[0]
    assert all(abs(float(difference)) <= 0.03 for _, difference in bicubic), bicubic
    assert sorted(p.name for p in (tmp_path / "photos_x3").iterdir()) == ["baby.png", "head.png"]
    for name in ("baby", "head"):
        source, result = (cv2.imread(str(tmp_path / d / f"{name}.png")) for d in ("photos", "photos_x3"))
        assert result.shape == (source.shape[0] * 3, source.shape[1] * 3, 3)
    assert (tmp_path / "butterfly.png").is_file()
    resume = re.search(r"  resume:  (sr-zoo fit .*)", outputs[2])
    assert resume is not None, outputs[2]
    steps = int(re.search(r"([\d,]+) optimizer steps", outputs[2])[1].replace(",", ""))
    again = run(resume[1])
    assert int(re.search(r"([\d,]+) optimizer steps", again)[1].replace(",", "")) > steps, again
    assert shlex.split(resume[1])[:3] == ["sr-zoo", "fit", "--config"]
