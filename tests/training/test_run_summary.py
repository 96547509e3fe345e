"""The main job says what it did: a demo budget without a recipe, and a closing summary of the fit."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from sr_zoo.cli import main
from sr_zoo.data import BenchmarkDataset
from sr_zoo.data.sources import resolve_benchmark
from sr_zoo.inference.evaluation import evaluate
from sr_zoo.models import create_model


def test_fit_without_a_recipe_gets_the_demo_budget(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:  # LightningCLI exits after printing
        main(["fit", "--model", "fsrcnn", "--scale", "2", "--print_config"])
    assert done.value.code in (0, None)
    assert "max_time: 00:00:03:00" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["fit", "--model", "fsrcnn", "--scale", "2", "--trainer.max_epochs", "4", "--print_config"])
    out = capsys.readouterr().out
    assert "max_epochs: 4" in out and "max_time: null" in out  # a budget of the user's own stands


def test_a_budget_in_a_trainer_file_is_the_users_own(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The demo is decided on the parsed configuration: a budget from ``--trainer FILE`` counts as one given."""
    trainer = tmp_path / "trainer.yaml"
    trainer.write_text("max_steps: 7\n")
    with pytest.raises(SystemExit):
        main(["fit", "--model", "fsrcnn", "--scale", "2", "--trainer", str(trainer), "--print_config"])
    out = capsys.readouterr().out
    assert "max_steps: 7" in out and "max_time: null" in out and "batch_size: 16" in out


def test_fit_ends_with_scores_against_bicubic_and_the_next_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SR_ZOO_DATA", str(tmp_path / "data"))
    assert main(["fit", "--model", "fsrcnn", "--scale", "2", "--trainer.max_epochs", "2",
                 "--trainer.limit_train_batches", "3", "--trainer.enable_progress_bar", "false"]) == 0
    out = capsys.readouterr().out
    summary = out[out.index("sr_zoo: fit done:"):]
    assert summary.startswith("sr_zoo: fit done: fsrcnn x2, 2 epoch(s), 6 optimizer steps in ")
    scores = re.search(r"  demo: best ([\d.]+) / ([\d.]+) \(epoch (\d)\), last ([\d.]+) / ([\d.]+); "
                       r"bicubic ([\d.]+) / ([\d.]+) \(([+-][\d.]+) dB\)", summary)
    assert scores is not None, summary
    bicubic = evaluate(create_model("bicubic", 2), BenchmarkDataset(resolve_benchmark("demo", tmp_path / "data"), 2))
    assert (float(scores[6]), float(scores[7])) == (round(bicubic.psnr, 2), round(bicubic.ssim, 4))
    assert float(scores[1]) >= float(scores[4])  # best >= last
    assert float(scores[8]) == pytest.approx(float(scores[4]) - float(scores[6]), abs=0.011)
    checkpoint = re.search(r"  checkpoint: (\S+)", summary)[1]
    assert Path(checkpoint).is_file()
    assert f"  resume:  sr-zoo fit --config config.yaml --ckpt_path {checkpoint}" in summary
    assert f"  upscale: sr-zoo upscale IMAGES -o OUTDIR --model fsrcnn --scale 2 --ckpt {checkpoint}" in summary
    assert (tmp_path / "config.yaml").is_file()


def test_a_curriculum_stopped_early_is_scored_at_the_scale_it_produced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """CSRCNN x4 stopped in its x2 stage: the summary says it was scored at x2 in stage 'x2', and the bicubic it
    compares with is bicubic x2 on the same images (not x4, which the header's model scale would suggest)."""
    import cv2
    import numpy as np

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SR_ZOO_DATA", str(tmp_path / "data"))
    rng = np.random.default_rng(0)
    (tmp_path / "val").mkdir()
    for i in range(2):
        assert cv2.imwrite(str(tmp_path / "val" / f"{i}.png"), (rng.random((48, 40, 3)) * 255).astype(np.uint8))
    assert main(["fit", "--model", "csrcnn", "--scale", "4", "--trainer.max_epochs", "1", "--data.patch_size", "64",
                 "--data.batch_size", "2", "--trainer.limit_train_batches", "2", "--data.val", f"[{tmp_path / 'val'}]",
                 "--trainer.enable_progress_bar", "false"]) == 0
    summary = capsys.readouterr().out
    summary = summary[summary.index("sr_zoo: fit done:"):]
    assert summary.startswith("sr_zoo: fit done: csrcnn x4, 1 epoch(s)")
    assert "  scored at x2: the run ended in its training stage 'x2', before x4" in summary, summary
    scores = re.search(r"bicubic ([\d.]+) / ([\d.]+)", summary)
    bicubic = evaluate(create_model("bicubic", 2), BenchmarkDataset(tmp_path / "val", 2))
    assert (float(scores[1]), float(scores[2])) == (round(bicubic.psnr, 2), round(bicubic.ssim, 4))


def test_fit_help_starts_with_the_zoo_s_own_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    out = capsys.readouterr().out
    assert out.startswith("sr-zoo fit: the zoo's own arguments first")
    assert "--model NAME         a zoo model: bicubic, csrcnn, emtcm," in out
    assert out.index("--scale S") < out.index("--trainer.max_epochs")  # before LightningCLI's own


def test_the_demo_says_what_it_shows_and_reads_its_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """``sr-zoo fit --model fsrcnn --scale 3`` without a recipe: the first line says it is a demo of the pipeline,
    with the batch and patch its measured step time chose, and names the recipe that trains the model; a run below
    bicubic says that is expected."""
    from sr_zoo.cli import demo

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SR_ZOO_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(demo, "DEMO_BUDGET", "00:00:00:05")  # seconds, not minutes: a test
    assert main(["fit", "--model", "fsrcnn", "--scale", "3", "--trainer.enable_progress_bar", "false",
                 "--trainer.limit_train_batches", "2", "--trainer.accelerator", "cpu"]) == 0  # measured on a CPU
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    plan = re.match(r"sr_zoo: no recipe \(--config\) and no budget given: a 5-second demo \(batch (\d+) of "
                    r"(\d+)x\2 patches, about [\d,]+ steps of [\d.e-]+ s \(measured\)", first)
    assert plan is not None, first
    assert int(plan[1]) in (16, 8, 4, 2, 1) and int(plan[2]) in (72, 36)  # FSRCNN x3's LR 24x24, or 12x12
    assert "`sr-zoo fit --config experiments/fsrcnn_x3.yaml`" in first
    summary = out[out.index("sr_zoo: fit done:"):]
    scores = re.search(r"demo: best [\d.]+ / [\d.]+ \(epoch \d+\), last ([\d.]+) / [\d.]+; bicubic ([\d.]+)", summary)
    assert scores is not None, summary
    below = float(scores[1]) < float(scores[2])
    assert ("below bicubic after" in summary) == below
    # The budget is spent and the checkpoint keeps the time: the resume line, run as printed, trains as long again.
    resume = re.search(r"  resume:  sr-zoo (fit --config \S+ --ckpt_path \S+ --trainer.max_time 00:00:00:(\d\d))\n"
                       r"           \(its 5 s are spent and the checkpoint keeps the time: a larger max_time trains as "
                       r"long again\)", summary)
    assert resume is not None, summary
    assert 10 <= int(resume[2]) <= 12
    steps = int(re.search(r"([\d,]+) optimizer steps", summary)[1].replace(",", ""))
    assert main([*shlex.split(resume[1]), "--trainer.enable_progress_bar", "false"]) == 0
    again = capsys.readouterr().out
    assert int(re.search(r"fit done: fsrcnn x3, \d+ epoch\(s\), ([\d,]+) optimizer steps", again)[1].replace(",", "")) \
        > steps
