"""``sr-zoo fit --config R --print_schedule``: the schedule a recipe will run, against the papers' text."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.paths import EXPERIMENTS
from sr_zoo.cli import main


def _rows(text: str) -> list[tuple[int, str, str, str]]:
    """(start, stage, rates, losses) of each table row."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].replace(",", "").isdigit():
            rows.append((int(cells[0].replace(",", "")), cells[1], cells[2], cells[3]))
    return rows


def _trace(capsys: pytest.CaptureFixture, recipe: str, *extra: str) -> list[tuple[int, str, str, str]]:
    assert main(["fit", f"--config={EXPERIMENTS / recipe}", *extra, "--print_schedule"]) == 0
    return _rows(capsys.readouterr().out)


@pytest.mark.parametrize("recipe", sorted(p.name for p in EXPERIMENTS.glob("*.yaml")))
def test_every_recipe_prints_its_schedule(recipe: str, capsys: pytest.CaptureFixture,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "disabled")
    rows = _trace(capsys, recipe)
    assert rows and rows[0][0] == 0 and rows[-1][1] == "(end)"


def test_srseg_schedule_is_section_3_5_read_per_step(capsys: pytest.CaptureFixture,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "disabled")
    # 3.5: MSE 25 epochs, + segmentation 25, + perceptual and adversarial 55; 1e-3 /10 every 20 epochs in each step.
    rows = _trace(capsys, "srseg_x4.yaml")
    assert [r[:3] for r in rows] == [(0, "pretrain", "0.001"), (20, "pretrain", "0.0001"),
                                     (25, "segmentation", "0.001"), (45, "segmentation", "0.0001"),
                                     (50, "adversarial", "0.001"), (70, "adversarial", "0.0001"),
                                     (90, "adversarial", "1e-05"), (105, "(end)", "")]
    assert rows[0][3] == "mse 1" and rows[2][3] == "mse 1, segmentation 0.8"
    assert rows[4][3] == "mse 1, adversarial 0.001, perceptual 2e-06, segmentation 0.8"
    # The other reading: one decay over the whole run.
    rows = _trace(capsys, "srseg_x4.yaml", "--model.init_args.lr_schedule=run")
    assert [r[:3] for r in rows] == [(0, "pretrain", "0.001"), (20, "pretrain", "0.0001"),
                                     (25, "segmentation", "0.0001"), (40, "segmentation", "1e-05"),
                                     (50, "adversarial", "1e-05"), (60, "adversarial", "1e-06"),
                                     (80, "adversarial", "1e-07"), (100, "adversarial", "1e-08"), (105, "(end)", "")]


def test_msfmgan_schedule_is_section_4_1(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "disabled")
    # 4.1: Adam 1e-4, x0.8 every 20k iterations, 200k iterations (after our 20k MSE-only ones).
    rows = _trace(capsys, "msfmgan_x4.yaml")
    assert [r[0] for r in rows] == list(range(0, 220_001, 20_000))
    assert [r[1] for r in rows[:-1]] == ["pretrain"] + ["adversarial"] * 10
    assert [float(r[2]) for r in rows[:-1]] == pytest.approx([1e-4 * 0.8**k for k in range(11)], rel=1e-2)


def test_csrcnn_schedule_is_sections_3_b_and_3_c(capsys: pytest.CaptureFixture,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "disabled")
    rows = _trace(capsys, "csrcnn_x8.yaml")
    assert [(r[0], r[1]) for r in rows] == [(0, "x2"), (60, "x4 blend"), (65, "x4"), (120, "x8 blend"), (125, "x8"),
                                            (240, "x8"), (400, "(end)")]
    assert rows[-2][3] == "L2 / L1 alternating every 10 epochs"


def test_print_schedule_through_the_console_command(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "sr_zoo", "fit", "--config", str(EXPERIMENTS / "emtcm_x3.yaml"),
                           "--print_schedule"], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "WANDB_MODE": "disabled"}, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _rows(done.stdout)[0] == (0, "train", "0.001 / 0.0001", "1-SSIM 1, CE 0.0001")
    assert "+ general100, rates x0.5" in done.stdout
    assert not list(tmp_path.iterdir())  # nothing trained, nothing written


def test_a_schedule_is_traced_by_what_it_describes(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A schedule class the trace has never heard of, with only ``describe``: its rates, data, loss and rule show
    (rates 1e-3 / 1e-4 of FSRCNN's recipe x0.25 from epoch 3; + general100 from 4; its own loss from 5)."""
    monkeypatch.setenv("WANDB_MODE", "disabled")
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "my_schedules.py").write_text(
        "from sr_zoo.training import Schedule, ScheduleEffect\n\n\n"
        "class Quarter(Schedule):\n"
        "    def describe(self, pl_module, position):\n"
        "        late = position.epoch >= 3\n"
        "        return ScheduleEffect(rate_factor=0.25 if late else 1.0,\n"
        "                              sources=['general100'] if position.epoch >= 4 else [],\n"
        "                              losses='my loss' if position.epoch >= 5 else None,\n"
        "                              rules=['Quarter: a test rule'])\n")
    rows = _trace(capsys, "fsrcnn_x3.yaml", "--trainer.max_epochs=8",
                  "--trainer.callbacks+=my_schedules.Quarter")
    assert rows == [(0, "train", "0.001 / 0.0001", "mse 1"), (3, "train", "0.00025 / 2.5e-05", "mse 1"),
                    (4, "train", "0.00025 / 2.5e-05", "mse 1"), (5, "train", "0.00025 / 2.5e-05", "my loss"),
                    (8, "(end)", "", "")]
    assert main(["fit", f"--config={EXPERIMENTS / 'fsrcnn_x3.yaml'}", "--trainer.max_epochs=8",
                 "--trainer.callbacks+=my_schedules.Quarter", "--print_schedule"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "| 4 | train | 0.00025 / 2.5e-05 | mse 1 | t91, general100 |" in out and "- Quarter: a test rule" in out


def test_plateau_rules_are_stated_and_a_run_bounded_by_steps_is_traced(capsys: pytest.CaptureFixture,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert main(["fit", f"--config={EXPERIMENTS / 'fsrcnn_x3.yaml'}", "--print_schedule"]) == 0
    assert ("- ValidationPlateau: after 3 validations without a higher val/psnr: rates x0.1 on each of the first "
            "2 plateaus, then stop") in capsys.readouterr().out.splitlines()
    assert main(["fit", f"--config={EXPERIMENTS / 'fsrcnn_x3.yaml'}", "--trainer.max_epochs=-1",
                 "--trainer.max_steps=1000", "--print_schedule"]) == 0
    out = capsys.readouterr().out
    assert _rows(out) == [(0, "train", "0.001 / 0.0001", "mse 1")]
    assert "- ends at max_steps 1,000 optimizer steps (epochs are not counted ahead)" in out.splitlines()


def test_the_trace_does_not_import_the_command_line() -> None:
    """The trace is a library function; the command line (``sr_zoo.cli.lightning``) imports it, not the reverse."""
    code = ("import sys, sr_zoo.cli.schedule_trace as t; t.trace; "
            "print('sr_zoo.cli.lightning' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.stdout.strip() == "False", done.stderr[-2000:]
