"""Small deterministic training runs for the resume tests (also run under DDP by ``helpers.ddp_resume_script``)."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import cv2
import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

from sr_zoo.data import SRDataModule
from sr_zoo.models import CSRCNN, EMTCM
from sr_zoo.training.checkpointing import AtomicCheckpointIO, InterruptCheckpoint
from sr_zoo.training.schedules import TwoStepDataSchedule

BATCHES_PER_EPOCH = 3  # 12 items per epoch and process, batches of 4


def images(folder: Path, n: int, seed: int, size: int = 64) -> Path:
    """``n`` smooth random RGB images (written once)."""
    if not folder.is_dir():
        folder.mkdir(parents=True)
        rng = np.random.default_rng(seed)
        for i in range(n):
            image = cv2.GaussianBlur(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), (0, 0), 1.5)
            cv2.imwrite(str(folder / f"{i}.png"), image)
    return folder


class SignalAt(Callback):
    """Sends ``signum`` to this process at the end of global batch ``step`` (counted from 1)."""

    def __init__(self, step: int, signum: int = signal.SIGTERM) -> None:
        self.step, self.signum, self.seen = step, signum, 0

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        if trainer.global_step == self.step and trainer.is_global_zero:
            os.kill(os.getpid(), self.signum)


class Trace(Callback):
    """Per batch: step, epoch, batch index, the batch's first patch sum, learning rate and schedule state."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:  # at the end: the model's own callbacks ran at the start
        net = pl_module.net
        self.rows.append((
            trainer.global_step - 1, trainer.current_epoch, batch_idx, round(float(batch["hr"][0].sum()), 4),
            trainer.optimizers[0].param_groups[0]["lr"], getattr(net, "active_levels", None),
            round(getattr(net, "blend", 1.0), 6), getattr(pl_module, "loss_kind", None),
            getattr(pl_module, "phase", None),
        ))


def run(model_name: str, root: Path, epochs: int, ckpt: str | None = None, callbacks: tuple = (), workers: int = 0,
        devices: int = 1, every_step: bool = True, max_steps: int = -1) -> tuple[L.LightningModule, L.Trainer, Trace]:
    """Train ``emtcm`` (two-step data schedule at epoch 2; ``emtcm-bank``: the same from a patch bank, on Y) or
    ``csrcnn`` (x4 curriculum: x2 for 2 epochs, then x4 blended in over 1 epoch; L1 then L2/L1 alternating) for
    ``epochs`` from seed 0."""
    L.seed_everything(0, workers=True)
    first, extra = images(root / "t91", 3, 0), images(root / "general100", 2, 5)
    val = images(root / "val", 1, 9, size=48)
    if model_name == "msfmgan":  # MSE for 4 batches, D alone for 1, then adversarial; rates x0.5 every 5
        from helpers.gan_helpers import tiny_gan

        scale, schedule, train = 2, [], [str(first)]
        model = tiny_gan(pretrain_iterations=4, d_warmup_iterations=1, lr_decay_every=5, lr_decay=0.5, lr=1e-3)
    elif model_name in ("emtcm", "emtcm-bank"):
        scale, model = 2, EMTCM(scale=2)
        schedule = [TwoStepDataSchedule(switch_epoch=2, add_sources=[str(extra)])]
        train = [str(first)]
    else:
        scale = 4
        model = CSRCNN(scale=4, blocks_per_level=[1, 1], stage_epochs=[2], blend_epochs=1, l1_epochs=3,
                       loss_period=1, optimizer="adam", lr=1e-3)
        schedule, train = [], [str(first), str(extra)]
    # CSRCNN's levels above the curriculum's stage take no part in the loss: DDP must be told so.
    # Nor do the GAN's discriminator (MSE stage) or generator (D steps) in every backward pass.
    strategy = "ddp_find_unused_parameters_true" if model_name in ("csrcnn", "msfmgan") else "ddp"
    bank = {"bank": True, "bank_stride": 2} if model_name == "emtcm-bank" else {}
    data = SRDataModule(train=train, val=[str(val)], scale=scale, patch_size=8 * scale, batch_size=4,
                        samples_per_epoch=12 * devices, num_workers=workers, root=str(root / "cache"), **bank)
    saver = ModelCheckpoint(dirpath=root / "run" / "checkpoints", filename="{step}", save_top_k=-1,
                            every_n_train_steps=1 if every_step else None, save_last=True)
    trainer = L.Trainer(
        accelerator="cpu", devices=devices, strategy=strategy if devices > 1 else "auto", max_epochs=epochs,
        max_steps=max_steps, deterministic=True, logger=False, enable_progress_bar=False, enable_model_summary=False,
        default_root_dir=root / "run",
        callbacks=[*schedule, *callbacks, trace := Trace(), saver, InterruptCheckpoint()],
        plugins=[AtomicCheckpointIO()],
    )
    trainer.fit(model, datamodule=data, ckpt_path=ckpt)
    return model, trainer, trace


def gan_steps(batches: int) -> int:
    """The optimizer steps of the ``msfmgan`` run after ``batches`` batches (its checkpoints are named by them)."""
    from helpers.gan_helpers import tiny_gan

    return tiny_gan(pretrain_iterations=4, d_warmup_iterations=1).optimizer_steps(batches)


def weights(module: L.LightningModule) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
