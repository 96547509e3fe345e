"""Adversarial training shared by the GAN papers (MSFM GAN, SRGAN, SRSEG), on Lightning's manual optimization.

A ``GANModule`` holds a generator ``net`` and a ``discriminator`` and trains, per batch, in the stage a
``StageSchedule`` sets (``set_stage``): ``pretrain`` (generator, content loss), ``segmentation`` (SRSEG),
``d_warmup`` (discriminator alone), ``adversarial`` (``d_steps`` D updates, then one G update). Stage
lengths and rate decay count ``schedule_unit``s (iterations or epochs). What ``global_step``, clipping under
fp16, DDP batch norm and ``init_from`` mean here: docs/training.md.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal, Sequence

import lightning as L
import torch
from torch import Tensor, nn

from sr_zoo.data.batches import TrainBatch
from sr_zoo.losses import AdversarialLoss
from sr_zoo.models.base import SRModule
from sr_zoo.training.progress import StageSchedule, training_position

__all__ = ["GANModule", "step_decay"]


def step_decay(units: int, every: int, decay: float, restarts: Sequence[int] = ()) -> float:
    """``decay ** (n // every)``, ``n`` counted from the last restart at or before ``units`` (from 0 without
    one): a step schedule that can start again, e.g. at each of SRSEG's training steps (SRSEG paper, Sec. 3.5)."""
    if not every:
        return 1.0
    start = max((r for r in restarts if r <= units), default=0)
    return decay ** ((units - start) // every)


# What each stage trains: (discriminator, generator, adversarial term in G's loss).
_STAGE_UPDATES = {"pretrain": (False, True, False), "segmentation": (False, True, False),
                  "d_warmup": (True, False, False), "adversarial": (True, True, True)}


class GANModule(SRModule):
    """Generator ``net`` + ``discriminator`` trained by alternating updates (manual optimization).

    Subclasses build both networks and implement ``content_losses(sr, batch)``, a dict of weighted terms
    whose sum is the generator's non-adversarial loss. Optimizers: Adam for each side, no weight decay,
    rates multiplied by ``lr_decay`` every ``lr_decay_every`` schedule units (0: constant).

    The hyper-parameters are ``self.hparams``: ``__init__`` saves the subclass's arguments there (Lightning's
    ``save_hyperparameters`` collects them along the ``super().__init__()`` chain), so a subclass passes on
    only ``scale`` and ``sample_images``. Every subclass takes ``lr``, ``adversarial_weight``,
    ``adversarial_loss``, ``d_steps``, ``lr_decay_every``, ``lr_decay``, ``gradient_clip``, ``init_from`` and
    ``lr_schedule``; ``d_lr`` (default ``lr``), ``patch_reduction`` and ``lr_restarts`` are read where it
    takes them; the stage lengths come from ``stage_plan()``.
    """

    schedule_unit: Literal["iteration", "epoch"] = "iteration"  # what stage lengths and the rate decay count
    betas: tuple[float, float] = (0.9, 0.999)  # Adam's, for both sides

    def __init__(self, scale: int, sample_images: int = 1) -> None:
        super().__init__(scale, sample_images)
        self.save_hyperparameters(ignore=["perceptual_extractor"])  # a module, not a hyper-parameter
        if self.hparams.d_steps < 1:
            raise ValueError(f"d_steps must be >= 1, got {self.hparams.d_steps}")
        if self.hparams.lr_schedule not in ("run", "stage"):
            raise ValueError(f"lr_schedule must be 'run' or 'stage', got {self.hparams.lr_schedule!r}")
        self.automatic_optimization = False
        self.adversarial_loss = AdversarialLoss(self.hparams.adversarial_loss,
                                                self.hparams.get("patch_reduction", "mean_probability"))
        self.discriminator: nn.Module = nn.Identity()
        self._stage: str | None = None  # None until a schedule sets it: the first stage

    # ------------------------------------------------------------------ to implement
    def content_losses(self, sr: Tensor, batch: TrainBatch) -> dict[str, Tensor]:
        """Weighted non-adversarial generator terms, e.g. ``{"mse": ..., "perceptual": 0.1 * ...}``, each
        weighted by ``loss_weights(current_stage)`` and present only where that weight is non-zero."""
        raise NotImplementedError

    def loss_weights(self, stage: str) -> dict[str, float]:
        """The generator's loss terms in ``stage`` and their weights (zero-weight terms left out); the
        training step and the schedule trace both read this. Here: the adversarial term."""
        weight = self.hparams.adversarial_weight if _STAGE_UPDATES[stage][2] else 0.0
        return {"adversarial": weight} if weight else {}

    # ------------------------------------------------------------------ schedule and semantics
    def stage_plan(self) -> list[tuple[str, int | None]]:
        """Every stage with its length in ``schedule_unit``s (0: skipped; ``None``: to the end). Here the MSFM
        GAN's: ``pretrain_iterations``, ``d_warmup_iterations``, then adversarial."""
        return [("pretrain", self.hparams.pretrain_iterations), ("d_warmup", self.hparams.d_warmup_iterations),
                ("adversarial", None)]

    def stages(self) -> list[tuple[str, int | None]]:
        """The stages in order with their lengths in ``schedule_unit``s (``None``: to the end)."""
        return [(name, length) for name, length in self.stage_plan() if length != 0]

    def training_stages(self) -> list[str]:
        return [name for name, _ in self.stages()]

    @property
    def current_stage(self) -> str:
        return self._stage or self.stages()[0][0]

    @property
    def phase(self) -> str:
        """The current stage (the name older code and tests use)."""
        return self.current_stage

    def set_stage(self, stage: str) -> None:
        """Called by ``StageSchedule`` before each batch: the stage that batch trains in."""
        self.check_stage(stage)
        self._stage = stage

    def generator_parameters(self) -> dict[str, nn.Parameter]:
        """What the generator's optimizer updates: ``self.net`` (SRSEG adds its segmentation head)."""
        return self.named_trainable("net")

    def optimizer_parameters(self) -> dict[str, list[dict[str, Any]]]:
        """Two optimizers: ``generator`` (``generator_parameters()`` at ``lr``) and ``discriminator`` (at ``d_lr``)."""
        lr, d_lr = self.hparams.lr, self.hparams.get("d_lr")
        return {"generator": [{"params": self.generator_parameters(), "lr": lr}],
                "discriminator": [{"params": self.named_trainable("discriminator"),
                                   "lr": lr if d_lr is None else d_lr}]}

    def idle_parameters(self, stage: str) -> set[str]:
        """Parameters of a stepped optimizer that get no gradient in ``stage`` (none here; SRSEG's head
        before its segmentation stage)."""
        return set()

    def trained_parameters(self, stage: str) -> set[str]:
        """The generator's optimizer's parameters in stages that update G, the discriminator's in stages
        that update D (``_STAGE_UPDATES``), less ``idle_parameters(stage)``."""
        self.check_stage(stage)
        train_d, train_g, _ = _STAGE_UPDATES[stage]
        groups = self.optimizer_parameters()
        names = set()
        for optimizer, stepped in (("generator", train_g), ("discriminator", train_d)):
            if stepped:
                names |= {name for group in groups[optimizer] for name in group["params"]}
        return names - self.idle_parameters(stage)

    def stage_starts(self) -> list[int]:
        """The first ``schedule_unit`` of each stage."""
        starts, start = [], 0
        for _, length in self.stages():
            starts.append(start)
            start += length or 0
        return starts

    def lr_factor(self, units: int) -> float:
        """The learning-rate multiplier after ``units`` schedule units: ``lr_decay`` every ``lr_decay_every``
        units from the run's start (``lr_schedule="run"``) or from each stage's (``"stage"``), and from each
        of ``lr_restarts``."""
        restarts = list(self.hparams.get("lr_restarts") or ())
        if self.hparams.lr_schedule == "stage":
            restarts += self.stage_starts()
        return step_decay(units, self.hparams.lr_decay_every, self.hparams.lr_decay, restarts)

    def configure_callbacks(self) -> list:
        return [*super().configure_callbacks(), StageSchedule(self.stages(), unit=self.schedule_unit)]

    def on_fit_start(self) -> None:
        super().on_fit_start()  # init_from: a new run from another checkpoint's generator
        self.fetch_fit_weights(self.trainer)  # a Trainer of the user's: before any training

    def fetch_fit_weights(self, trainer: L.Trainer) -> None:
        """VGG16 for the perceptual loss, fetched (or found in the torch cache) when ``trainer``'s fit reaches the
        adversarial stage: a missing file fails before any training."""
        perceptual = getattr(self, "perceptual", None)
        if perceptual is not None and self.adversarial_reachable(trainer):
            perceptual.extractor()

    def adversarial_reachable(self, trainer: L.Trainer | None = None) -> bool:
        """Whether ``trainer``'s fit (default: this module's) reaches the adversarial stage (so VGG16 and the
        discriminator are needed)."""
        start = 0
        for name, length in self.stages():
            if name == "adversarial" or length is None:
                break
            start += length
        trainer = trainer if trainer is not None else self.trainer
        if self.schedule_unit == "epoch":
            limit = trainer.max_epochs if trainer.max_epochs not in (None, -1) else float("inf")
        else:  # before the adversarial stage an iteration makes at most d_steps optimizer steps, at least 1
            limit = trainer.max_steps if trainer.max_steps != -1 else float("inf")
        return start < limit

    def optimizer_steps(self, iterations: int, batches_per_epoch: int = 1) -> int:
        """Lightning's ``global_step`` after ``iterations`` batches from the start (for ``max_steps``);
        with stages in epochs, ``batches_per_epoch`` converts them."""
        per_unit = 1 if self.schedule_unit == "iteration" else batches_per_epoch
        steps, left = 0, iterations
        for name, length in self.stages():
            d, g, _ = _STAGE_UPDATES[name]
            n = left if length is None else min(left, length * per_unit)
            steps += n * (self.hparams.d_steps * d + g)
            left -= n
        return steps

    # ------------------------------------------------------------------ training
    def training_step(self, batch: TrainBatch, batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        lr, hr = batch["lr"], batch["hr"]
        sr = self.generate(lr)
        size = lr.shape[0]
        train_d, train_g, _ = _STAGE_UPDATES[self.current_stage]
        if train_d:
            for _ in range(self.hparams.d_steps):
                self._discriminator_step(opt_d, sr.detach(), hr, size)
        if train_g:
            self._generator_step(opt_g, sr, batch, size)
        if self._unit_ends(batch_idx):
            with warnings.catch_warnings():  # D's scheduler steps in stages where D does not (by design)
                warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step()` before")
                for scheduler in self._schedulers():
                    scheduler.step()  # once per schedule unit, whatever the stage (manual optimization steps them)

    def generate(self, lr: Tensor) -> Tensor:
        """The generator's SR output for a training batch (SRSEG also keeps its features here)."""
        return self.net(lr)

    def _unit_ends(self, batch_idx: int) -> bool:
        if self.schedule_unit == "iteration":
            return True
        position = training_position(self.trainer, batch_idx)
        return position.batch + 1 >= position.batches_per_epoch  # the data stream's epoch ends with this batch

    def _discriminator_step(self, opt_d: Any, fake: Tensor, real: Tensor, size: int) -> None:
        self.toggle_optimizer(opt_d)
        real_logits, fake_logits = self.discriminator(real), self.discriminator(fake)
        loss = self.adversarial_loss.discriminator(real_logits, fake_logits)
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        opt_d.step()
        self.untoggle_optimizer(opt_d)
        with torch.no_grad():
            self.log_dict({
                "train/d_loss": loss.detach(),
                "train/d_real": torch.sigmoid(real_logits.float()).mean(),
                "train/d_fake": torch.sigmoid(fake_logits.float()).mean(),
            }, batch_size=size)

    def _generator_step(self, opt_g: Any, sr: Tensor, batch: TrainBatch, size: int) -> None:
        self.toggle_optimizer(opt_g)
        terms = self.content_losses(sr, batch)
        weight = self.loss_weights(self.current_stage).get("adversarial")
        if weight:
            terms["adversarial"] = weight * self.adversarial_loss.generator(self.discriminator(sr))
        loss = sum(terms.values())
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        opt_g.step()
        self.untoggle_optimizer(opt_g)
        self.log("train/loss", loss.detach(), prog_bar=True, batch_size=size)
        self.log_dict({f"train/{k}": v.detach() for k, v in terms.items()}, batch_size=size)

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        super().on_train_batch_end(outputs, batch, batch_idx)
        # Under DDP each rank updates the discriminator's batch-norm statistics from its own batch and a
        # checkpoint keeps rank 0's: share rank 0's after every batch, so ranks agree and resume exactly.
        # (SyncBatchNorm, GPU only, pools them over the global batch instead: --trainer.sync_batchnorm true.)
        if self.trainer.world_size > 1 and torch.distributed.is_available() and torch.distributed.is_initialized():
            for buffer in self.discriminator.buffers():
                torch.distributed.broadcast(buffer, src=0)

    def on_before_optimizer_step(self, optimizer: Any) -> None:
        super().on_before_optimizer_step(optimizer)
        # Called after Lightning unscales fp16 gradients: the clip threshold is in true gradient units.
        if self.hparams.gradient_clip > 0:
            self.clip_gradients(optimizer, gradient_clip_val=self.hparams.gradient_clip, gradient_clip_algorithm="norm")

    def _schedulers(self) -> list:
        schedulers = self.lr_schedulers()
        if schedulers is None:
            return []
        return list(schedulers) if isinstance(schedulers, (list, tuple)) else [schedulers]

    def lr_log_name(self, index: int) -> str:
        return ("lr_g", "lr_d")[index]

    def configure_optimizers(self) -> Any:
        """Adam for each side, from ``optimizer_parameters()``; the rate follows ``lr_factor`` (a
        ``LambdaLR`` stepped once per schedule unit; its count is checkpointed)."""
        opt_g = torch.optim.Adam(self.param_groups("generator"), betas=self.betas)
        opt_d = torch.optim.Adam(self.param_groups("discriminator"), betas=self.betas)
        if not self.hparams.lr_decay_every:
            return [opt_g, opt_d]
        schedulers = [torch.optim.lr_scheduler.LambdaLR(o, self.lr_factor) for o in (opt_g, opt_d)]
        return [opt_g, opt_d], schedulers
