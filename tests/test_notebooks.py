"""The notebooks are stored without outputs and run top to bottom on a CPU (their code cells executed in
order in one namespace, from the notebooks folder, as a kernel would)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.paths import REPO

NOTEBOOKS = REPO / "notebooks"


def test_quickstart_is_stored_without_outputs() -> None:
    notebook = json.loads((NOTEBOOKS / "quickstart.ipynb").read_text())
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)


def test_quickstart_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(NOTEBOOKS)
    monkeypatch.setenv("SR_ZOO_DATA", str(tmp_path / "data"))
    notebook = json.loads((NOTEBOOKS / "quickstart.ipynb").read_text())
    namespace: dict = {"__name__": "__main__"}
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), f"quickstart.ipynb#{cell['id']}", "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    assert "emtcm" in namespace["list_models"]()
    # The shipped EMTCM beats bicubic on the image, and the figure holds both panels.
    assert namespace["panels"][1].psnr > namespace["panels"][0].psnr
    assert {"overview", "HR", "bicubic", "emtcm"} <= set(namespace["layout"])
    assert "val/psnr" in out and namespace["trainer"].global_step == 4


def test_evaluation_convention_runs_on_a_fetched_set5(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture) -> None:
    """Its ``test_set("set5")`` finds the data root's copy (tests never download; a user's first run fetches)."""
    import shutil

    from helpers.paths import shared_set

    shutil.copytree(shared_set("Set5"), tmp_path / "data" / "Set5")
    monkeypatch.setenv("SR_ZOO_DATA", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # it writes its figures beside it
    notebook = json.loads((NOTEBOOKS / "01_evaluation_convention.ipynb").read_text())
    namespace: dict = {"__name__": "__main__"}
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            exec(compile(source, f"01_evaluation_convention.ipynb#{cell['id']}", "exec"), namespace)  # noqa: S102
    assert [round(r.psnr, 2) for r in namespace["results"]] == [33.68, 30.40, 28.43, 24.40]  # docs/evaluation.md
    assert (tmp_path / "compare.png").is_file() and (tmp_path / "border_difference.png").is_file()
