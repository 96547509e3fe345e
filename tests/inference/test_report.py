"""Benchmark reports: the published tables shipped as package data, and the formats a user loads."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from helpers.paths import PUBLISHED, REPO
from helpers.published import published_bicubic
from sr_zoo.cli import main
from sr_zoo.files.images import write_image
from sr_zoo.inference.report import published, published_for


def test_the_shipped_table_agrees_with_the_reference_and_the_papers() -> None:
    if not PUBLISHED.is_file():
        pytest.skip(f"published numbers not available: {PUBLISHED} is absent")
    for (test, scale), (psnr, ssim) in published_bicubic().items():
        (row,) = published_for("bicubic", test, scale)
        assert (row.psnr, row.ssim) == (psnr, ssim)
    # Values read off the papers' tables (CSRCNN Table V; EMTCM Tables 2 and 4; MSFM GAN Table 2).
    (csrcnn,) = published_for("csrcnn", "Set14", 4)
    assert (csrcnn.psnr, csrcnn.ssim, csrcnn.table) == (28.87, 0.789, "Table V")
    assert {r.train: r.psnr for r in published_for("emtcm", "Set5", 3)} == {"T91": 33.73, "T91 + General-100": 33.30}
    assert [r.psnr for r in published_for("msfmgan", "Set5", 4)] == [30.81, 29.67]
    assert published_for("emtcm+", "Set5", 3) == published_for("emtcm", "Set5", 3)  # self-ensemble: the same rows
    assert len({(r.model, r.train, r.test, r.scale) for r in published()}) == len(published())


def _set(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    import torch

    for i, size in enumerate((48, 40)):
        write_image(folder / f"im{i}.png", torch.from_numpy(rng.random((3, size, size + 8), dtype=np.float32)))
    return folder


def test_formats_carry_the_same_numbers_per_set_and_per_image(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    folder = _set(tmp_path / "Set5")  # named Set5: the bicubic row of the paper is put beside it
    base = ["benchmark", "--model", "bicubic", "--scale", "2", "--data", str(folder)]
    assert main(base + ["--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["results"]
    assert row["paper_psnr"] == 33.66 and row["psnr_diff"] == round(row["psnr"] - 33.66, 2)
    assert main(base + ["--format", "csv"]) == 0
    (csv_row,) = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert float(csv_row["psnr"]) == row["psnr"] and csv_row["paper_source"] == "community baseline bicubic rows"
    assert main(base + ["--format", "json", "--per-image"]) == 0
    images = json.loads(capsys.readouterr().out)["results"]
    assert [r["image"] for r in images] == ["im0", "im1"]
    assert np.mean([r["psnr"] for r in images]) == pytest.approx(row["psnr"], abs=2e-4)  # the set is their mean
    assert main(base + ["--format", "markdown", "--per-image"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [c.strip() for c in lines[0].split("|")[1:-1]] == ["model", "dataset", "scale", "image", "psnr", "ssim"]
    assert len(lines) == 4
    assert main(base) == 0
    assert f"Set5 x2: measured {row['psnr']:.2f} / {row['ssim']:.4f}, paper 33.66 / 0.9299" in capsys.readouterr().out


def test_a_markdown_cell_stays_one_cell() -> None:
    """A file name holding a newline or a pipe (both legal on Linux) keeps its row whole in Markdown."""
    from sr_zoo.inference.evaluation import BenchmarkResult
    from sr_zoo.inference.report import format_results

    images = ({"image": "two\nlines", "psnr": 30.0, "ssim": 0.9}, {"image": "a|b", "psnr": 32.0, "ssim": 0.8})
    result = BenchmarkResult(model="bicubic", dataset="mine", scale=2, psnr=31.0, ssim=0.85, images=2,
                             per_image=images)
    lines = format_results([result], "markdown", per_image=True).splitlines()
    assert len(lines) == 4
    cells = [[c.strip() for c in line.split(" | ")] for line in lines[2:]]
    assert cells[0][3] == "two<br>lines" and cells[1][3] == "a\\|b"
    assert all(len(row) == 6 for row in cells)


def test_each_paper_folder_publishes_the_rows_of_its_own_models() -> None:
    """The rows live beside the specs (``models/<paper>/published.json``) and reach the specs and the report."""
    from sr_zoo.models import list_models, model_info

    folders = {model_info(name).folder: set() for name in list_models()}
    for name in list_models():
        folders[model_info(name).folder].add(name)
    counted = 0
    for folder, names in folders.items():
        path = REPO / "src" / Path(*folder.split(".")) / "published.json"
        rows = json.loads(path.read_text())["rows"] if path.is_file() else []
        assert {row["model"] for row in rows} <= names, f"{path}: rows of another folder's model"
        counted += len(rows)
    assert counted == len(published()) == 59
    fsrcnn = [r.psnr for r in model_info("fsrcnn").published if r.test == "Set5" and r.train == "T91"]
    assert fsrcnn == [36.94, 33.06, 30.55]
    assert {r.model for r in model_info("srgan").published} == {"srgan"}
