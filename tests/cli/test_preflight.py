"""The pre-start checks of ``sr-zoo fit|test|...`` read LightningCLI's parsed configuration (issue 29): a value is
checked the same whether it came on the command line, in a ``--config`` recipe or in a ``--trainer FILE``, and the
error comes before any model, trainer or data is built."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from helpers.cli_runner import run_cli


def _cases(tmp_path: Path) -> list[tuple[list[str], tuple[str, ...]]]:
    (tmp_path / "a_file").write_text("")
    root = str(tmp_path / "a_file" / "runs")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({"trainer": {"default_root_dir": root}}))
    trainer = tmp_path / "trainer.yaml"
    trainer.write_text(yaml.safe_dump({"default_root_dir": root}))
    gpu = tmp_path / "gpu.yaml"
    gpu.write_text(yaml.safe_dump({"accelerator": "cuda"}))
    init = tmp_path / "init.yaml"
    init.write_text(yaml.safe_dump({"model": {"init_args": {"init_from": str(tmp_path / "none.ckpt")}}}))
    scale = tmp_path / "scale.yaml"
    scale.write_text(yaml.safe_dump({"data": {"scale": 8}}))
    run_folder = ("--trainer.default_root_dir", "not a writable folder")
    base = ["fit", "--model", "srcnn", "--trainer.fast_dev_run", "true"]
    return [
        ([*base, f"--trainer.default_root_dir={root}"], run_folder),  # the command line
        ([*base, "--config", str(recipe)], run_folder),  # a recipe
        ([*base, "--trainer", str(trainer)], run_folder),  # a trainer file
        ([*base, "--trainer", str(gpu)], ("--trainer.accelerator cuda", "no CUDA GPU")),
        ([*base, "--config", str(init)], ("--model.init_args.init_from", "none.ckpt")),
        (["fit", "--model", "srcnn", "--config", str(scale)], ("model 'srcnn' cannot do scale 8",)),
    ]


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="the accelerator case needs a machine without CUDA")
def test_a_bad_value_is_one_line_before_anything_is_built_wherever_it_was_given(tmp_path: Path) -> None:
    cases = _cases(tmp_path)
    for (args, fragments), result in zip(cases, run_cli([args for args, _ in cases], cwd=tmp_path)):
        result.one_error_line(*fragments)
        assert "Trainable params" not in result.stdout and "GPU available" not in result.stderr, result
