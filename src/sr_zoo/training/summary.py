"""``RunSummary``: what a ``fit`` did, said at its end: validation PSNR/SSIM per set (best and last) against
bicubic, where the checkpoint is, and the commands to resume, test and upscale with it."""

from __future__ import annotations

import copy
import math
import shlex
import time
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback, Timer

__all__ = ["RunSummary"]


class RunSummary(Callback):
    """Records ``val/<set>/psnr|ssim`` after each validation and prints a closing summary (rank 0)."""

    def __init__(self) -> None:
        # (epoch, step, {set: scores}, the scale the sets were scored at, the training stage then)
        self.history: list[tuple[int, int, dict[str, tuple[float, float]], int, str]] = []
        self._started = time.monotonic()

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._started = time.monotonic()

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        metrics = trainer.callback_metrics
        scores = {}
        for key, value in metrics.items():
            parts = key.split("/")
            if len(parts) == 3 and parts[0] == "val" and parts[2] == "psnr" and f"val/{parts[1]}/ssim" in metrics:
                scores[parts[1]] = (float(value), float(metrics[f"val/{parts[1]}/ssim"]))
        if scores:
            scale = getattr(trainer.datamodule, "eval_scale", None) or pl_module.scale
            stage = str(getattr(pl_module, "current_stage", ""))
            self.history.append((trainer.current_epoch, trainer.global_step, scores, int(scale), stage))

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero:
            print(self.summary(trainer, pl_module), flush=True)

    def summary(self, trainer: L.Trainer, pl_module: L.LightningModule) -> str:
        name, scale = getattr(pl_module, "model_name", type(pl_module).__name__.lower()), pl_module.scale
        minutes, seconds = divmod(int(time.monotonic() - self._started), 60)
        lines = [f"sr_zoo: fit done: {name} x{scale}, {trainer.current_epoch} epoch(s), "
                 f"{trainer.global_step:,} optimizer steps in {minutes}m{seconds:02d}s"]
        if self.history and self.history[-1][3] != scale:  # a curriculum (CSRCNN) still at a lower scale
            _, _, _, last_scale, stage = self.history[-1]
            lines.append(f"  scored at x{last_scale}: the run ended in its training stage {stage!r}, before x{scale} "
                         f"(the recipe's later stages train it); the scores and bicubic below are x{last_scale}")
        baseline = _bicubic(trainer, self.history[-1][3]) if self.history else {}
        below = False
        for set_name in dict.fromkeys(s for _, _, scores, _, _ in self.history for s in scores):
            runs = [(e, scores[set_name]) for e, _, scores, _, _ in self.history if set_name in scores]
            best_epoch, best = max(runs, key=lambda r: r[1][0])
            last = runs[-1][1]
            line = (f"  {set_name}: best {best[0]:.2f} / {best[1]:.4f} (epoch {best_epoch + 1}), "
                    f"last {last[0]:.2f} / {last[1]:.4f}")
            if set_name in baseline:
                b = baseline[set_name]
                line += f"; bicubic {b[0]:.2f} / {b[1]:.4f} ({last[0] - b[0]:+.2f} dB)"
                below = below or last[0] < b[0]
            lines.append(line)
        if below:
            lines.append(f"  below bicubic after {trainer.global_step:,} optimizer steps: expected this early (the "
                         "networks here pass bicubic after thousands of steps; the recipes in experiments/ train "
                         "for hundreds of thousands)")
        if not self.history:
            lines.append("  no validation ran (set --trainer.check_val_every_n_epoch or a longer budget)")
        checkpoint = getattr(trainer.checkpoint_callback, "last_model_path", "") or getattr(
            trainer.checkpoint_callback, "best_model_path", "")
        if checkpoint:
            ckpt = shlex.quote(str(checkpoint))
            config = Path(trainer.log_dir or ".") / "config.yaml"
            lines.append(f"  checkpoint: {checkpoint}")
            more_time, why = _more_time(trainer)
            lines.append(f"  resume:  sr-zoo fit --config {shlex.quote(str(config))} --ckpt_path {ckpt}{more_time}")
            if why:
                lines.append(f"           ({why})")
            lines.append(f"  test:    sr-zoo test --config {shlex.quote(str(config))} --ckpt_path {ckpt}")
            lines.append(f"  upscale: sr-zoo upscale IMAGES -o OUTDIR --model {name} --scale {scale} --ckpt {ckpt}")
        return "\n".join(lines)


def _more_time(trainer: L.Trainer) -> tuple[str, str]:
    """For a run its ``max_time`` ended (the demo's minutes): the resume line's larger budget and why, since the
    checkpoint keeps the time spent (Lightning's ``Timer``) and the same budget would train nothing."""
    timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)
    remaining = timer.time_remaining() if timer is not None else None
    if remaining is None or remaining > 0:
        return "", ""
    elapsed = timer.time_elapsed()
    total = math.ceil(2 * elapsed + remaining)  # what was spent, and the budget again
    days, rest = divmod(total, 86400)
    budget = f"{days:02d}:{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}"
    return (f" --trainer.max_time {budget}", f"its {_duration_words(elapsed + remaining)} are spent and the checkpoint "
            "keeps the time: a larger max_time trains as long again")


def _duration_words(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60} minutes" if seconds >= 60 and seconds % 60 == 0 else f"{seconds} s"


def _bicubic(trainer: L.Trainer, scale: int) -> dict[str, tuple[float, float]]:
    """Bicubic PSNR/SSIM on each validation set at ``scale``, as the model was scored (same sets, protocol, scale)."""
    datamodule = getattr(trainer, "datamodule", None)
    sets: Any = getattr(datamodule, "val_sets", None) or []
    if not sets:
        return {}
    from sr_zoo.errors import SRZooError
    from sr_zoo.inference.evaluation import evaluate
    from sr_zoo.models import create_model

    out = {}
    for dataset in sets:
        if dataset.scale != scale:
            dataset = copy.copy(dataset)
            dataset.set_scale(scale)
        model = create_model("bicubic", scale)
        try:
            result = evaluate(model, dataset, "bicubic")
        except (SRZooError, ValueError):  # a set that cannot be scored now (a file removed meanwhile): no baseline
            continue
        out[dataset.name] = (result.psnr, result.ssim)
    return out
