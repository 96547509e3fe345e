"""``SRModule``: what every zoo model shares (forward on RGB, Y-channel metrics, prediction, checkpoints);
``PixelLossModule``: the training step and optimizer of a network trained on one pixel loss."""

from __future__ import annotations

import time
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.utilities.data import extract_batch_size
from torch import Tensor, nn
from torch.nn import Parameter
from torchmetrics import MetricCollection
from torchvision.utils import make_grid

from sr_zoo.data.batches import EvalBatch, PredictBatch, TrainBatch
from sr_zoo.errors import SRZooError
from sr_zoo.metrics import YPSNR, YSSIM
from sr_zoo.models._registry import check_scale
from sr_zoo.ops import imresize, rgb_to_y, rgb_to_ycbcr, ycbcr_to_rgb
from sr_zoo.ops.padding import run_padded
from sr_zoo.training.loop_internals import epoch_may_end, logger_writes
from sr_zoo.training.progress import align_epoch_counter
from sr_zoo.training.progress_bar import REDRAW_INTERVAL

__all__ = ["STEP_LOG_INTERVAL", "PixelLossModule", "SRModule"]

STEP_LOG_INTERVAL = REDRAW_INTERVAL
"""Seconds between the step values ``SRModule.log_step_value`` hands to Lightning besides the loggers' steps: the
progress bar's redraw interval, the only other reader."""


class SRModule(L.LightningModule):
    """Base of the zoo's LightningModules.

    ``forward(lr)`` takes RGB (or 1-channel) images in [0, 1], ``(N, C, h, w)``, and returns them
    ``scale`` times larger in [0, 1], whatever the network works on: a Y-channel network
    (``y_channel = True``) gets MATLAB's Y and the colour comes from bicubic upsampling of CbCr, as in
    the papers. The inference network alone is ``self.net``. Validation and testing score each
    benchmark set of the datamodule with the Y-channel metrics (logged as ``val/<Set>/psnr``,
    ``val/<Set>/ssim``; the first set is also logged as ``val/psnr`` for checkpointing). Subclasses
    are registered with ``@register_model`` (which names them), build ``self.net`` and write ``training_step``
    and ``configure_optimizers`` (``PixelLossModule`` has both for a network trained on one pixel loss).
    A model with an ``init_from`` hyper-parameter starts a new fit from that checkpoint's network
    (``load_initial_weights``).

    What trains is declared once: ``optimizer_parameters()`` lists each optimizer's parameter groups (the
    optimizers are built from it) and ``trained_parameters(stage)`` says which of them a stage updates;
    ``training_stages()``/``current_stage`` name the stages. The what-trains audit
    (``tests/training/test_what_trains.py``) checks every recipe against these declarations.
    """

    model_name: str = ""  # set by @register_model
    y_channel: bool = False
    sample_every_n_epochs: int = 1  # how often the bicubic | SR | HR panels go to the logger
    sample_crop: int = 128  # HR side of the aligned crop shown in each panel
    # An LR side shorter than ``min_input_side`` is replicate-padded by ``small_input_pad`` pixels at both
    # ends before the network and cropped after it: a tiny image (1x1, 3x3, 1x64) is all border, where the
    # convolutions' zero padding would darken it by tens of grey levels (sr_zoo.inference.tiling keeps tiles that big).
    min_input_side: int = 8
    small_input_pad: int = 8
    # Layout hyper-parameters (how layers pad, not what they hold) that checkpoints made before the
    # hyper-parameter existed were trained with, where a new model's default differs: {name: value}.
    # Applied wherever a checkpoint is read (``sr_zoo.models._registry.saved_hparams``, ``on_load_checkpoint``).
    legacy_hparams: dict[str, Any] = {}

    def __init__(self, scale: int, sample_images: int = 1) -> None:
        super().__init__()
        check_scale(self.model_name, scale)
        self.scale = int(scale)
        self.sample_images = sample_images
        self.net: nn.Module = nn.Identity()
        self.metrics = nn.ModuleDict()
        self._epoch_sums: dict[str, tuple[Tensor, int]] = {}  # log_epoch_mean's batch-weighted sums, by name
        self._epoch_logged = False  # whether log_epoch_mean's sums went to Lightning during this epoch
        self._step_logged_at = -float("inf")  # when log_step_value last handed a value to Lightning
        # Lightning's model summary runs it: the layers' sizes and the FLOPs of one 32x32 LR image (else zeros)
        self.example_input_array = torch.zeros(1, 3, 32, 32)

    # ------------------------------------------------------------------ inference
    def forward(self, lr: Tensor) -> Tensor:
        return run_padded(self._forward_rgb, lr, self.min_input_side, self.small_input_pad)

    def _forward_rgb(self, lr: Tensor) -> Tensor:
        gray = lr.shape[1] == 1
        rgb = lr.expand(-1, 3, -1, -1) if gray else lr
        if self.y_channel:
            ycbcr = rgb_to_ycbcr(rgb)
            y = self.net(ycbcr[:, :1])
            cbcr = imresize(ycbcr[:, 1:], scale=self.scale)
            sr = ycbcr_to_rgb(torch.cat([y, cbcr], dim=1))
        else:
            sr = self.net(rgb)
        sr = sr.clamp(0.0, 1.0)
        return sr.mean(dim=1, keepdim=True) if gray else sr

    def predict_step(self, batch: PredictBatch, batch_idx: int, dataloader_idx: int = 0) -> dict[str, Any]:
        return {"sr": self(batch["lr"]), "name": batch["name"]}

    # ------------------------------------------------------------------ evaluation
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

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        """``train/epoch_loss``, the epoch's mean training loss (averaged over ranks), for dashboards: the
        quantity whose plateau the recipes' steady-state stops detect (they keep their own resumable mean)."""
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if isinstance(loss, Tensor):
            size = batch["lr"].shape[0] if isinstance(batch, dict) and "lr" in batch else extract_batch_size(batch)
            self.log_epoch_mean("train/epoch_loss", loss, size)
        if self._epoch_sums and (self._epoch_logged or epoch_may_end(self.trainer)):
            self._log_epoch_sums()

    def log_step_value(self, name: str, value: Tensor, batch_size: int) -> None:
        """``self.log(name, value, prog_bar=True)`` in a training step where the value is read: the steps whose
        values the loggers write (every ``log_every_n_steps``), and at least every ``STEP_LOG_INTERVAL`` seconds
        for the progress bar. A ``self.log`` costs Lightning 0.3-1 ms of CPU (``benchmarks/lightning_overhead.py``),
        a few percent of a small model's step; what loggers record is the same as logging every step."""
        now = time.monotonic()
        if self._trainer is None or logger_writes(self._trainer) or now - self._step_logged_at >= STEP_LOG_INTERVAL:
            self._step_logged_at = now
            self.log(name, value, prog_bar=True, batch_size=batch_size)

    def log_epoch_mean(self, name: str, value: Tensor, batch_size: int) -> None:
        """What ``self.log(name, value, on_step=False, on_epoch=True, sync_dist=True, batch_size=batch_size)``
        logs, for a training batch (in ``training_step``, or in ``on_train_batch_end`` before ``super()``'s), at a
        fraction of its cost.

        Each ``self.log`` call costs Lightning 0.3-1 ms of CPU (``benchmarks/lightning_overhead.py``), 0.3-1 ms
        per training batch and name here. The batch-weighted sum is kept here instead and handed to Lightning
        after the batch that may end the epoch (its last, ``max_steps``, a stop request), so callbacks see the
        mean in their ``on_train_epoch_end``; an epoch ended otherwise (a stop decided in a validation inside
        it) hands it over in the module's ``on_train_epoch_end``, which monitoring callbacks still see.
        """
        value = value.detach()
        if value.dtype not in (torch.float32, torch.float64):
            value = value.float()  # as Lightning keeps a logged value
        total, count = self._epoch_sums.get(name, (0.0, 0))
        self._epoch_sums[name] = (total + value * batch_size, count + batch_size)

    def _log_epoch_sums(self) -> None:
        # Lightning adds up what is logged (value x batch_size, and batch_size) over the epoch and ranks:
        # a sum handed over in parts, or at once, gives the same mean.
        for name, (total, count) in self._epoch_sums.items():
            self.log(name, total / count, on_step=False, on_epoch=True, sync_dist=True, batch_size=count)
        self._epoch_sums = {}
        self._epoch_logged = True  # from now on with every batch: the epoch went on after one that could end it

    def on_train_epoch_end(self) -> None:
        super().on_train_epoch_end()
        if self._epoch_sums:  # an end no batch hook saw coming
            self._log_epoch_sums()
        self._epoch_logged = False
        for i, optimizer in enumerate(self.trainer.optimizers):
            if optimizer.param_groups:  # bicubic's placeholder optimizer has none
                self.log(f"train/{self.lr_log_name(i)}", optimizer.param_groups[0]["lr"])

    def lr_log_name(self, index: int) -> str:
        """The name (under ``train/``) of the rate of optimizer ``index``: ``lr``, ``lr1``, ..."""
        return f"lr{index if index else ''}"

    # ------------------------------------------------------------------ what trains
    def optimizer_parameters(self) -> dict[str, list[dict[str, Any]]]:
        """Each optimizer's parameter groups, by optimizer name in ``configure_optimizers``' order: a group is
        ``{"params": {name: parameter}, **options}`` holding trainable parameters only. Default: one
        optimizer, ``net``, over every trainable parameter of ``self.net``."""
        params = self.named_trainable("net")
        return {"net": [{"params": params}]} if params else {}

    def train_only(self, prefix: str) -> None:
        """Freeze every parameter of ``self.net`` outside ``prefix`` (``"deconv."``): the cross-scale fine-tuning
        of FSRCNN and EMTCM (EMTCM paper, Sec. 4.2), a frozen layer in no optimizer group."""
        for name, param in self.net.named_parameters():
            param.requires_grad_(name.startswith(prefix))

    def named_trainable(self, *modules: str) -> dict[str, Parameter]:
        """The parameters with ``requires_grad`` under the named sub-modules, by their full names."""
        return {name: p for name, p in self.named_parameters() if p.requires_grad and name.split(".", 1)[0] in modules}

    def param_groups(self, optimizer: str) -> list[dict[str, Any]]:
        """``optimizer_parameters()[optimizer]`` as ``torch.optim`` param groups (lists of tensors)."""
        return [{**group, "params": list(group["params"].values())} for group in self.optimizer_parameters()[optimizer]]

    def training_stages(self) -> list[str]:
        """The stages a fit goes through, in order (``["train"]`` for a model without staged training)."""
        return ["train"]

    @property
    def current_stage(self) -> str:
        """The stage of the batch being (or next to be) trained."""
        return self.training_stages()[0]

    def loss_weights(self, stage: str) -> dict[str, float]:
        """The loss terms of ``stage`` and their weights, as far as the model declares them (the schedule
        trace prints them; the GANs' training steps read them)."""
        return {}

    def check_stage(self, stage: str) -> None:
        """A ``ValueError`` naming the stages unless ``stage`` is one of ``training_stages()``."""
        if stage not in self.training_stages():
            raise ValueError(f"{self.model_name}: unknown stage {stage!r}; stages: {self.training_stages()}")

    def trained_parameters(self, stage: str) -> set[str]:
        """Names of the parameters that batches of ``stage`` update; every optimized one by default."""
        self.check_stage(stage)
        return {name for groups in self.optimizer_parameters().values() for group in groups for name in group["params"]}

    # ------------------------------------------------------------------ checkpoints
    def load_initial_weights(self, path: str) -> None:
        """Copy every weight of ``self.net`` from a checkpoint of the same model (any scale where the
        shapes allow: EMTCM's cross-scale strategy), e.g. a GAN's generator from its MSE stage; says in
        one line what it loads (model, scale, tensors), and refuses in one line anything else."""
        from lightning.pytorch.utilities import rank_zero_info

        from sr_zoo.models._registry import checkpoint_model, read_checkpoint

        checkpoint = read_checkpoint(path)
        model, scale = checkpoint_model(checkpoint, path)
        if model != self.model_name:
            raise SRZooError(f"{path}: init_from needs a checkpoint of {self.model_name!r}, "
                             f"not of {model or 'an unknown model'!r}")
        weights = {k[len("net."):]: v for k, v in checkpoint["state_dict"].items() if k.startswith("net.")}
        if not weights:
            raise SRZooError(f"{path}: init_from found no network weights (net.*) in the checkpoint")
        try:
            self.net.load_state_dict(weights)
        except RuntimeError as exc:
            raise SRZooError(f"{path}: weights do not fit this {self.model_name} "
                             f"({str(exc).splitlines()[0]})") from None
        where = "cross-scale start" if scale != self.scale else "same scale, a new run"
        rank_zero_info(f"sr-zoo: init_from {path}: loaded {len(weights)} network tensors of a {model} x{scale} "
                       f"checkpoint into this {self.model_name} x{self.scale} "
                       f"({where}; optimizer and schedule start afresh)")

    def on_fit_start(self) -> None:
        super().on_fit_start()
        init_from = self.hparams.get("init_from")
        if init_from and self.trainer.ckpt_path is None:  # a new run (not a resumed one) from another's network
            self.load_initial_weights(init_from)

    def on_train_start(self) -> None:
        super().on_train_start()
        align_epoch_counter(self.trainer)  # a run stopped by max_steps inside an epoch resumes in that epoch
        self._epoch_sums, self._epoch_logged = {}, False  # nothing left from a fit that failed

    def set_layout(self, padding_mode: str | None = None, deconv_padding: Any = "unchanged") -> None:
        """Switch ``self.net``'s layers to another padding in place (the weights stay; see ``legacy_hparams``):
        ``padding_mode`` for every convolution, ``deconv_padding`` for every ``SubPixelDeconv`` (``None``:
        centred). The hyper-parameters record the change, so the next checkpoint says it."""
        from sr_zoo.models.blocks import SubPixelDeconv, set_padding_mode

        if padding_mode is not None:
            set_padding_mode(self.net, padding_mode)  # type: ignore[arg-type]
            self.hparams["padding_mode"] = padding_mode
        if deconv_padding != "unchanged":
            for layer in self.net.modules():
                if isinstance(layer, SubPixelDeconv):
                    layer.set_padding(deconv_padding)
            self.hparams["deconv_padding"] = deconv_padding

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        # A checkpoint from before a layout hyper-parameter existed (a resume, load_from_checkpoint) keeps
        # the padding it was trained with, whatever this run's default.
        saved = checkpoint.get("hyper_parameters")
        if isinstance(saved, dict):
            old = {k: v for k, v in self.legacy_hparams.items() if k not in saved}
            if old:
                self.set_layout(**old)
                saved.update(old)
        # The GANs' and SRResNet's rates became LambdaLR schedules (restartable per stage); a checkpoint
        # written with StepLR has no lr_lambdas entry, which LambdaLR.load_state_dict requires. Its count
        # (last_epoch) carries over unchanged.
        for state in checkpoint.get("lr_schedulers", []):
            if isinstance(state, dict) and "lr_lambdas" not in state:
                state["lr_lambdas"] = [None] * len(state.get("base_lrs", [None]))

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["sr_zoo"] = {"model": self.model_name, "scale": self.scale}


class PixelLossModule(SRModule):
    """A network trained on one pixel loss of its output against the HR patch (SRCNN, FSRCNN, EMTCM,
    SRResNet): on Y for a Y-channel network, by Adam over ``optimizer_parameters()``, whose groups carry
    their rates. ``pixel_loss`` is MSE unless a subclass says otherwise."""

    @staticmethod
    def training_memory_format(device: torch.device) -> torch.memory_format:
        """The layout the network trains in on ``device``: channels-last on the CPU, where oneDNN trains these
        convolutions faster in it, as it runs them for inference (``sr_zoo.inference.layout``; FSRCNN x3 at batch
        64 1.4x, EMTCM 1.1x: ``benchmarks/training_speed.py``'s bare loops), the same values to float rounding."""
        return torch.channels_last if device.type == "cpu" else torch.contiguous_format

    def setup(self, stage: str) -> None:
        super().setup(stage)
        if stage == "fit":  # checkpoints, and the model after fit, keep the usual layout
            self.net.to(memory_format=self.training_memory_format(self.trainer.strategy.root_device))

    def teardown(self, stage: str) -> None:
        super().teardown(stage)
        if stage == "fit":  # after training, the layout a model has when built or loaded: the same outputs, bit for bit
            self.net.to(memory_format=torch.contiguous_format)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["state_dict"] = {k: v.contiguous() for k, v in checkpoint["state_dict"].items()}

    def pixel_loss(self, sr: Tensor, hr: Tensor) -> Tensor:
        """The training loss of a batch of network outputs and targets."""
        return F.mse_loss(sr, hr)

    def loss_weights(self, stage: str) -> dict[str, float]:
        return {"mse": 1.0}

    def training_step(self, batch: TrainBatch, batch_idx: int) -> Tensor:
        lr, hr = batch["lr"], batch["hr"]
        if self.y_channel and lr.shape[1] == 3:  # a Y patch bank serves Y already (sr_zoo.data.bank)
            lr, hr = rgb_to_y(lr), rgb_to_y(hr)
        loss = self.pixel_loss(self.net(lr), hr)
        self.log_step_value("train/loss", loss, batch_size=lr.shape[0])
        return loss

    def last_layer_groups(self, layer: str, lr: float, last_lr: float) -> dict[str, list[dict[str, Any]]]:
        """``optimizer_parameters()`` with ``self.net.<layer>`` at ``last_lr`` and the other trainable layers
        at ``lr`` (a group only if one of them trains): SRCNN's, FSRCNN's and EMTCM's two rates."""
        params = self.named_trainable("net")
        last = {n: p for n, p in params.items() if n.startswith(f"net.{layer}.")}
        rest = {n: p for n, p in params.items() if n not in last}
        return {"net": ([{"params": rest, "lr": lr}] if rest else []) + [{"params": last, "lr": last_lr}]}

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.param_groups("net"))
