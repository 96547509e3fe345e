"""Interrupts and failed writes: a signal leaves a resumable checkpoint and a non-zero status; a write
that fails leaves no file that looks like a checkpoint."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from sr_zoo.checkpointing import AtomicCheckpointIO, atomic_torch_save, load_checkpoint_file
from sr_zoo.errors import CheckpointError


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


@pytest.mark.parametrize("signum,status", [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGUSR1, 138)])
def test_signal_to_sr_zoo_fit_writes_a_checkpoint_and_exits_non_zero(signum: int, status: int, tmp_path: Path) -> None:
    code, stderr = _start_and_signal(tmp_path, signum)
    assert code == status, stderr[-3000:]
    last = next((tmp_path / "run").rglob("last.ckpt"))
    checkpoint = load_checkpoint_file(last)
    assert checkpoint["global_step"] > 0
    # The run stops at a batch boundary: the datamodule's position counts exactly the batches trained.
    assert checkpoint["SRDataModule"]["progress"]["batches"] == checkpoint["global_step"]
    assert f"continue with --ckpt_path {last}" in stderr.splitlines()[-1]
    assert "Traceback" not in stderr
    # And it resumes: a few more steps from there, status 0.
    steps = checkpoint["global_step"] + 2
    resumed = subprocess.run(_fit_args(tmp_path, "--ckpt_path", str(last), "--trainer.max_steps", str(steps)),
                             capture_output=True, text=True, env={**os.environ, "WANDB_MODE": "disabled"}, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert load_checkpoint_file(last)["global_step"] == steps


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
    assert proc.stderr.strip().splitlines()[-1].startswith(f"sr-zoo: error: {path}: not a loadable checkpoint")
    assert "Traceback" not in proc.stderr
