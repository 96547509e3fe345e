"""Interrupts and failed writes: a signal leaves a resumable checkpoint and a non-zero status; a write
that fails leaves no file that looks like a checkpoint."""

from __future__ import annotations

import errno
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from helpers.interrupt_helpers import Job, job_env
from sr_zoo.errors import CheckpointError
from sr_zoo.training.checkpointing import AtomicCheckpointIO, atomic_torch_save, load_checkpoint_file


def _fit_args(tmp_path: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "sr_zoo", "fit", "--model", "fsrcnn", "--scale", "2",
            "--data.root", str(tmp_path / "data"), "--data.val", "[]", "--data.patch_size", "16",
            "--data.batch_size", "4", "--data.num_workers", "0", "--data.seed", "0",
            "--trainer.max_steps", "100000", "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
            "--trainer.limit_val_batches", "0", "--trainer.default_root_dir", str(tmp_path / "run"), *extra]


def _start_and_signal(tmp_path: Path, signum: int) -> tuple[int, str]:
    """Start ``sr-zoo fit``, wait until it trains, send ``signum``; its status and stderr."""
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(_fit_args(tmp_path), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env=env, cwd=tmp_path)
    lines = []
    deadline = time.monotonic() + 240
    for line in proc.stderr:  # the callback announces training
        lines.append(line)
        if "Ctrl+C or SIGTERM stops" in line or time.monotonic() > deadline:
            break
    time.sleep(0.1)  # a batch or a few in: before any epoch-end checkpoint of ModelCheckpoint
    proc.send_signal(signum)
    rest = proc.stderr.read()
    return proc.wait(timeout=120), "".join(lines) + rest


# SIGINT to the CLI alone is kept for -m slow: Ctrl+C reaches the whole process group, which the default run
# checks below (ctrl_c-2_workers-training: the same handler, status 130, checkpoint and exact resume).
@pytest.mark.parametrize("signum,status", [(signal.SIGTERM, 143),
                                           pytest.param(signal.SIGINT, 130, marks=pytest.mark.slow),
                                           (signal.SIGUSR1, 138)])
def test_signal_to_sr_zoo_fit_writes_a_checkpoint_and_exits_non_zero(signum: int, status: int, tmp_path: Path) -> None:
    code, stderr = _start_and_signal(tmp_path, signum)
    assert code == status, stderr[-3000:]
    last = next((tmp_path / "run").rglob("last.ckpt"))
    checkpoint = load_checkpoint_file(last)
    assert checkpoint["global_step"] > 0
    # The run stops at a batch boundary: the datamodule's position counts exactly the batches trained.
    assert checkpoint["SRDataModule"]["progress"]["batches"] == checkpoint["global_step"]
    hint = re.search(r"\(continue with: (sr-zoo fit .*)\)$", stderr.splitlines()[-1])
    assert hint and hint.group(1).endswith(f"--ckpt_path {last}"), stderr.splitlines()[-1]
    assert "Traceback" not in stderr
    # And it resumes with the printed command as it stands (plus a nearer end): status 0.
    steps = checkpoint["global_step"] + 2
    command = shlex.split(hint.group(1))
    resumed = subprocess.run([sys.executable, "-m", "sr_zoo", *command[1:], "--trainer.max_steps", str(steps)],
                             capture_output=True, text=True, env={**os.environ, "WANDB_MODE": "disabled"}, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert load_checkpoint_file(last)["global_step"] == steps


# ---------------------------------------------------------------- signals to the whole process group
# A terminal's Ctrl+C and a scheduler's SIGTERM (scancel) reach every process of the job: the CLI and its
# DataLoader workers (2 by default, persistent). These runs use the user's defaults (workers included) on
# a small configuration: 4 batches an epoch, validation after each, 16 steps. ``interrupt_helpers`` marks
# on stderr where a run is, and holds it there (pauses), so that each signal lands where the test says.
STEPS = 16


@pytest.fixture(scope="module")
def group_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root (the demo photos, written by the first run) and a validation folder of 2 images."""
    from helpers.resume_runs import images

    root = tmp_path_factory.mktemp("group_data")
    images(root / "val", 2, seed=9, size=32)
    return root


def _group_args(data: Path, run_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "sr_zoo", "fit", "--model", "fsrcnn", "--scale", "2", "--seed_everything", "0",
            "--data.root", str(data), "--data.val", f"[{data / 'val'}]", "--data.patch_size", "16",
            "--data.batch_size", "4", "--data.samples_per_epoch", "16", "--data.seed", "0",
            "--trainer.max_steps", str(STEPS), "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
            "--trainer.enable_model_summary", "false", "--trainer.num_sanity_val_steps", "0",
            "--trainer.default_root_dir", str(run_dir), "--trainer.callbacks+=helpers.interrupt_helpers.Announce",
            *extra]


def _stopped(job: Job, status: int) -> tuple[Path, dict]:
    """Check a stopped job: ``status``, no traceback, one final line naming the checkpoint to continue
    from, which is complete and at a batch boundary, and no temporary file beside it."""
    code = job.finish()
    assert code == status, job.stderr[-3000:]
    assert "Traceback" not in job.stderr and "exited unexpectedly" not in job.stderr, job.stderr[-3000:]
    found = re.search(r"continue with: sr-zoo fit .* --ckpt_path (\S+)\)$", job.messages[-1])
    assert job.messages[-1].startswith("sr-zoo: ") and found, job.messages[-1]
    path = Path(found.group(1))
    checkpoint = load_checkpoint_file(path)
    assert checkpoint["SRDataModule"]["progress"]["batches"] == checkpoint["global_step"] > 0
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []  # no temporary file
    return path, checkpoint


def _validated(stderr: str) -> dict[str, str]:
    """``epoch=E step=S`` -> the validation metrics printed by ``Announce`` at the end of that validation."""
    return dict(m.groups() for m in re.finditer(r"^test: validated (epoch=\d+ step=\d+) (.*)$", stderr, re.M))


def _final(run_dir: Path) -> dict[str, torch.Tensor]:
    checkpoint = load_checkpoint_file(run_dir / "checkpoints" / "last.ckpt")
    assert checkpoint["global_step"] == STEPS
    return checkpoint["state_dict"]


@pytest.fixture(scope="module")
def uninterrupted_fit(group_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    """The run the interrupted ones must reproduce: its final weights and its validations' metrics."""
    run_dir = tmp_path_factory.mktemp("uninterrupted")
    proc = subprocess.run(_group_args(group_data, run_dir), capture_output=True, text=True, env=job_env(), cwd=run_dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    validated = _validated(proc.stderr)
    assert len(validated) == STEPS // 4, proc.stderr[-3000:]
    return _final(run_dir), validated


def _resume_matches(uninterrupted: tuple[dict, dict], data: Path, run_dir: Path, path: Path,
                    redone: str | None = None) -> None:
    """Resume from ``path`` to the end: the same final weights as the uninterrupted run, to the bit; each
    validation of the resumed run (the interrupted one, ``redone``, among them) scores what it scored there."""
    proc = subprocess.run(_group_args(data, run_dir, "--ckpt_path", str(path)), capture_output=True, text=True,
                          env=job_env(), cwd=run_dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "not resumable" not in proc.stderr  # Lightning's warning, untrue with the zoo's sampler
    weights, validated = uninterrupted
    final = _final(run_dir)
    assert final.keys() == weights.keys() and all(torch.equal(final[k], weights[k]) for k in final)
    again = _validated(proc.stderr)
    assert again and all(validated[k] == v for k, v in again.items()), (again, validated)
    if redone is not None:
        assert redone in again, f"the interrupted validation ({redone}) did not run again: {sorted(again)}"


@pytest.mark.parametrize("signum,status,workers,where", [
    pytest.param(signal.SIGINT, 130, "2", "training", id="ctrl_c-2_workers-training"),
    pytest.param(signal.SIGTERM, 143, "2", "validation", id="sigterm-2_persistent_workers-validation"),
    pytest.param(signal.SIGTERM, 143, "0", "training", id="sigterm-0_workers-training", marks=pytest.mark.slow),
    pytest.param(signal.SIGINT, 130, "0", "validation", id="ctrl_c-0_workers-validation", marks=pytest.mark.slow),
    pytest.param(signal.SIGINT, 130, "2", "validation", id="ctrl_c-2_workers-validation", marks=pytest.mark.slow),
    pytest.param(signal.SIGTERM, 143, "2", "training", id="sigterm-2_workers-training", marks=pytest.mark.slow),
])
def test_a_signal_to_the_process_group_stops_with_a_checkpoint_that_resumes_exactly(
        signum: int, status: int, workers: str | None, where: str, group_data: Path, uninterrupted_fit: tuple,
        tmp_path: Path) -> None:
    """Ctrl+C / SIGTERM to the CLI and its loader workers together: the workers ignore it, the run
    finishes its batch (training or validation), writes one checkpoint, says how to continue in one
    line, exits 130 / 143; resumed, it ends as the uninterrupted run does, bit for bit.

    "validation" signals during the second validation, when the persistent workers have already
    served two epochs; that validation runs again, whole, on resume.
    """
    extra = ["--data.num_workers", workers] if workers is not None else []
    run_dir = tmp_path / "run"
    with Job(_group_args(group_data, run_dir, *extra), tmp_path, SR_ZOO_TEST_PACE="0.3") as job:
        job.wait_for("test: validating epoch=1" if where == "validation" else "test: step 2")
        job.signal(signum)
        path, checkpoint = _stopped(job, status)
    assert path == run_dir / "checkpoints" / "last.ckpt"
    if where == "validation":
        assert "during validation" in job.messages[-1]
        assert checkpoint["global_step"] == 8  # the training batches before that validation, no more
        _resume_matches(uninterrupted_fit, group_data, run_dir, path, redone="epoch=1 step=8")
    else:
        assert 2 <= checkpoint["global_step"] <= 3  # the batch that was running, finished
        _resume_matches(uninterrupted_fit, group_data, run_dir, path)


_SLOW_SAVES = ("--trainer.plugins", "helpers.interrupt_helpers.SlowCheckpointIO")


def test_ctrl_c_twice_while_the_checkpoint_is_written_completes_it(group_data: Path, tmp_path: Path) -> None:
    """The second Ctrl+C arrives while the interrupt checkpoint is half-written: it is completed (loads,
    not left as a temporary file), then the run stops with status 130 and the usual line."""
    run_dir = tmp_path / "run"
    with Job(_group_args(group_data, run_dir, *_SLOW_SAVES), tmp_path, SR_ZOO_TEST_PACE="0.3",
              SR_ZOO_TEST_SAVE_PAUSE="1.5") as job:
        job.wait_for("test: step 1")
        job.signal(signal.SIGINT)
        job.wait_for("test: InterruptCheckpoint writing")
        job.signal(signal.SIGINT)
        path, _ = _stopped(job, 130)
    assert any("Ctrl+C again: still writing" in line for line in job.messages)
    assert f"test: InterruptCheckpoint wrote {path}\n" in job.lines


@pytest.mark.slow
def test_sigterm_while_a_periodic_checkpoint_is_written_stops_after_it(group_data: Path, uninterrupted_fit: tuple,
                                                                      tmp_path: Path) -> None:
    """SIGTERM while ModelCheckpoint writes its epoch checkpoint: that write completes, the run goes on
    to the end of the next batch, writes the interrupt checkpoint and stops (143); both files load."""
    run_dir = tmp_path / "run"
    with Job(_group_args(group_data, run_dir, *_SLOW_SAVES), tmp_path, SR_ZOO_TEST_SAVE_PAUSE="1.5") as job:
        periodic = Path(job.wait_for("test: ModelCheckpoint writing").split(" writing ")[1].strip())
        job.signal(signal.SIGTERM)
        path, checkpoint = _stopped(job, 143)
    assert load_checkpoint_file(periodic)["global_step"] == 4 < checkpoint["global_step"]
    _resume_matches(uninterrupted_fit, group_data, run_dir, path)


@pytest.mark.slow
def test_ctrl_c_twice_during_a_periodic_checkpoint_stops_once_it_is_complete(group_data: Path,
                                                                            uninterrupted_fit: tuple,
                                                                            tmp_path: Path) -> None:
    """Both Ctrl+C while ModelCheckpoint writes: the stop waits for that file, names it, and it resumes."""
    run_dir = tmp_path / "run"
    with Job(_group_args(group_data, run_dir, *_SLOW_SAVES), tmp_path, SR_ZOO_TEST_SAVE_PAUSE="1.5") as job:
        periodic = Path(job.wait_for("test: ModelCheckpoint writing").split(" writing ")[1].strip())
        job.signal(signal.SIGINT)
        time.sleep(0.3)
        job.signal(signal.SIGINT)
        path, checkpoint = _stopped(job, 130)
    assert path == periodic and job.messages[-1].startswith(f"sr-zoo: SIGINT again: stopped after completing {path}")
    assert checkpoint["global_step"] == 4
    _resume_matches(uninterrupted_fit, group_data, run_dir, path)


@pytest.mark.slow
def test_ctrl_c_twice_between_checkpoints_stops_at_once(group_data: Path, tmp_path: Path) -> None:
    """The second Ctrl+C, with no checkpoint being written, stops at once: 130, one line, no traceback."""
    run_dir = tmp_path / "run"
    with Job(_group_args(group_data, run_dir), tmp_path, SR_ZOO_TEST_PACE="3") as job:
        job.wait_for("test: step 1")  # then 3 s in that batch's end
        job.signal(signal.SIGINT)
        job.wait_for("stopping after this batch")
        job.signal(signal.SIGINT)
        assert job.finish() == 130
    assert "Traceback" not in job.stderr
    assert job.messages[-1] == "sr-zoo: SIGINT again: stopped at once; no checkpoint was written by this run"


def test_loader_workers_left_running_do_not_hang_the_exit(tmp_path: Path) -> None:
    """Loader workers ignore SIGTERM, so multiprocessing's exit handler (SIGTERM, then wait) would wait
    for ever on workers nobody shut down; ``end_workers_at_exit`` ends them: status 0, no process left."""
    script = ("from torch.utils.data import DataLoader\n"
              "from sr_zoo.interrupts import end_workers_at_exit, worker_init\n"
              "end_workers_at_exit()\n"
              "batches = iter(DataLoader(list(range(64)), batch_size=4, num_workers=2, persistent_workers=True,"
              " worker_init_fn=worker_init))\n"
              "assert next(batches).tolist() == [0, 1, 2, 3]\n")
    with Job([sys.executable, "-c", script], tmp_path) as job:
        assert job.finish(timeout=60) == 0, job.stderr[-3000:]


def _failing_save(limit: int):
    """A ``torch.save`` that writes ``limit`` bytes, then fails as a full disk does."""
    real = torch.save

    def save(obj, f, *args, **kwargs):
        import io

        buffer = io.BytesIO()
        real(obj, buffer, *args, **kwargs)
        f.write(buffer.getvalue()[:limit])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    return save


def test_a_failed_write_leaves_no_partial_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "last.ckpt"
    atomic_torch_save({"global_step": 1, "w": torch.ones(3)}, path)
    monkeypatch.setattr(torch, "save", _failing_save(100))
    with pytest.raises(CheckpointError, match=r"last.ckpt: checkpoint not written: No space left on device"):
        AtomicCheckpointIO().save_checkpoint({"global_step": 2, "w": torch.zeros(1000)}, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]  # no temporary file left
    assert load_checkpoint_file(path)["global_step"] == 1  # the earlier checkpoint is intact
    new = tmp_path / "new.ckpt"
    with pytest.raises(CheckpointError):
        atomic_torch_save({"w": torch.zeros(1000)}, new)
    assert not new.exists()


def test_a_full_tmpfs_leaves_no_partial_checkpoint(tmp_path: Path) -> None:
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root); the patched-writer test covers the same path")
    try:
        with pytest.raises(CheckpointError, match="No space left on device"):
            atomic_torch_save({"w": torch.zeros(100_000)}, mount / "big.ckpt")  # 400 kB into 64 kB
        assert list(mount.iterdir()) == []
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_checkpoint_written_with_usual_permissions(tmp_path: Path) -> None:
    path = tmp_path / "a.ckpt"
    atomic_torch_save({"x": 1}, path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("content,message", [
    (b"not a checkpoint", "not a loadable checkpoint"),
    (None, "checkpoint not found"),
])
def test_bad_checkpoint_files_give_one_line(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "x.ckpt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message) as error:
        load_checkpoint_file(path)
    assert "\n" not in str(error.value) and "x.ckpt" in str(error.value)


class _Pickled:
    pass


def test_a_pickled_object_is_refused_as_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "payload": _Pickled()}, path)
    with pytest.raises(CheckpointError, match="evil.ckpt: not a loadable checkpoint: it holds pickled objects"):
        load_checkpoint_file(path)
    torch.save([1, 2], tmp_path / "list.ckpt")
    with pytest.raises(CheckpointError, match="not a checkpoint .holds a list"):
        load_checkpoint_file(tmp_path / "list.ckpt")


def test_fit_with_a_pickled_checkpoint_prints_one_line(tmp_path: Path) -> None:
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "payload": _Pickled()}, path)
    proc = subprocess.run(_fit_args(tmp_path, "--ckpt_path", str(path), "--trainer.max_steps", "1"),
                          capture_output=True, text=True, env={**os.environ, "WANDB_MODE": "disabled"}, cwd=tmp_path)
    assert proc.returncode == 2
    last_line = proc.stderr.strip().splitlines()[-1]
    assert last_line.startswith(f"sr-zoo: error: --ckpt_path {path}: not a loadable checkpoint")
    assert "Traceback" not in proc.stderr
