"""Training with the Trainer: checkpoints rebuild models, cross-scale fine-tuning, the two-step schedule."""

from __future__ import annotations

from pathlib import Path

import cv2
import lightning as L
import numpy as np
import pytest
import torch

from sr_zoo.data import SRDataModule
from sr_zoo.errors import SRZooError
from sr_zoo.models import EMTCM, create_model, read_checkpoint
from sr_zoo.training.schedules import TwoStepDataSchedule


def _folder(path: Path, n: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    path.mkdir(parents=True)
    for i in range(n):
        image = cv2.GaussianBlur(rng.integers(0, 256, (60, 60, 3), dtype=np.uint8), (0, 0), 2)
        cv2.imwrite(str(path / f"{i}.png"), image)
    return path


def _data(tmp_path: Path, scale: int, **kwargs) -> SRDataModule:
    train = kwargs.pop("train", [str(_folder(tmp_path / "train", 3, 0))])
    val = kwargs.pop("val", [str(_folder(tmp_path / "val", 1, 1))])
    return SRDataModule(train=train, val=val, scale=scale, patch_size=8 * scale, batch_size=4,
                        samples_per_epoch=8, num_workers=0, root=str(tmp_path / "root"), **kwargs)


def _trainer(tmp_path: Path, epochs: int, **kwargs) -> L.Trainer:
    return L.Trainer(accelerator="cpu", max_epochs=epochs, logger=False, enable_progress_bar=False,
                     enable_model_summary=False, default_root_dir=tmp_path, **kwargs)


def test_checkpoint_rebuilds_the_model_for_benchmark(tmp_path: Path) -> None:
    model = EMTCM(scale=3)
    trainer = _trainer(tmp_path, 1)
    trainer.fit(model, datamodule=_data(tmp_path, 3))
    path = tmp_path / "emtcm.ckpt"
    trainer.save_checkpoint(path)
    saved = read_checkpoint(path)  # weights_only=True
    assert saved["sr_zoo"] == {"model": "emtcm", "scale": 3}
    rebuilt = create_model("emtcm", 3, checkpoint=path).eval()
    lr = torch.rand(1, 3, 10, 10)
    with torch.no_grad():
        assert torch.equal(rebuilt(lr), model.eval()(lr))
    with pytest.raises(SRZooError, match="trained for scale 3, not 2"):
        create_model("emtcm", 2, checkpoint=path)
    with pytest.raises(SRZooError, match="a checkpoint of 'emtcm', not of 'fsrcnn'"):
        create_model("fsrcnn", 3, checkpoint=path)
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(SRZooError, match="junk.ckpt: not a loadable checkpoint"):
        create_model("emtcm", 3, checkpoint=tmp_path / "junk.ckpt")


def test_cross_scale_finetuning_changes_only_the_deconvolution(tmp_path: Path) -> None:
    x3 = EMTCM(scale=3)
    trainer = _trainer(tmp_path / "x3", 1)
    trainer.fit(x3, datamodule=_data(tmp_path / "d3", 3))
    x3_path = tmp_path / "x3.ckpt"
    trainer.save_checkpoint(x3_path)
    start = {k: v.clone() for k, v in x3.net.state_dict().items()}

    x2 = EMTCM(scale=2, init_from=str(x3_path), finetune="deconv")
    assert [n for n, p in x2.named_parameters() if p.requires_grad] == ["net.deconv.weight", "net.deconv.bias"]
    trainer = _trainer(tmp_path / "x2", 2)
    data = _data(tmp_path / "d2", 2)
    trainer.fit(x2, datamodule=data)
    after = x2.net.state_dict()
    for name, value in after.items():
        if name.startswith("deconv."):
            assert not torch.equal(value, start[name]), f"{name} was not trained"
        else:
            assert torch.equal(value, start[name]), f"{name} changed"
    # Resume: the frozen part stays frozen (and init_from is not re-read).
    resumed = EMTCM(scale=2, init_from=str(tmp_path / "gone.ckpt"), finetune="deconv")
    trainer = _trainer(tmp_path / "x2", 3)
    ckpt = tmp_path / "x2" / "checkpoints" / "epoch=1-step=4.ckpt"
    trainer.fit(resumed, datamodule=_data(tmp_path / "d2b", 2), ckpt_path=str(ckpt))
    for name, value in resumed.net.state_dict().items():
        if not name.startswith("deconv."):
            assert torch.equal(value, start[name]), f"{name} changed after resume"


class _Recorder(L.Callback):
    def __init__(self) -> None:
        self.epochs: dict[int, tuple[list[float], list[str], int]] = {}

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        rates = [g["lr"] for g in trainer.optimizers[0].param_groups]
        dataset = trainer.train_dataloader.dataset
        sources = trainer.datamodule.sources_for_epoch(trainer.current_epoch)
        self.epochs[trainer.current_epoch] = (rates, sources, len(dataset.records))


def test_two_step_schedule_switches_data_and_halves_rates_and_survives_resume(tmp_path: Path) -> None:
    first = str(_folder(tmp_path / "t91", 2, 0))
    extra = str(_folder(tmp_path / "general100", 3, 5))
    recorder = _Recorder()
    schedule = TwoStepDataSchedule(switch_epoch=2, add_sources=[extra])
    trainer = _trainer(tmp_path / "run", 3, callbacks=[schedule, recorder])
    trainer.fit(EMTCM(scale=2), datamodule=_data(tmp_path / "d", 2, train=[first]))
    assert recorder.epochs[0] == ([1e-3, 1e-4], [first], 2)
    assert recorder.epochs[1] == ([1e-3, 1e-4], [first], 2)
    assert recorder.epochs[2] == ([5e-4, 5e-5], [first, extra], 5)

    # Resume from the checkpoint written after the switch (end of epoch 2): extended data, rates stay halved.
    ckpt = next((tmp_path / "run" / "checkpoints").glob("epoch=2-*.ckpt"))
    recorder = _Recorder()
    schedule = TwoStepDataSchedule(switch_epoch=2, add_sources=[extra])
    trainer = _trainer(tmp_path / "run", 4, callbacks=[schedule, recorder])
    trainer.fit(EMTCM(scale=2), datamodule=_data(tmp_path / "d2", 2, train=[first]), ckpt_path=str(ckpt))
    assert recorder.epochs == {3: ([5e-4, 5e-5], [first, extra], 5)}

    # Resume from before the switch (end of epoch 0): the switch still happens, once.
    ckpt = tmp_path / "early.ckpt"
    recorder = _Recorder()
    early = _trainer(tmp_path / "early", 1, callbacks=[TwoStepDataSchedule(switch_epoch=2, add_sources=[extra])])
    early.fit(EMTCM(scale=2), datamodule=_data(tmp_path / "d3", 2, train=[first]))
    early.save_checkpoint(ckpt)
    schedule = TwoStepDataSchedule(switch_epoch=2, add_sources=[extra])
    trainer = _trainer(tmp_path / "late", 4, callbacks=[schedule, recorder])
    trainer.fit(EMTCM(scale=2), datamodule=_data(tmp_path / "d4", 2, train=[first]), ckpt_path=str(ckpt))
    assert recorder.epochs[1] == ([1e-3, 1e-4], [first], 2)
    assert recorder.epochs[2] == ([5e-4, 5e-5], [first, extra], 5)
    assert recorder.epochs[3] == ([5e-4, 5e-5], [first, extra], 5)


class _EpochLoss(L.Callback):
    def __init__(self) -> None:
        self.rows: dict[int, tuple[float, list[str], float, str]] = {}

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        sources = trainer.datamodule.sources_for_epoch(trainer.current_epoch)
        weights = "%.6f" % float(sum(p.detach().double().sum() for p in pl_module.parameters()))
        self.rows[trainer.current_epoch] = (float(trainer.callback_metrics["train/epoch_loss"]), sources,
                                            trainer.optimizers[0].param_groups[0]["lr"], weights)


def test_loss_plateau_by_hand_and_its_mean_survives_a_checkpoint_inside_an_epoch() -> None:
    from types import SimpleNamespace

    from sr_zoo.training.schedules import LossPlateau

    trainer = SimpleNamespace(strategy=SimpleNamespace(reduce=lambda t, reduce_op: t, root_device=torch.device("cpu")))
    plateau = LossPlateau(patience=2, min_improvement=0.1)
    decisions = []
    for epoch_values in ([1.0, 1.0], [0.95, 0.95], [0.85, 0.95], [0.9, 0.9]):
        for value in epoch_values:
            plateau.add(torch.tensor(value))
        decisions.append((plateau.end_epoch(trainer), round(plateau.best, 6), plateau.bad_epochs))
    # 1.0 is the first best; 0.95 is not 10% better; 0.9 is; 0.9 again is not.
    assert decisions == [(False, 1.0, 0), (False, 1.0, 1), (False, 0.9, 0), (False, 0.9, 1)]
    plateau.add(torch.tensor(1.0))
    assert plateau.end_epoch(trainer) is True and plateau.bad_epochs == 2
    assert plateau.end_epoch(trainer) is False  # an epoch without values decides nothing

    # A checkpoint after the first batch of an epoch: the restored plateau ends the epoch with the mean of
    # both batches (0.8: an improvement), as the uninterrupted one does; the second batch alone (1.4) is not.
    fresh = LossPlateau(patience=1, min_improvement=0.1)
    fresh.add(torch.tensor(1.0))
    fresh.end_epoch(trainer)
    fresh.add(torch.tensor(0.2))
    restored = LossPlateau(patience=1, min_improvement=0.1)
    restored.load_state_dict(fresh.state_dict())
    for p in (fresh, restored):
        p.add(torch.tensor(1.4))
    assert fresh.end_epoch(trainer) is False and restored.end_epoch(trainer) is False
    assert restored.best == pytest.approx(0.8) == fresh.best


def test_two_step_schedule_switches_and_stops_when_saturated_also_after_a_resume(tmp_path: Path) -> None:
    """EMTCM paper, Sec. 4.2: T91 "when the training is saturated", then + General-100 at half the rates,
    again until saturated. The decisions replay from the logged epoch means, and a run resumed inside
    an epoch (per-batch checkpoints) takes the same ones, with the same weights."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    first = str(_folder(tmp_path / "t91", 2, 0))
    extra = str(_folder(tmp_path / "general100", 3, 5))

    def run(folder: str, ckpt: Path | None = None) -> tuple[_EpochLoss, L.Trainer]:
        L.seed_everything(0)
        watch = _EpochLoss()
        schedule = TwoStepDataSchedule(switch_epoch=None, add_sources=[extra], patience=1, stop_when_saturated=True,
                                       step_checkpoint="step1.ckpt")
        every_batch = ModelCheckpoint(dirpath=tmp_path / folder, every_n_train_steps=1, save_top_k=-1,
                                      filename="{epoch}-{step}")
        trainer = _trainer(tmp_path / folder, 40, callbacks=[schedule, watch, every_batch], limit_val_batches=0)
        model = EMTCM(scale=2, lr=2e-3, deconv_lr=2e-4)
        trainer.fit(model, datamodule=_data(tmp_path / f"d{folder}", 2, train=[first], seed=0),
                    ckpt_path=None if ckpt is None else str(ckpt))
        return watch, trainer

    watch, trainer = run("full")
    rows = watch.rows
    # Replay LossPlateau's rule (patience 1, 0.1%): the first non-improving epoch ends step one.
    best, switch, stop = float("inf"), None, None
    for epoch in sorted(rows):
        loss = rows[epoch][0]
        if epoch == switch:
            best = float("inf")  # the second step's losses are on other data
        if loss < best * (1 - 1e-3):
            best = loss
        elif switch is None:
            switch = epoch + 1
        else:
            stop = epoch
            break
    assert switch is not None and stop is not None and max(rows) == stop < 39
    for epoch, (_, sources, rate, _) in rows.items():
        assert sources == ([first] if epoch < switch else [first, extra])
        assert rate == pytest.approx(2e-3 if epoch < switch else 1e-3, rel=1e-12)

    # Resume from inside the epoch before the switch and from inside the second step.
    # The first step's model was kept: the weights at the end of epoch switch - 1.
    step1 = read_checkpoint(tmp_path / "full" / "step1.ckpt")
    assert "%.6f" % float(sum(v.double().sum() for v in step1["state_dict"].values())) == rows[switch - 1][3]
    assert step1["epoch"] == switch - 1
    steps = sorted((tmp_path / "full").glob("*step=*.ckpt"), key=lambda p: int(p.stem.split("step=")[1]))
    per_epoch = 2  # 8 samples in batches of 4
    for global_step in ((switch - 1) * per_epoch + 1, switch * per_epoch + 1):
        ckpt = next(p for p in steps if p.stem.endswith(f"-step={global_step}"))
        resumed, _ = run(f"resumed{global_step}", ckpt)
        first_epoch = global_step // per_epoch
        assert {e: r[1:] for e, r in resumed.rows.items()} == {e: r[1:] for e, r in rows.items() if e >= first_epoch}


def test_validation_logs_sample_images_and_per_set_metrics(tmp_path: Path) -> None:
    from lightning.pytorch.loggers import CSVLogger

    class ImageLogger(CSVLogger):  # the image method of WandbLogger, recorded
        images: list = []

        def log_image(self, key: str, images: list, caption: list, step: int) -> None:
            self.images.append((key, images[0].shape, caption))

    logger = ImageLogger(tmp_path)
    trainer = L.Trainer(accelerator="cpu", logger=logger, enable_progress_bar=False, enable_model_summary=False)
    data = _data(tmp_path, 2, val=[str(_folder(tmp_path / "Set5", 2, 3)), str(_folder(tmp_path / "Set14", 1, 4))])
    per_loader = trainer.validate(EMTCM(scale=2), datamodule=data, verbose=False)
    metrics = {k: v for d in per_loader for k, v in d.items()}
    assert {"val/Set5/psnr", "val/Set5/ssim", "val/Set14/psnr", "val/Set14/ssim", "val/psnr"} <= set(metrics)
    assert metrics["val/psnr"] == metrics["val/Set5/psnr"]
    # One sample (the first image of the first set): bicubic | SR | HR, 60x60 each with 4-pixel padding.
    assert logger.images == [("samples/0", torch.Size([3, 68, 196]), ["bicubic | SR | HR"])]


def test_step_decay_multiplies_the_rates_once_at_each_milestone() -> None:
    """``StepDecay``: x factor at each milestone step, once even when a step spans several batches
    (gradient accumulation); a run resumed past a milestone keeps the rate its optimizer state holds."""
    from types import SimpleNamespace

    from sr_zoo.training.schedules import StepDecay

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    trainer = SimpleNamespace(global_step=0, optimizers=[optimizer])
    decay = StepDecay([4, 2], factor=0.5)
    rates = []
    for step in range(6):
        trainer.global_step = step
        for batch in range(2):  # two batches per optimizer step
            decay.on_train_batch_start(trainer, None, None, batch)
        rates.append(optimizer.param_groups[0]["lr"])
    assert rates == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    resumed = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    resumed.load_state_dict(optimizer.state_dict())  # as a checkpoint restores it
    trainer = SimpleNamespace(global_step=5, optimizers=[resumed])
    StepDecay([2, 4], factor=0.5).on_train_batch_start(trainer, None, None, 0)
    assert resumed.param_groups[0]["lr"] == 0.25
    with pytest.raises(ValueError, match="milestones must be optimizer steps"):
        StepDecay([0])


def test_validation_plateau_decays_then_stops_and_resumes_its_decisions() -> None:
    """``ValidationPlateau`` (max, patience 2, one decay x0.1): the scores 30, 31, 30.5, 30.9 | 31.5, 31.4,
    31.2 decay the rates after the fourth validation and stop the run after the seventh; its checkpointed
    state carries the best score, the count and the history into a resumed run."""
    from types import SimpleNamespace

    from sr_zoo.training.schedules import ValidationPlateau

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    trainer = SimpleNamespace(global_step=0, optimizers=[optimizer], sanity_checking=False, should_stop=False,
                              callback_metrics={})
    plateau = ValidationPlateau(patience=2, factor=0.1, decays=1)
    rates, stops = [], []
    for i, score in enumerate([30.0, 31.0, 30.5, 30.9, 31.5, 31.4, 31.2]):
        trainer.global_step = 10 * (i + 1)
        trainer.callback_metrics = {"val/psnr": torch.tensor(score)}
        if i == 4:  # resumed from a checkpoint written after the fourth validation
            plateau, saved = ValidationPlateau(patience=2, factor=0.1, decays=1), plateau.state_dict()
            plateau.load_state_dict(saved)
        plateau.on_validation_end(trainer, None)
        rates.append(optimizer.param_groups[0]["lr"])
        stops.append(trainer.should_stop)
    assert rates == pytest.approx([1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.1])
    assert stops == [False] * 6 + [True]
    assert plateau.history[0] == (10, 30.0) and plateau.history[-1][0] == 70 and plateau.best == 31.5
    trainer.sanity_checking, trainer.callback_metrics = True, {}
    plateau.on_validation_end(trainer, None)  # the sanity check's scores are not a validation
    trainer.sanity_checking = False
    with pytest.raises(KeyError, match="no 'val/psnr' after validation"):
        plateau.on_validation_end(trainer, None)


def test_validation_plateau_in_a_real_fit_stops_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``sr-zoo fit`` with ``ValidationPlateau`` (patience 1, no decay) and a validation every 2 steps stops
    at the second validation unless it beats the first; its history is in the last checkpoint. The recipe's
    ``ModelCheckpoint`` (the default's settings but a snapshot per validation) replaces the default one."""
    from sr_zoo.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SR_ZOO_DATA", str(tmp_path / "data"))
    recipe = tmp_path / "plateau.yaml"
    recipe.write_text("trainer:\n  val_check_interval: 2\n  check_val_every_n_epoch: null\n  callbacks:\n"
                      "    - class_path: sr_zoo.training.schedules.ValidationPlateau\n"
                      "      init_args:\n        patience: 1\n        decays: 0\n        min_delta: 100\n"
                      "    - class_path: lightning.pytorch.callbacks.ModelCheckpoint\n"
                      "      init_args:\n        save_last: true\n        save_top_k: -1\n"
                      "        filename: '{step}'\n")
    assert main(["fit", "--model", "fsrcnn", "--scale", "2", "--config", str(recipe), "--trainer.max_steps", "50",
                 "--data.val", "[demo]", "--trainer.enable_progress_bar", "false"]) == 0
    saved = read_checkpoint(next(tmp_path.rglob("last.ckpt")))
    assert saved["global_step"] == 4  # min_delta 100 dB: the second validation cannot improve
    (state,) = [v for k, v in saved["callbacks"].items() if k.startswith("ValidationPlateau")]
    assert [step for step, _ in state["history"]] == [2, 4]
    assert sorted(p.name for p in tmp_path.rglob("step*.ckpt")) == ["step=2.ckpt", "step=4.ckpt"]


def test_step_decay_in_a_real_fit_lowers_the_rates_from_its_milestone(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """``sr-zoo fit`` with ``StepDecay`` given as a recipe gives it: the last checkpoint's optimizer holds the
    recipe's rates times the factor (FSRCNN: 1e-3 for the convolutions, 1e-4 for the deconvolution)."""
    from sr_zoo.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SR_ZOO_DATA", str(tmp_path / "data"))
    recipe = tmp_path / "decay.yaml"
    recipe.write_text("trainer:\n  callbacks:\n    - class_path: sr_zoo.training.schedules.StepDecay\n"
                      "      init_args:\n        milestones: [2]\n        factor: 0.5\n")
    assert main(["fit", "--model", "fsrcnn", "--scale", "2", "--config", str(recipe), "--trainer.max_steps", "3",
                 "--data.val", "[]", "--trainer.enable_progress_bar", "false"]) == 0
    saved = read_checkpoint(next(tmp_path.rglob("last.ckpt")))  # the default logger's run folder
    assert saved["global_step"] == 3
    rates = sorted(group["lr"] for group in saved["optimizer_states"][0]["param_groups"])
    assert rates == pytest.approx([0.5e-4, 0.5e-3])
