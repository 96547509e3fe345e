"""Adding a model is adding a folder (issue 29): a copy of one paper's folder under a new name, in a copy of the
package, is found by the registry, built by ``create_model``, listed by ``sr-zoo models`` and picked up by the
parametrised model tests, with no list edited anywhere else."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.paths import REPO


@pytest.fixture(scope="module")
def package_with_a_new_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``src/`` with ``sr_zoo`` copied and ``models/fsrcnn/`` copied to ``models/tinysr/``, renamed inside."""
    src = tmp_path_factory.mktemp("tree") / "src"
    shutil.copytree(REPO / "src" / "sr_zoo", src / "sr_zoo", ignore=shutil.ignore_patterns("__pycache__", "*.ckpt"))
    folder = src / "sr_zoo" / "models" / "tinysr"
    shutil.copytree(src / "sr_zoo" / "models" / "fsrcnn", folder)
    for file in [*folder.glob("*.py"), folder / "published.json"]:
        text = file.read_text().replace('"fsrcnn"', '"tinysr"').replace("models.fsrcnn.", "models.tinysr.")
        file.write_text(text.replace("FSRCNN", "TinySR"))
    return src


def _run(src: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(REPO / "tests")])}
    done = subprocess.run([sys.executable, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def test_the_registry_builds_the_new_model(package_with_a_new_model: Path) -> None:
    code = ("import sr_zoo, sr_zoo.models as m; from pathlib import Path; "
            "assert Path(sr_zoo.__file__).is_relative_to(Path(r'%s')), sr_zoo.__file__; "
            "assert 'tinysr' in m.list_models() and 'fsrcnn' in m.list_models(); "
            "net = m.create_model('tinysr', 3); assert type(net) is m.TinySR and net.model_name == 'tinysr'; "
            "assert sum(p.numel() for p in net.net.parameters()) == m.model_info('tinysr').parameters[3]; "
            "print(type(net).__module__)") % package_with_a_new_model
    assert _run(package_with_a_new_model, "-c", code).strip() == "sr_zoo.models.tinysr.model"


def test_sr_zoo_models_lists_it(package_with_a_new_model: Path) -> None:
    listing = _run(package_with_a_new_model, "-m", "sr_zoo", "models")
    row = next(line for line in listing.splitlines() if line.split()[:1] == ["tinysr"])
    assert "x3: 12,809" in row  # its spec's parameter count, as FSRCNN's


def test_the_parametrised_model_tests_run_it(package_with_a_new_model: Path) -> None:
    out = _run(package_with_a_new_model, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "-k", "tinysr",
               "tests/models/test_models.py", "tests/inference/test_export.py")
    passed = [line for line in out.splitlines() if line.startswith("PASSED ") and "tinysr" in line]
    assert len(passed) >= 3 and "failed" not in out, out[-3000:]
