"""Bad input found by the fault-tolerance review: each is one line naming the culprit, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import sr_zoo.cli.benchmark as benchmark_cli
from helpers.standins import write_images
from sr_zoo.cli import main
from sr_zoo.errors import DatasetError
from sr_zoo.files.images import list_images


def test_an_unreadable_folder_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_images(tmp_path / "locked")
    real = Path.iterdir

    def iterdir(self: Path):
        if self == folder:  # what a folder without read permission does (root, running the tests, ignores modes)
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    with pytest.raises(DatasetError, match=r"locked: cannot list the folder \(Permission denied\)"):
        list_images(folder)


def test_save_images_target_is_checked_before_scoring(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    data = write_images(tmp_path / "set")
    (tmp_path / "afile").write_text("not a folder")
    scored = []
    monkeypatch.setattr(benchmark_cli, "evaluate", lambda *a, **k: scored.append(1))
    code = main(["benchmark", "--scale", "2", "--data", str(data), "--save-images", str(tmp_path / "afile" / "out")])
    assert code == 2 and not scored
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"sr-zoo: error: --save-images {tmp_path / 'afile' / 'out'}: not a writable folder")
    assert "\n" not in err


def test_a_training_set_of_undecodable_files_is_one_line(tmp_path: Path) -> None:
    bad = write_images(tmp_path / "bad", 3, 64)
    for path in bad.iterdir():  # valid header, truncated pixel data: passes the probe, fails to decode in a worker
        path.write_bytes(path.read_bytes()[:200])
    proc = subprocess.run(
        [sys.executable, "-m", "sr_zoo", "fit", "--model", "fsrcnn", "--scale", "2", "--data.train", f"[{bad}]",
         "--data.val", "[]", "--data.root", str(tmp_path / "root"), "--data.num_workers", "2",
         "--trainer.max_steps", "2", "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
         "--trainer.default_root_dir", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=300, env={**os.environ, "WANDB_MODE": "disabled"}, cwd=tmp_path,
    )
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"sr-zoo: error: {bad}: none of the 3 training images could be decoded (first: ")
    assert "Traceback" not in proc.stderr


def test_a_symlink_loop_is_one_line_in_every_command(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "a.png").symlink_to(tmp_path / "b.png")
    (tmp_path / "b.png").symlink_to(tmp_path / "a.png")
    loop = str(tmp_path / "a.png")
    for argv in (["compare", loop, "--scale", "2", "--models", "bicubic", "-o", str(tmp_path / "f.png")],
                 ["upscale", loop, "--model", "bicubic", "--scale", "2", "-o", str(tmp_path / "out")]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"sr-zoo: error: {loop}"), err


def test_a_bad_trainer_strategy_is_one_line(tmp_path: Path) -> None:
    """Lightning raises a ValueError (not its MisconfigurationException) for an unknown strategy name."""
    env = {**os.environ, "WANDB_MODE": "disabled", "SR_ZOO_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "sr_zoo", "fit", "--model", "bicubic", "--scale", "2",
                           "--trainer.strategy", "foo", "--trainer.max_steps", "1"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower() or "Traceback" in line]
    assert errors == [errors[0]] and errors[0].startswith("sr-zoo: error: --trainer: You selected an invalid "
                                                          "strategy name: `strategy='foo'`"), done.stderr


def test_recipe_and_argument_errors_of_fit_are_one_line(tmp_path: Path) -> None:
    """jsonargparse's errors (an unknown key in a recipe, with or without --print_schedule; a model argument
    the class does not take or of the wrong type) are one line naming the key, not a page of usage."""
    from helpers.cli_runner import run_cli

    recipe = tmp_path / "typo.yaml"
    recipe.write_text("data:\n  batch_sise: 3\n")
    fit = ["fit", "--model", "srcnn", "--scale", "2", "--trainer.max_steps", "1"]
    cases = [
        ([*fit, "--config", str(recipe), "--print_schedule"], "sr-zoo: error: Group 'data' does not accept option "
                                                              "'batch_sise' (see sr-zoo fit --help)"),
        ([*fit, "--config", str(recipe)], "sr-zoo: error: Subcommand 'fit' does not accept option 'data.batch_sise'"),
        ([*fit, "--model.init_args.betta", "3"], "sr-zoo: error: --model SRCNN: Option 'betta' is not accepted"),
        ([*fit, "--model.init_args.lr", "abc"], "sr-zoo: error: --model SRCNN: Parser key \"lr\": Expected a"),
    ]
    for (argv, start), result in zip(cases, run_cli([argv for argv, _ in cases], cwd=tmp_path)):
        assert result.one_error_line().startswith(start), result


def test_a_bad_init_from_is_one_line_before_the_trainer_starts(tmp_path: Path) -> None:
    """Missing, a text file, a plain pickle, a checkpoint of another model: one line, and no model summary
    (Lightning prints it when the trainer starts) before it."""
    import pickle

    from helpers.cli_runner import run_cli
    from sr_zoo.models import create_model
    from sr_zoo.training.checkpointing import atomic_torch_save

    (tmp_path / "text.ckpt").write_text("hello")
    (tmp_path / "pickled.ckpt").write_bytes(pickle.dumps({"state_dict": {"w": [1, 2]}}))
    other = create_model("fsrcnn", 3, d=8, s=4, m=1)
    atomic_torch_save({"state_dict": other.state_dict(), "hyper_parameters": dict(other.hparams),
                     "sr_zoo": {"model": "fsrcnn", "scale": 3}}, tmp_path / "fsrcnn.ckpt")
    fit = ["fit", "--model", "srcnn", "--scale", "3", "--trainer.max_steps", "1", "--model.init_args.init_from"]
    cases = [("missing.ckpt", "missing.ckpt: checkpoint not found"),
             ("text.ckpt", "text.ckpt: not a loadable checkpoint"),
             ("pickled.ckpt", "pickled.ckpt: not a loadable checkpoint"),
             ("fsrcnn.ckpt", "fsrcnn.ckpt: a checkpoint of 'fsrcnn', not of 'srcnn'")]
    results = run_cli([[*fit, str(tmp_path / name)] for name, _ in cases], cwd=tmp_path)
    for (_, words), result in zip(cases, results):
        assert result.one_error_line(words).startswith("sr-zoo: error: --model.init_args.init_from "), result
        assert "Total params" not in result.stdout + result.stderr, result
