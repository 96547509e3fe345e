"""``SRModule``: what every zoo model shares (forward on RGB, prediction, checkpoints, ``init_from``; with its parts
``Evaluation``, the Y-channel metrics, ``TrainingLogs``, what it logs while training, and ``WhatTrains``, the
declarations of what trains); ``PixelLossModule``: the training step and optimizer of a network trained on one
pixel loss."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sr_zoo.data.batches import PredictBatch, TrainBatch
from sr_zoo.errors import SRZooError
from sr_zoo.models._registry import check_scale
from sr_zoo.models.evaluation import Evaluation
from sr_zoo.models.training_logs import STEP_LOG_INTERVAL, TrainingLogs
from sr_zoo.models.what_trains import WhatTrains
from sr_zoo.ops import imresize, rgb_to_y, rgb_to_ycbcr, ycbcr_to_rgb
from sr_zoo.ops.padding import run_padded
from sr_zoo.training.progress import align_epoch_counter

__all__ = ["STEP_LOG_INTERVAL", "PixelLossModule", "SRModule"]


class SRModule(Evaluation, TrainingLogs, WhatTrains, L.LightningModule):
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

    Its parts, one concern each: ``Evaluation`` (validation and test steps, metrics, sample panels),
    ``TrainingLogs`` (``log_step_value``, ``log_epoch_mean``, the rates) and ``WhatTrains``: what trains is declared
    once, ``optimizer_parameters()`` listing each optimizer's parameter groups (the optimizers are built from it)
    and ``trained_parameters(stage)`` which of them a stage updates; ``training_stages()``/``current_stage`` name
    the stages. The what-trains audit (``tests/training/test_what_trains.py``) checks every recipe against them.
    """

    model_name: str = ""  # set by @register_model
    y_channel: bool = False
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
        self.metrics = nn.ModuleDict()  # Evaluation's: a MetricCollection per stage and set
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

    def fetch_fit_weights(self, trainer: L.Trainer) -> None:
        """Fetch what a fit by ``trainer`` needs beyond the network's own weights (the GAN's VGG16), so that a missing
        file is one line before the trainer starts (``sr-zoo fit`` calls it before Lightning's model summary)."""

    def on_train_start(self) -> None:
        super().on_train_start()
        align_epoch_counter(self.trainer)  # a run stopped by max_steps inside an epoch resumes in that epoch

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
