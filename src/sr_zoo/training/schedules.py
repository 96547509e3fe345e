"""The papers' schedules as Lightning callbacks: data, rate and stopping rules (CSRCNN's curriculum and loss
schedule, its alone, are in ``sr_zoo.models.csrcnn.schedules``).

Each one calls a declared method of the model (``set_curriculum``, ``set_loss``, the data module's
``add_train_stage``) at positions from ``sr_zoo.training.progress``."""

from __future__ import annotations

import math
from typing import Any, Sequence

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_info

from sr_zoo._compat import moved_names
from sr_zoo.training.checkpointing import checkpoint_dir
from sr_zoo.training.progress import Position, Schedule, ScheduleCallback, ScheduleEffect

__all__ = ["LossPlateau", "StepDecay", "SteadyStateStop", "TwoStepDataSchedule", "ValidationPlateau"]

# issue 29: CSRCNN's own schedules moved to its folder; the old names resolve there on first use, with a warning.
MOVED_TO_FOLDERS = {"Curriculum": "sr_zoo.models.csrcnn.schedules", "LossSchedule": "sr_zoo.models.csrcnn.schedules"}
__getattr__ = moved_names(__name__, MOVED_TO_FOLDERS)


class LossPlateau:
    """Epoch means of a training quantity, and for how many epochs they have not improved: the papers'
    "saturated" (EMTCM paper, Sec. 4.2) and "steady state" (CSRCNN paper, Sec. IV-B).

    An epoch improves when its mean is below ``(1 - min_improvement)`` times the best so far. The mean
    is kept as a running sum and count in this object's state (hand-written because Lightning's logged
    epoch aggregates are not checkpointed: a run resumed inside an epoch would end it with another
    mean), summed over ranks at the epoch's end, so every rank takes the same decision.
    """

    def __init__(self, patience: int, min_improvement: float = 1e-3) -> None:
        if patience < 1:
            raise ValueError(f"patience must be at least 1 epoch, got {patience}")
        self.patience, self.min_improvement = patience, min_improvement
        self.best, self.bad_epochs = math.inf, 0
        self.total: torch.Tensor | float = 0.0  # a tensor on the model's device while an epoch runs: no sync per batch
        self.count = 0

    def add(self, value: torch.Tensor) -> None:
        self.total = self.total + value.detach().float()
        self.count += 1

    def end_epoch(self, trainer: L.Trainer) -> bool:
        """Closes the epoch's mean; True once ``patience`` epochs in a row have not improved."""
        device = self.total.device if isinstance(self.total, torch.Tensor) else trainer.strategy.root_device
        sums = torch.stack([torch.as_tensor(self.total, dtype=torch.float64, device=device),
                            torch.tensor(float(self.count), dtype=torch.float64, device=device)])
        total, count = trainer.strategy.reduce(sums, reduce_op="sum").tolist()
        self.total, self.count = 0.0, 0
        if count == 0:
            return False
        mean = total / count
        if mean < self.best * (1 - self.min_improvement):
            self.best, self.bad_epochs = mean, 0
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    def restart(self) -> None:
        """Forget the best epoch (the data or the loss changed level)."""
        self.best, self.bad_epochs = math.inf, 0

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "bad_epochs": self.bad_epochs, "total": float(self.total), "count": self.count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.bad_epochs = float(state["best"]), int(state["bad_epochs"])
        self.total, self.count = float(state["total"]), int(state["count"])


def _scale_learning_rates(trainer: L.Trainer, factor: float) -> None:
    for optimizer in trainer.optimizers:
        for group in optimizer.param_groups:
            group["lr"] *= factor


def _monitored(outputs: Any, key: str) -> torch.Tensor | None:
    value = outputs.get(key) if isinstance(outputs, dict) else (outputs if key == "loss" else None)
    return value if isinstance(value, torch.Tensor) else None


class SteadyStateStop(Schedule):
    """Trains until the training loss stops improving: after ``patience`` epochs without a relative
    improvement of ``min_improvement``, the learning rates are multiplied by ``lr_factor`` (at most
    ``lr_decays`` times), and the next such plateau ends the run (CSRCNN paper, Sec. IV-B "we stopped
    training when the loss reached a steady state"; EMTCM paper, Sec. 4.2 "when the training is saturated").

    ``monitor`` names the value in the dict ``training_step`` returns (``loss``; CSRCNN's ``final_l1``
    exists once its curriculum is over). Its state is checkpointed, so a resumed run stops where the
    uninterrupted one would.
    """

    def __init__(self, patience: int = 10, min_improvement: float = 1e-3, monitor: str = "loss",
                 lr_decays: int = 0, lr_factor: float = 0.5) -> None:
        self.plateau = LossPlateau(patience, min_improvement)
        self.monitor, self.lr_decays, self.lr_factor = monitor, lr_decays, lr_factor
        self.decays_done = 0

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        value = _monitored(outputs, self.monitor)
        if value is not None:
            self.plateau.add(value)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.plateau.end_epoch(trainer):
            return
        epoch = trainer.current_epoch
        if self.decays_done < self.lr_decays:
            _scale_learning_rates(trainer, self.lr_factor)
            self.decays_done += 1
            self.plateau.bad_epochs = 0
            rank_zero_info(f"sr_zoo: epoch {epoch}: {self.monitor} has not improved for {self.plateau.patience} "
                           f"epochs; learning rates x{self.lr_factor} ({self.decays_done} of {self.lr_decays})")
        else:
            trainer.should_stop = True
            rank_zero_info(f"sr_zoo: epoch {epoch}: {self.monitor} reached a steady state "
                           f"(best epoch mean {self.plateau.best:.6g}); training stops")

    def describe(self, pl_module: L.LightningModule, position: Position) -> ScheduleEffect:
        decays = (f"rates x{self.lr_factor} on each of the first {self.lr_decays} plateaus, then stop"
                  if self.lr_decays else "stop")
        return ScheduleEffect(rules=[f"SteadyStateStop: after {self.plateau.patience} epochs without a "
                                     f"{self.plateau.min_improvement:.1%} improvement of the epoch mean of "
                                     f"{self.monitor}: {decays}"])

    def state_dict(self) -> dict[str, Any]:
        return {"plateau": self.plateau.state_dict(), "decays_done": self.decays_done}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.plateau.load_state_dict(state_dict["plateau"])
        self.decays_done = int(state_dict["decays_done"])


class StepDecay(Schedule):
    """Every learning rate multiplied by ``factor`` as the run reaches each optimizer step of ``milestones``,
    so that a constant-rate run ends at a lower rate (a recipe states its milestones and why).

    The rates live in the optimizers, whose state a checkpoint holds, so a resumed run goes on at the rate it
    had; a milestone is applied once, before the batch that starts at that step. Adding the callback to a run
    resumed before its first milestone changes nothing until then.
    """

    def __init__(self, milestones: Sequence[int], factor: float = 0.1) -> None:
        if not milestones or any(int(m) != m or m < 1 for m in milestones) or not 0 < factor:
            raise ValueError(f"milestones must be optimizer steps >= 1 and factor > 0, got {milestones!r}, {factor!r}")
        self.milestones, self.factor = sorted(int(m) for m in milestones), float(factor)
        self._applied_at: int | None = None

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        step = trainer.global_step
        if step in self.milestones and self._applied_at != step:  # once, also with gradient accumulation
            self._applied_at = step
            _scale_learning_rates(trainer, self.factor)
            rank_zero_info(f"sr_zoo: step {step}: learning rates x{self.factor:g} "
                           f"({self.milestones.index(step) + 1} of {len(self.milestones)} decays)")

    def describe(self, pl_module: L.LightningModule, position: Position) -> ScheduleEffect:
        # Milestones are optimizer steps, which the trace (in epochs or iterations) does not count: a rule.
        steps = ", ".join(f"{m:,}" for m in self.milestones)
        return ScheduleEffect(rules=[f"StepDecay: rates x{self.factor:g} at optimizer step(s) {steps}"])


class ValidationPlateau(Schedule):
    """Lower rates when a held-out score stops improving, then stop: after ``patience`` validations without a
    new best of ``monitor`` (by more than ``min_delta``), every learning rate x ``factor``, at most ``decays``
    times; the next such plateau ends the run.

    For a schedule that finishes without being chosen by a test score, validate on data that is neither trained
    on nor reported (General-100 for the 91-image recipes, issue 27). Hand-written rather than torch's
    ``ReduceLROnPlateau``: that needs the optimizer configured by the CLI (losing the papers' per-layer rates)
    and never stops. Acts at the end of each validation; save checkpoints there too (a ``ModelCheckpoint``
    without ``every_n_train_steps``), so that a resumed run holds every decision made before it. ``history``
    (step, score) is checkpointed: the held-out curve of the run.
    """

    def __init__(self, monitor: str = "val/psnr", mode: str = "max", patience: int = 2, min_delta: float = 0.0,
                 factor: float = 0.1, decays: int = 1) -> None:
        if mode not in ("max", "min") or patience < 1 or decays < 0 or not 0 < factor:
            raise ValueError(f"ValidationPlateau: mode 'max' or 'min', patience >= 1, decays >= 0, factor > 0; "
                             f"got {mode!r}, {patience}, {decays}, {factor}")
        self.monitor, self.mode, self.patience, self.min_delta = monitor, mode, patience, min_delta
        self.factor, self.decays = factor, decays
        self.best: float | None = None
        self.bad_validations = self.decays_done = 0
        self.history: list[tuple[int, float]] = []

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:
            raise KeyError(f"ValidationPlateau: no {self.monitor!r} after validation; logged: "
                           f"{', '.join(sorted(trainer.callback_metrics)) or 'nothing'}")
        score = float(value)
        self.history.append((trainer.global_step, score))
        sign = 1.0 if self.mode == "max" else -1.0
        if self.best is None or sign * (score - self.best) > self.min_delta:
            self.best, self.bad_validations = score, 0
        else:
            self.bad_validations += 1
        rank_zero_info(f"sr_zoo: step {trainer.global_step}: {self.monitor} {score:.4f} (best {self.best:.4f}, "
                       f"{self.bad_validations} of {self.patience} without improvement)")
        if self.bad_validations < self.patience:
            return
        self.bad_validations = 0
        if self.decays_done < self.decays:
            _scale_learning_rates(trainer, self.factor)
            self.decays_done += 1
            rank_zero_info(f"sr_zoo: {self.monitor} has not improved for {self.patience} validations; learning rates "
                           f"x{self.factor:g} ({self.decays_done} of {self.decays} decays)")
        else:
            trainer.should_stop = True
            rank_zero_info(f"sr_zoo: {self.monitor} has not improved for {self.patience} validations after "
                           f"{self.decays} decays; training stops")

    def describe(self, pl_module: L.LightningModule, position: Position) -> ScheduleEffect:
        decays = f"rates x{self.factor:g} on each of the first {self.decays} plateaus, then stop" if self.decays \
            else "stop"
        better = "higher" if self.mode == "max" else "lower"
        return ScheduleEffect(rules=[f"ValidationPlateau: after {self.patience} validations without a {better} "
                                     f"{self.monitor}" + (f" by more than {self.min_delta:g}" if self.min_delta
                                                          else "") + f": {decays}"])

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "bad_validations": self.bad_validations, "decays_done": self.decays_done,
                "history": [list(h) for h in self.history]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best, self.bad_validations = state_dict["best"], int(state_dict["bad_validations"])
        self.decays_done = int(state_dict["decays_done"])
        self.history = [(int(s), float(v)) for s, v in state_dict["history"]]


class TwoStepDataSchedule(ScheduleCallback):
    """EMTCM's two-step training (EMTCM paper, Sec. 4.2): the first sources until the first step ends,
    then ``add_sources`` as well, with every learning rate multiplied by ``lr_factor`` (halved).

    The first step ends at ``switch_epoch``, or, with ``switch_epoch=None``, "when the training is
    saturated": after ``patience`` epochs whose mean loss did not improve (``LossPlateau``). With
    ``stop_when_saturated``, the second step ends the same way. With ``step_checkpoint`` (a file name),
    the model at the end of the first step is saved next to the run's other checkpoints (the T91-only
    model of the paper's Table 2, before the fine-tuning of Table 4). The data is a stage of the datamodule
    (``SRDataModule.add_train_stage``), chosen by the epoch of the data stream, so a resumed run trains
    on the data of the epoch it resumes in; the switch epoch, the plateau and whether the rates were
    multiplied (once, before the first batch of the second step) are in the callback's checkpointed state.
    """

    def __init__(self, switch_epoch: int | None = None, add_sources: Sequence[str] = ("general100",),
                 lr_factor: float = 0.5, patience: int = 10, min_improvement: float = 1e-3,
                 stop_when_saturated: bool = False, step_checkpoint: str | None = None) -> None:
        self.switch_epoch = switch_epoch
        self.step_checkpoint = step_checkpoint
        self.add_sources = list(add_sources)
        self.lr_factor = lr_factor
        self.plateau = LossPlateau(patience, min_improvement)
        self.stop_when_saturated = stop_when_saturated
        self.switched = False
        self._datamodule: Any = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        datamodule = trainer.datamodule
        if stage != "fit" or datamodule is None:
            return
        if not hasattr(datamodule, "add_train_stage"):
            raise TypeError("TwoStepDataSchedule needs a datamodule with add_train_stage (SRDataModule)")
        self._datamodule = datamodule
        self._add_stage()
        if not trainer.reload_dataloaders_every_n_epochs:
            trainer.reload_dataloaders_every_n_epochs = 1  # asks for the loader each epoch; it changes once

    def _add_stage(self) -> None:
        if self._datamodule is not None and self.switch_epoch is not None:
            base = self._datamodule.train_sources
            self._datamodule.add_train_stage(self.switch_epoch, base + [s for s in self.add_sources if s not in base])

    def apply(self, trainer: L.Trainer, pl_module: L.LightningModule, position: Position) -> None:
        if self.switched or self.switch_epoch is None or position.epoch < self.switch_epoch:
            return
        _scale_learning_rates(trainer, self.lr_factor)
        self.switched = True
        self.plateau.restart()  # the second step's losses are on other data
        sources = trainer.datamodule.sources_for_epoch(position.epoch)
        rank_zero_info(f"sr_zoo: epoch {self.switch_epoch}: training on {', '.join(sources)}, "
                       f"learning rates x{self.lr_factor}")

    def describe(self, pl_module: L.LightningModule, position: Position) -> ScheduleEffect:
        rules = []
        if self.switch_epoch is None:
            rules.append(f"TwoStepDataSchedule: when the loss saturates ({self.plateau.patience} epochs without a "
                         f"{self.plateau.min_improvement:.1%} improvement): + {', '.join(self.add_sources)}, "
                         f"rates x{self.lr_factor}" + ("; the second step stops the same way"
                                                       if self.stop_when_saturated else ""))
        if self.step_checkpoint:
            rules.append(f"the model at the end of step one is kept as {self.step_checkpoint}")
        if self.switch_epoch is not None and position.epoch >= self.switch_epoch:
            return ScheduleEffect(sources=self.add_sources, rate_factor=self.lr_factor, rules=rules)
        return ScheduleEffect(rules=rules)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        value = _monitored(outputs, "loss")
        if value is not None and (self.switch_epoch is None or (self.switched and self.stop_when_saturated)):
            self.plateau.add(value)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.plateau.end_epoch(trainer):
            if self.switch_epoch is None:
                self.switch_epoch = trainer.current_epoch + 1
                self._add_stage()
                rank_zero_info(f"sr_zoo: epoch {trainer.current_epoch}: the first step is saturated "
                               f"(best epoch mean loss {self.plateau.best:.6g})")
            elif self.switched and self.stop_when_saturated:
                trainer.should_stop = True
                rank_zero_info(f"sr_zoo: epoch {trainer.current_epoch}: the second step is saturated; training stops")
        if self.step_checkpoint and self.switch_epoch == trainer.current_epoch + 1 and not self.switched:
            path = checkpoint_dir(trainer) / self.step_checkpoint
            trainer.save_checkpoint(path)  # every rank calls it; the strategy writes once
            rank_zero_info(f"sr_zoo: the first step's model is in {path}")

    def state_dict(self) -> dict[str, Any]:
        return {"switched": self.switched, "switch_epoch": self.switch_epoch, "plateau": self.plateau.state_dict()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.switched = bool(state_dict["switched"])
        self.switch_epoch = state_dict.get("switch_epoch", self.switch_epoch)
        if "plateau" in state_dict:
            self.plateau.load_state_dict(state_dict["plateau"])
        self._add_stage()


