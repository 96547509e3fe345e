"""What every zoo model does in validation and testing: each benchmark set scored with the Y-channel metrics
(PSNR, SSIM and any the datamodule asks for), bicubic | SR | HR panels to the loggers, a per-image table of a test.
A part of ``SRModule`` (``sr_zoo.models.base``)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torchmetrics import MetricCollection
from torchvision.utils import make_grid

from sr_zoo.data.batches import EvalBatch
from sr_zoo.metrics import YPSNR, YSSIM
from sr_zoo.ops import imresize

__all__ = ["Evaluation"]


class Evaluation:
    """Validation and test steps of a ``LightningModule`` with ``self.metrics`` (an ``nn.ModuleDict``), ``scale``,
    ``sample_images`` and ``forward``: each set's metrics logged as ``<stage>/<Set>/psnr`` (the first set's PSNR also
    as ``<stage>/psnr``), the border cropped being the factor scored (``eval_scale``)."""

    sample_every_n_epochs: int = 1  # how often the bicubic | SR | HR panels go to the logger
    sample_crop: int = 128  # HR side of the aligned crop shown in each panel

    @property
    def eval_scale(self) -> int:
        """The factor ``forward`` upscales by now (a curriculum stage may be below ``scale``)."""
        return self.scale

    def on_validation_epoch_start(self) -> None:
        for collection in self.metrics.values():  # the border cropped is the factor being scored
            for metric in collection.values():
                metric.crop_border = self.eval_scale

    def _set_names(self, stage: str) -> list[str]:
        try:
            datamodule = getattr(self.trainer, "datamodule", None)
        except RuntimeError:  # not attached to a Trainer (Lightning's `trainer` property says so)
            datamodule = None
        names = getattr(datamodule, f"{stage}_names", None) if datamodule is not None else None
        return list(names) if names else [stage]

    def setup(self, stage: str) -> None:
        super().setup(stage)
        for prefix in ("val", "test"):
            if (prefix == "val" and stage in ("fit", "validate")) or (prefix == "test" and stage == "test"):
                for name in self._set_names(prefix):
                    key = f"{prefix}/{name}"
                    if key not in self.metrics:
                        self.metrics[key] = MetricCollection(
                            {"psnr": YPSNR(crop_border=self.scale), "ssim": YSSIM(crop_border=self.scale),
                             **self._extra_eval_metrics()},
                            prefix=f"{key}/",
                        ).to(self.device)

    def _extra_eval_metrics(self) -> dict[str, Any]:
        """The metrics the datamodule asks for beside PSNR/SSIM (``SRDataModule(eval_metrics=...)``)."""
        try:
            names = getattr(self.trainer.datamodule, "eval_metrics", None) or []
        except RuntimeError:  # not attached to a Trainer
            names = []
        from sr_zoo.metrics import extra_metrics

        return extra_metrics(names, crop_border=self.scale)

    def _evaluate(self, prefix: str, batch: EvalBatch, batch_idx: int, dataloader_idx: int) -> None:
        names = self._set_names(prefix)
        key = f"{prefix}/{names[dataloader_idx] if dataloader_idx < len(names) else dataloader_idx}"
        if batch["hr"].numel() == 0:  # an image that could not be decoded (BenchmarkDataset warned and counted it)
            return
        sr = self(batch["lr"])
        metrics = self.metrics[key]
        metrics.update(sr, batch["hr"])
        self.log_dict(metrics, batch_size=sr.shape[0], add_dataloader_idx=False, sync_dist=False,
                      prog_bar=prefix == "val")  # each set's PSNR/SSIM on the progress bar
        if dataloader_idx == 0:
            self.log(f"{prefix}/psnr", metrics["psnr"], batch_size=sr.shape[0], add_dataloader_idx=False)
        if prefix == "val" and dataloader_idx == 0 and batch_idx < self.sample_images:
            self._log_sample(batch, sr, batch_idx)
        if prefix == "test":
            self._record_test_image(key.split("/", 1)[1], batch, metrics)

    def validation_step(self, batch: EvalBatch, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._evaluate("val", batch, batch_idx, dataloader_idx)

    def test_step(self, batch: EvalBatch, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._evaluate("test", batch, batch_idx, dataloader_idx)

    def _log_sample(self, batch: EvalBatch, sr: Tensor, index: int) -> None:
        """Aligned crops, bicubic | SR | HR side by side, to loggers that take images (W&B, TensorBoard),
        every ``sample_every_n_epochs`` epochs, for the first ``sample_images`` validation images."""
        if self.logger is None or self.trainer.sanity_checking or self.current_epoch % self.sample_every_n_epochs:
            return
        bicubic = imresize(batch["lr"][:1], scale=self.eval_scale).clamp(0, 1)
        h, w = sr.shape[-2:]
        side = min(self.sample_crop, h, w)
        top, left = (h - side) // 2, (w - side) // 2  # the same region of all three
        crops = [x[:1, :, top : top + side, left : left + side] for x in (bicubic, sr, batch["hr"])]
        grid = make_grid(torch.cat(crops).expand(-1, 3, -1, -1), nrow=3, padding=4)
        name = batch.get("name", [f"sample{index}"])[0]
        for logger in self.loggers:
            if hasattr(logger, "log_image"):  # WandbLogger
                logger.log_image(key=f"samples/{name}", images=[grid], caption=["bicubic | SR | HR"],
                                 step=self.global_step)
            elif hasattr(getattr(logger, "experiment", None), "add_image"):  # TensorBoard
                logger.experiment.add_image(f"samples/{name}", grid, self.global_step)

    def on_test_epoch_start(self) -> None:
        self.on_validation_epoch_start()
        self._test_rows: list[list[Any]] = []

    def _record_test_image(self, set_name: str, batch: EvalBatch, metrics: Any) -> None:
        """The batch's per-image PSNR/SSIM, as the set's metrics scored them (``last``), for the test table."""
        names = batch.get("name", [f"{len(self._test_rows)}"])
        for i, (psnr, ssim) in enumerate(zip(metrics["psnr"].last, metrics["ssim"].last)):
            self._test_rows.append([set_name, names[i], round(float(psnr), 4), round(float(ssim), 6)])

    def on_test_epoch_end(self) -> None:
        """A table of per-image PSNR/SSIM, to loggers that take tables (W&B)."""
        for logger in self.loggers:
            if hasattr(logger, "log_table") and getattr(self, "_test_rows", None):
                logger.log_table(key="test/per_image", columns=["set", "image", "psnr", "ssim"], data=self._test_rows)
