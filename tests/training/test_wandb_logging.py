"""``sr-zoo fit`` logs to W&B by default; without credentials it runs offline, never prompts, and
touches no network (a proxy on 127.0.0.1 that would see any connection stays idle)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

from helpers.wandb_records import read_run


class _Listener:
    """A TCP listener on 127.0.0.1 that counts connections (set as every proxy)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.count, self.running, self.requests = 0, True, []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.count += 1
            try:
                conn.settimeout(1.0)
                self.requests.append(conn.recv(200).split(b"\r\n")[0].decode(errors="replace"))
            except OSError:
                self.requests.append("?")
            conn.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()


def _env(tmp_path: Path, proxy: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(HOME=str(tmp_path / "home"), HTTP_PROXY=proxy, HTTPS_PROXY=proxy, http_proxy=proxy,
               https_proxy=proxy, NO_PROXY="", no_proxy="", WANDB_DIR=str(tmp_path), WANDB_SILENT="true")
    (tmp_path / "home").mkdir()
    return env


def test_default_logger_runs_offline_and_records_metrics_panels_config_and_table(tmp_path: Path) -> None:
    proxy = _Listener()
    try:
        env = _env(tmp_path, proxy.url)
        common = ["--model", "fsrcnn", "--scale", "2", f"--data.root={tmp_path / 'data'}", "--data.num_workers=0",
                  "--data.val=[demo]", "--data.samples_per_epoch=32", "--data.batch_size=16",
                  f"--trainer.default_root_dir={tmp_path / 'run'}", "--trainer.enable_progress_bar=false"]
        run = dict(capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600, stdin=subprocess.DEVNULL)
        fit = subprocess.run([sys.executable, "-m", "sr_zoo", "fit", *common, "--trainer.max_epochs=2",
                              "--trainer.log_every_n_steps=1"], **run)
        assert fit.returncode == 0, fit.stderr[-3000:]
        assert "no W&B credentials found: logging offline" in fit.stderr
        ckpt = next(tmp_path.rglob("last.ckpt"))  # WandbLogger puts checkpoints under ./<project>/<run id>/
        test = subprocess.run([sys.executable, "-m", "sr_zoo", "test", *common, f"--ckpt_path={ckpt}"], **run)
        assert test.returncode == 0, test.stderr[-3000:]
    finally:
        proxy.close()
    assert proxy.count == 0, proxy.requests  # not one connection attempt
    runs = sorted((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 2
    fit_run = read_run(next(runs[0].glob("run-*.wandb")))
    metrics = {k for row in fit_run["history"] for k in row}
    assert {"val/psnr", "val/demo/psnr", "val/demo/ssim", "train/loss", "train/lr"} <= metrics
    assert any("samples/" in k and k.endswith("/filenames") for k in metrics)  # the bicubic | SR | HR panel
    assert list((runs[0] / "files" / "media" / "images").rglob("*.png"))
    config = fit_run["config"]
    assert (config["scale"], config["d"], config["num_workers"]) == (2, 56, 0)  # model and data hyper-parameters
    assert config["cli"]["model"]["class_path"].endswith("FSRCNN")  # and LightningCLI's whole configuration
    assert config["cli"]["trainer"]["max_epochs"] == 2
    test_run = read_run(next(runs[1].glob("run-*.wandb")))
    table = [row for row in test_run["history"] if "test/per_image/_type" in row]
    assert table and table[0]["test/per_image/_type"] == "table-file"
    tables = list((runs[1] / "files" / "media" / "table").rglob("*.json"))
    import json

    data = json.loads(tables[0].read_text())
    assert data["columns"] == ["set", "image", "psnr", "ssim"] and len(data["data"]) == 2  # demo val: 2 images


def test_a_resumed_fit_continues_its_wandb_run_and_checkpoint_folder(tmp_path: Path) -> None:
    """No known noise on a first fit. ``fit --ckpt_path`` of a run logged offline: the same W&B run id
    (a second offline folder of that id, for ``wandb sync`` to merge), the same ``sr_zoo/<id>/checkpoints``
    folder, and neither Lightning's "dirpath has changed" nor its "dataloader is not resumable" warning."""
    env = _env(tmp_path, "http://127.0.0.1:9")
    common = ["--model", "fsrcnn", "--scale", "2", f"--data.root={tmp_path / 'data'}", "--data.val=[]",
              "--data.samples_per_epoch=32", "--data.batch_size=16", "--trainer.enable_progress_bar=false"]
    run = dict(capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600, stdin=subprocess.DEVNULL)
    first = subprocess.run([sys.executable, "-m", "sr_zoo", "fit", *common, "--trainer.max_steps=3"], **run)
    assert first.returncode == 0, first.stderr[-3000:]
    for noise in ("No seed found", "litlogger", "anonymous setting", "LeafSpec"):
        assert noise not in first.stderr, noise  # what every fit printed and the zoo knows to be harmless
    assert not re.search(r"^0 +Total Flops", first.stderr, re.M)
    assert "Seed set to 0" in first.stderr and "In sizes" in first.stderr  # the summary measures a 32x32 input
    (ckpt,) = tmp_path.glob("sr_zoo/*/checkpoints/last.ckpt")
    run_id = ckpt.parent.parent.name
    resumed = subprocess.run([sys.executable, "-m", "sr_zoo", "fit", *common, "--trainer.max_steps=5",
                              f"--ckpt_path={ckpt}"], **run)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming W&B run {run_id}" in resumed.stderr
    assert "dirpath has changed" not in resumed.stderr and "not resumable" not in resumed.stderr
    assert [p.parent.parent.name for p in tmp_path.glob("sr_zoo/*/checkpoints/last.ckpt")] == [run_id]
    import torch

    assert torch.load(ckpt, weights_only=True)["global_step"] == 5
    runs = sorted((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 2 and all(r.name.endswith(run_id) for r in runs)


def test_wandb_mode_set_but_empty_is_unset_and_an_unknown_one_is_one_line(tmp_path: Path) -> None:
    """``WANDB_MODE=`` (exported empty) made wandb's settings raise a pydantic traceback on every fit; now it
    counts as unset (offline without an account); a mode wandb does not know is named in one line, exit 2."""
    env = _env(tmp_path, "http://127.0.0.1:9")
    common = ["-m", "sr_zoo", "fit", "--model", "fsrcnn", "--scale", "2", f"--data.root={tmp_path / 'data'}",
              "--data.val=[]", "--data.samples_per_epoch=16", "--data.batch_size=16", "--trainer.max_steps=1",
              "--trainer.enable_progress_bar=false"]
    run = dict(capture_output=True, text=True, cwd=tmp_path, timeout=600, stdin=subprocess.DEVNULL)
    empty = subprocess.run([sys.executable, *common], env={**env, "WANDB_MODE": ""}, **run)
    assert empty.returncode == 0, empty.stderr[-3000:]
    assert "no W&B credentials found: logging offline" in empty.stderr and "Traceback" not in empty.stderr
    assert len(list((tmp_path / "wandb").glob("offline-run-*"))) == 1
    bad = subprocess.run([sys.executable, *common], env={**env, "WANDB_MODE": "ofline"}, **run)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines()[-1] == (
        "sr-zoo: error: WANDB_MODE='ofline': not a W&B mode; use one of online, offline, shared, disabled, dryrun, "
        "run (or unset it)")
