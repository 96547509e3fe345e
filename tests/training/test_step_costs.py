"""What a small model's training step spends besides its arithmetic (issue 27): the progress bar redraws by time,
step values reach Lightning only when something reads them, pixel-loss models train channels-last on the CPU."""

from __future__ import annotations

import csv
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import Callback, TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger

from helpers.standins import write_images
from sr_zoo.cli.lightning import finish_trainer
from sr_zoo.data import SRDataModule
from sr_zoo.models import create_model, training_logs
from sr_zoo.training.progress_bar import TimedProgressBar


def test_the_progress_bar_redraws_by_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """At most every ``min_interval`` seconds, and always at a bar's first and last batch."""
    bar = TimedProgressBar(min_interval=0.5)
    clock = iter([10.0, 10.1, 10.2, 10.6, 10.7, 10.8, 10.9, 11.0])
    monkeypatch.setattr("sr_zoo.training.progress_bar.time.monotonic", lambda: next(clock))
    assert [bar._should_update(n, 8) for n in range(1, 9)] == [True, False, False, True, False, False, False, True]


def test_the_zoo_trainer_swaps_only_lightnings_default_bar(tmp_path: Path) -> None:
    default = finish_trainer(L.Trainer(default_root_dir=tmp_path, logger=False))
    assert [type(c) for c in default.callbacks if isinstance(c, TQDMProgressBar)] == [TimedProgressBar]
    own = finish_trainer(L.Trainer(default_root_dir=tmp_path, logger=False,
                                   callbacks=[TQDMProgressBar(refresh_rate=7)]))
    bars = [(type(c), c.refresh_rate) for c in own.callbacks if isinstance(c, TQDMProgressBar)]
    assert bars == [(TQDMProgressBar, 7)]


class _Losses(Callback):
    """Each step's loss, and whether a 3x3 convolution's weight was channels-last during it."""

    def __init__(self) -> None:
        self.losses: list[float] = []
        self.channels_last: list[bool] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # noqa: ANN001
        self.losses.append(float(outputs["loss"]))
        weight = next(p for p in pl_module.net.parameters() if p.dim() == 4 and p.shape[1] > 1 and p.shape[-1] > 1)
        layout = weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()
        self.channels_last.append(layout)


def _fit(root: Path, steps: int, **trainer: object) -> tuple[L.LightningModule, L.Trainer, _Losses]:
    write_images(root / "train", n=2, size=48, blur=1.0)
    model = create_model("fsrcnn", 2)
    data = SRDataModule(train=[str(root / "train")], val=[], scale=2, patch_size=16, batch_size=4,
                        samples_per_epoch=8, num_workers=0, root=str(root), seed=0)
    losses = _Losses()
    fit = L.Trainer(max_steps=steps, accelerator="cpu", enable_progress_bar=False, enable_model_summary=False,
                    default_root_dir=root, callbacks=[losses], **trainer)
    fit.fit(model, datamodule=data)
    return model, fit, losses


def test_step_values_reach_the_loggers_as_if_logged_every_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``train/loss`` goes to Lightning on the steps whose values the loggers write (here every 2nd): the CSV has
    the loss of steps 2, 4 and 6, as ``self.log`` at every step would give it; no other step's value is logged."""
    monkeypatch.setattr(training_logs, "STEP_LOG_INTERVAL", 1e9)  # the progress bar's half-second refresh never comes
    logger = CSVLogger(tmp_path, name="csv")
    _, _, losses = _fit(tmp_path, 6, logger=logger, log_every_n_steps=2)
    with open(Path(logger.log_dir) / "metrics.csv") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("train/loss")]
    assert [int(r["step"]) for r in rows] == [1, 3, 5]  # Lightning's step column counts from 0
    assert [float(r["train/loss"]) for r in rows] == pytest.approx(losses.losses[1::2], rel=1e-6)


def test_pixel_models_train_channels_last_on_the_cpu_and_save_the_usual_layout(tmp_path: Path) -> None:
    model, trainer, steps = _fit(tmp_path, 2, logger=False)
    assert steps.channels_last == [True, True]
    assert all(p.is_contiguous() for p in model.net.parameters())  # back after fit, as a loaded model has it
    saved = torch.load(next(tmp_path.rglob("*.ckpt")), weights_only=True)["state_dict"]
    assert all(t.is_contiguous() for t in saved.values())
    # the same function in either layout, to float rounding
    lr = torch.rand(2, 1, 12, 12)
    nchw = create_model("fsrcnn", 2)
    nchw.load_state_dict(saved)
    with torch.no_grad():
        torch.testing.assert_close(model.net(lr), nchw.net(lr), rtol=1e-5, atol=1e-6)
