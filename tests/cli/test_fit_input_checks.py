"""Issue 17, probe cases 4, 7 and 8 (fit): a validation image that fails to decode is skipped with one
warning and counted, never ends a run; an unreadable training image is warned about once, whatever the
number of workers and epochs; ``--data.val "[folder:X]"`` is the folder X; an unwritable
``--trainer.default_root_dir`` and ``--trainer.accelerator gpu`` on a CPU machine are one line before any
work. All through the real CLI (``cli_runner``)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from helpers.cli_runner import CliResult, run_cli


def _fit(root: Path, run: str, train: Path, val: str, *extra: str) -> list[str]:
    return ["fit", "--model", "fsrcnn", "--scale", "2", "--data.train", f"[{train}]", "--data.val", val,
            "--data.root", str(root / "data"), "--data.batch_size", "4", "--data.samples_per_epoch", "8",
            "--data.patch_size", "24", "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
            "--trainer.enable_model_summary", "false", "--trainer.default_root_dir", str(root / run), *extra]


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])  # the header passes the checks made up front, the pixels do not


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("fit")
    rng = np.random.default_rng(0)
    for folder, n in (("train", 3), ("bad_train", 4), ("val", 3), ("bad_val", 3)):
        (root / folder).mkdir()
        for i in range(n):
            cv2.imwrite(str(root / folder / f"{i}.png"), rng.integers(0, 256, (48, 48, 3), dtype=np.uint8))
    _truncate(root / "bad_train" / "2.png")
    _truncate(root / "bad_val" / "1.png")
    (root / "afile").write_text("not a folder")
    cases = {
        "a truncated validation image": _fit(root, "run_val", root / "train", f"[{root / 'bad_val'}]",
                                             "--data.num_workers", "0", "--trainer.max_epochs", "2"),
        "a truncated training image, 2 workers": _fit(root, "run_train", root / "bad_train", "[]",
                                                      "--data.num_workers", "2", "--trainer.max_epochs", "2"),
        "--data.val [folder:X]": _fit(root, "run_folder", root / "train", f"[folder:{root / 'val'}]",
                                      "--data.num_workers", "0", "--trainer.max_epochs", "1"),
        "--data.val [folder:missing]": _fit(root, "run_missing", root / "train", f"[folder:{root / 'missing'}]",
                                            "--data.num_workers", "0", "--trainer.max_epochs", "1"),
        "default_root_dir under a file": _fit(root, "afile/run", root / "train", "[]", "--trainer.max_epochs", "1"),
        "--trainer.accelerator gpu": _fit(root, "run_gpu", root / "train", "[]", "--trainer.accelerator", "gpu"),
    }
    results = dict(zip(cases, run_cli(list(cases.values()), cwd=root)))
    return {"root": root, "results": results}


def _lines_with(result: CliResult, fragment: str) -> list[str]:
    return [line for line in (result.stdout + result.stderr).splitlines() if fragment in line]


def test_a_validation_image_that_fails_is_skipped_warned_once_and_counted(probe: dict) -> None:
    result = probe["results"]["a truncated validation image"]
    assert result.returncode == 0 and "Traceback" not in result.stderr, result
    (warning,) = _lines_with(result, "validation skips it")  # one line, though the run validated twice
    assert warning.startswith("sr-zoo: warning: ") and "bad_val/1.png: cannot decode" in warning
    assert "1 of 3 images of bad_val skipped" in warning
    saved = torch.load(probe["root"] / "run_val" / "checkpoints" / "last.ckpt", weights_only=True)
    assert saved["epoch"] == 1  # the run went on to its end and saved its checkpoint


def test_an_unreadable_training_image_is_warned_about_once(probe: dict) -> None:
    result = probe["results"]["a truncated training image, 2 workers"]
    assert result.returncode == 0, result
    assert len(_lines_with(result, "skipping unreadable training image")) == 1, result
    assert "bad_train/2.png: cannot decode" in _lines_with(result, "skipping unreadable training image")[0]


def test_val_folder_spec_is_the_folder(probe: dict) -> None:
    result = probe["results"]["--data.val [folder:X]"]
    assert result.returncode == 0 and "benchmark folder not found" not in result.stderr, result
    assert (probe["root"] / "run_folder" / "checkpoints" / "last.ckpt").is_file()
    missing = probe["results"]["--data.val [folder:missing]"]
    assert missing.returncode == 2 and "Traceback" not in missing.stderr, missing
    assert missing.err_lines[-1] == f"sr-zoo: error: {probe['root'] / 'missing'}: benchmark folder not found"


@pytest.mark.parametrize("case,fragment", [
    ("default_root_dir under a file", "--trainer.default_root_dir {root}/afile/run: not a writable folder"),
    ("--trainer.accelerator gpu", "--trainer.accelerator gpu: no CUDA GPU is available on this machine"),
])
def test_trainer_arguments_that_cannot_work_are_one_line_before_any_work(probe: dict, case: str, fragment: str) -> None:
    if case == "--trainer.accelerator gpu" and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    result = probe["results"][case]
    assert result.one_error_line().startswith("sr-zoo: error: " + fragment.format(root=probe["root"])), result
