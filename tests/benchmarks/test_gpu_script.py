"""benchmarks/gpu/run.sh, the script of a GPU lease: its dry run (every step at toy size on this CPU, offline,
on stand-ins made from scikit-image's photos) runs each step and writes what the step measures; a failing
step is recorded and the later steps still run; a step the time limit leaves no room for is skipped."""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import torch

from helpers.paths import REPO, load_benchmark_file

SCRIPT = REPO / "benchmarks" / "gpu" / "run.sh"
STEPS = ["install", "data", "cuda_tests", "table6", "srseg", "train_emtcm_x3", "train_srcnn_x3", "train_fsrcnn_x3",
         "export", "score", "roofline", "lightning_overhead", "csrcnn_x2"]
# Parameter counts, in thousands, from the CSRCNN card's table (src/sr_zoo/models/csrcnn/README.md): default 6/4/2,
# symmetric 4/4/4, Table VI's network.
CSRCNN_K = {(2, "asymmetric"): 1965, (4, "asymmetric"): 3402, (8, "asymmetric"): 4368,
            (2, "symmetric"): 1476, (4, "symmetric"): 2914, (8, "symmetric"): 4352,
            (2, "table6"): 1550, (4, "table6"): 3062, (8, "table6"): 4573}
PARAMETERS = {"emtcm_x3": 19_409, "srcnn_x3": 8_129, "fsrcnn_x3": 12_809}  # README's `sr-zoo models` table


def _dry_run(out: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    # As a user starts it: run.sh itself turns W&B and downloads off (none of the suite's settings passed on).
    environment = {k: v for k, v in os.environ.items() if k not in ("OUT", "WANDB_MODE", "SR_ZOO_OFFLINE")}
    environment.update(env)
    return subprocess.run(["bash", str(SCRIPT), "--dry-run", *args, str(out)], env=environment, capture_output=True,
                          text=True, timeout=1200)


def _statuses(out: Path) -> dict[str, str]:
    return {s["name"]: s["status"] for s in json.loads((out / "summary.json").read_text())["steps"]}


def _log(out: Path, step: str) -> str:
    return (out / "run" / "logs" / f"{step}.log").read_text()


@pytest.mark.slow  # about 100 s of CPU: each step is a fresh Python that imports torch and Lightning
def test_dry_run_runs_every_step_and_writes_what_it_measures(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _dry_run(out)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    statuses = _statuses(out)
    assert list(statuses) == STEPS
    for name, status in statuses.items():
        assert status == "ok", (name, status, _log(out, name)[-3000:])
    run = out / "run"

    # The CUDA tests: test_cuda_paths.py's six and the four (today) that skip elsewhere without CUDA, all
    # skipped on this CPU, none failed.
    cases = list(ET.parse(run / "cuda_tests.xml").getroot().iter("testcase"))
    assert sum(c.get("classname") == "tests.test_cuda_paths" for c in cases) == 6 and len(cases) >= 10
    assert all(c.find("skipped") is not None for c in cases)

    # Table VI: nine networks with the documented parameter counts, beside the paper's figures.
    table6 = json.loads((run / "table6.json").read_text())
    rows = {(r["scale"], r["variant"]): r for r in table6["rows"]}
    assert {k: round(r["params"] / 1000) for k, r in rows.items()} == CSRCNN_K
    assert all(r["ms"] > 0 for r in rows.values())
    assert table6["paper"]["x2"] == {"params_k": 1549, "mb": 1043, "ms": 6.123}
    assert table6["paper"]["x8"] == {"params_k": 4568, "mb": 3783, "ms": 20.083}

    srseg = json.loads((run / "srseg.json").read_text())
    width, height = srseg["inference"]["input"]
    assert srseg["inference"]["output"] == [4 * width, 4 * height] and srseg["inference"]["paper_fps"] == 20.24
    assert min(srseg["inference"]["fps"].values()) > 0 and srseg["training"]["ratio"] > 0

    # The exported weights: their sha256, their parameters, the steps trained, and the scores sr-zoo benchmark
    # gives for the same checkpoint.
    manifest = json.loads((run / "weights" / "manifest.json").read_text())
    assert sorted(manifest) == sorted(PARAMETERS)
    for key, entry in manifest.items():
        data = (run / "weights" / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        state = torch.load(run / "weights" / entry["file"], weights_only=True)["state_dict"]
        assert sum(v.numel() for v in state.values()) == entry["parameters"] == PARAMETERS[key]
        assert entry["iterations"] == 3  # the dry run's --trainer.max_steps
        assert "benchmarks/train_pretrained.sh" in entry["command"]
        assert all(0 < entry["scores"][s]["psnr"] < 60 for s in ("Set5", "Set14"))
    scored = {}
    for line in (run / "scores" / "emtcm_x3.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == "emtcm":
            scored[cells[1]] = float(cells[3])
    assert {s: round(p, 2) for s, p in scored.items()} == {s: manifest["emtcm_x3"]["scores"][s]["psnr"]
                                                           for s in ("Set5", "Set14")}

    # CSRCNN x2: a loss per step, validation PSNRs, and a checkpoint of the zoo's model that resumes.
    metrics = (run / "csrcnn_x2" / "csrcnn_x2" / "run" / "metrics.csv").read_text().splitlines()
    header = metrics[0].split(",")
    losses = [row.split(",")[header.index("train/loss")] for row in metrics[1:]]
    assert len([v for v in losses if v and math.isfinite(float(v))]) == 2
    ckpt = run / "csrcnn_x2" / "csrcnn_x2" / "run" / "checkpoints" / "last.ckpt"
    saved = torch.load(ckpt, map_location="cpu", weights_only=True)
    assert saved["sr_zoo"] == {"model": "csrcnn", "scale": 2} and saved["global_step"] == 2
    summary = json.loads((out / "summary.json").read_text())
    assert summary["results"]["csrcnn_x2"]["checkpoints"][0]["sha256"] == hashlib.sha256(ckpt.read_bytes()).hexdigest()
    assert len(summary["results"]["csrcnn_x2"]["val"]) == 2  # --trainer.val_check_interval 1, two steps

    # The archive holds every file of the run but the checkpoints; summary.md names each step.
    files = {str(p.relative_to(out)) for p in run.rglob("*") if p.is_file() and p.suffix != ".ckpt"}
    with tarfile.open(out / "results.tar.gz") as archive:
        assert {m.name for m in archive.getmembers() if m.isfile()} == files
    text = (out / "summary.md").read_text()
    assert all(f"| {name} | {statuses[name]} |" in text for name in STEPS)


def test_a_failing_step_is_recorded_and_the_later_steps_still_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _dry_run(out, "--only", "export,score")  # nothing trained: both fail
    assert proc.returncode == 1
    assert _statuses(out) == {"install": "ok", "data": "ok", "export": "failed", "score": "failed"}
    assert "no trained model to score" in _log(out, "score")
    assert "run/pretrained: no such folder" in _log(out, "export")
    assert "| export | failed |" in (out / "summary.md").read_text()
    assert (out / "results.tar.gz").stat().st_size > 0


def test_a_step_without_time_left_is_skipped_and_reported(tmp_path: Path) -> None:
    out = tmp_path / "out"
    # 25 s in all, 20 kept for the summary: less than the 10 s a step needs (install and data always run).
    proc = _dry_run(out, "--only", "roofline", SR_ZOO_GPU_TOTAL_S="25")
    assert proc.returncode == 1
    assert _statuses(out) == {"install": "ok", "data": "ok", "roofline": "skipped"}
    assert not (out / "run" / "logs" / "roofline.log").exists()


def test_a_summary_table_keeps_a_column_the_first_row_leaves_empty() -> None:
    """summarize.py's table of a benchmark's rows: a skip's reason is a column even when the first row has none."""
    summarize = load_benchmark_file(REPO / "benchmarks" / "gpu" / "summarize.py")
    rows = [{"model": "bicubic", "ms": 2.5, "reason": None},
            {"model": "csrcnn", "ms": None, "reason": "compile: no C++ compiler"}]
    assert summarize._generic({"rows": rows}) == [
        "| model | ms | reason |", "|---|---|---|",
        "| bicubic | 2.5 |  |", "| csrcnn |  | compile: no C++ compiler |"]
