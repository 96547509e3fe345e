"""CSRCNN, from "Large Factor Image Super-Resolution with Cascaded Convolutional Neural Networks" (Zhang
et al., IEEE TMM): a cascade of x2 levels built from back-projection U-net (BP-U) blocks.

Follows the CSRCNN paper's Sec. III-A (network), III-B (curriculum), III-C (losses) and IV-B (training).
Each level: a densely connected group of BP-U blocks in LR space (with a residual skip over the group), a
stride-2 transposed convolution, a refined block in HR space (with its own residual skip) and a 3x3
convolution to RGB; 64 filters of 3x3 throughout, He initialisation, ReLU. Where the text is silent
(the BP-U block's layers, the dense connections, the upsampler, the depth that fits Table VI's parameter
counts), the readings are in README.md.
"""

from __future__ import annotations

import math
from typing import Literal, Sequence

import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback
from torch import Tensor, nn

from sr_zoo.data.batches import TrainBatch
from sr_zoo.models._registry import register_model
from sr_zoo.models.base import SRModule
from sr_zoo.models.blocks import ResidualBlock, he_conv, he_deconv, pad_to_multiple
from sr_zoo.models.csrcnn.schedules import Curriculum, LossSchedule
from sr_zoo.ops import imresize

__all__ = ["BPUBlock", "CSRCNN", "CSRCNNNet", "DenseBPUGroup", "RefinedBlock"]

ASYMMETRIC_BLOCKS = (6, 4, 2)


class BPUBlock(nn.Module):
    """Back-projection U-net block, eq. (1)-(5); input ``in_channels`` maps, output ``n`` maps, same size.

    ``F0 = 1x1(x)``, ``F1 = down(F0)``, ``F2 = down(F1)``, ``F3 = [conv(F2), F2]``, ``F4 = up(F3) - F1``,
    ``F5 = up(F4) + F0``, with 3x3 stride-2 convolutions down and transposed convolutions up;
    ``plain_u=True`` is Table III's plain U block (no concatenation, no subtraction). Height and width
    must be multiples of 4 (two stride-2 steps down and back up).
    """

    def __init__(self, in_channels: int, n: int = 64, plain_u: bool = False) -> None:
        super().__init__()
        self.plain_u = plain_u
        self.regulate = he_conv(in_channels, n, 1)  # F0
        self.down1 = he_conv(n, n, 3, 2)  # (1)
        self.down2 = he_conv(n, n, 3, 2)  # (2)
        self.conv = he_conv(n, n, 3)  # (3)
        self.up1 = he_deconv(n if plain_u else 2 * n, n, 3, padding=1, output_padding=1)  # (4)
        self.up2 = he_deconv(n, n, 3, padding=1, output_padding=1)  # (5)

    def forward(self, x: Tensor) -> Tensor:
        f0 = F.relu(self.regulate(x))
        f1 = F.relu(self.down1(f0))
        f2 = F.relu(self.down2(f1))
        f3 = F.relu(self.conv(f2))
        if self.plain_u:
            f4 = F.relu(self.up1(f3))
        else:
            f4 = F.relu(self.up1(torch.cat([f3, f2], dim=1))) - f1  # back-projection of the error
        return F.relu(self.up2(f4)) + f0


class DenseBPUGroup(nn.Module):
    """``blocks`` BP-U blocks, densely connected (block k sees the group input and the k-1 earlier
    outputs), with a residual skip from the group input."""

    def __init__(self, blocks: int, n: int = 64, plain_u: bool = False) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(BPUBlock(n * (k + 1), n, plain_u) for k in range(blocks))

    def forward(self, x: Tensor) -> Tensor:
        features = [x]
        for block in self.blocks:
            features.append(block(torch.cat(features, dim=1)))
        return features[-1] + x


class RefinedBlock(nn.Sequential):
    """Four residual blocks (conv-ReLU-conv, no batch norm), then four Conv+ReLU layers (Sec. III-A), in HR space."""

    def __init__(self, n: int = 64, residual_blocks: int = 4, convs: int = 4) -> None:
        layers: list[nn.Module] = [ResidualBlock(n) for _ in range(residual_blocks)]
        for _ in range(convs):
            layers += [he_conv(n, n), nn.ReLU()]
        super().__init__(*layers)


class _Level(nn.Module):
    """One x2 level: the dense BP-U group, a 4x4 stride-2 transposed convolution, the refined blocks, to RGB."""

    def __init__(self, blocks: int, n: int, plain_u: bool, extra_hr_convs: int, refined_blocks: int) -> None:
        super().__init__()
        self.group = DenseBPUGroup(blocks, n, plain_u)
        self.upsample = he_deconv(n, n, 4, padding=1)
        self.refine = nn.Sequential(*[RefinedBlock(n, convs=4 + extra_hr_convs) for _ in range(refined_blocks)])
        self.to_rgb = he_conv(n, 3)

    def forward(self, x: Tensor) -> Tensor:
        hr = F.relu(self.upsample(self.group(x)))
        return hr + self.refine(hr) if len(self.refine) else hr  # residual learning in HR space, apart from LR


class CSRCNNNet(nn.Module):
    """``log2(scale)`` cascaded x2 levels after a conv(3, 64), conv(64, 64) head; the HR image is the top
    level's RGB convolution (Sec. III-A). ``active_levels`` and ``blend`` serve the curriculum: the output is
    the active top level's RGB, blended with the bilinearly doubled RGB of the level below while
    ``blend < 1`` (ProSR's fade-in, which Sec. III-B cites)."""

    def __init__(self, scale: int, blocks_per_level: Sequence[int] | int | None = None, n: int = 64,
                 plain_u: bool = False, extra_hr_convs: int = 0, refined_blocks: int = 1) -> None:
        super().__init__()
        levels = int(math.log2(scale))
        if blocks_per_level is None:
            blocks = list(ASYMMETRIC_BLOCKS[:levels])
        elif isinstance(blocks_per_level, int):  # the same number at every level: the symmetric network
            blocks = [blocks_per_level] * levels
        else:
            blocks = list(blocks_per_level)
        if len(blocks) != levels:
            raise ValueError(f"blocks_per_level needs {levels} entries for scale {scale}, got {blocks}")
        self.head = nn.Sequential(he_conv(3, n), nn.ReLU(), he_conv(n, n), nn.ReLU())
        self.levels = nn.ModuleList(_Level(b, n, plain_u, extra_hr_convs, refined_blocks) for b in blocks)
        self.active_levels = levels
        self.blend = 1.0
        self.tile_align = 4  # BP-U blocks stride by 2 twice: tiles start on multiples of 4 (sr_zoo.inference.tiling)

    def forward(self, lr: Tensor) -> Tensor:
        return self.forward_levels(lr, every_level=False)[-1]

    def forward_levels(self, lr: Tensor, every_level: bool = True) -> list[Tensor]:
        """RGB outputs of the active levels, lowest (x2) first; the last is ``forward``'s output. With
        ``every_level=False`` only the last is computed (the lower ones' RGB convolutions are skipped)."""
        # BP-U blocks halve twice: pad the LR image to a multiple of 4, crop the outputs.
        h, w = lr.shape[-2:]
        lr = pad_to_multiple(lr, 4)
        x = self.head(lr)
        top = self.active_levels - 1
        blending = top > 0 and self.blend < 1
        outputs: dict[int, Tensor] = {}  # level index -> its RGB output
        for index in range(self.active_levels):
            x = self.levels[index](x)
            if every_level or index == top or (blending and index == top - 1):
                outputs[index] = self.levels[index].to_rgb(x)
        if blending:  # fade the new level in over the doubled output of the one below
            doubled = F.interpolate(outputs[top - 1], scale_factor=2, mode="bilinear", align_corners=False)
            outputs[top] = self.blend * outputs[top] + (1 - self.blend) * doubled
        kept = outputs if every_level else {top: outputs[top]}
        return [out[..., : h * 2 ** (i + 1), : w * 2 ** (i + 1)] for i, out in kept.items()]


@register_model("csrcnn")
class CSRCNN(SRModule):
    """CSRCNN on RGB with the curriculum and loss schedule of Sec. III-B/III-C (driven by callbacks).

    Training (Sec. IV-B): SGD, momentum 0.9, weight decay 1e-4 (the paper gives no learning rate: ``lr``
    is ours); ``optimizer="adam"`` for short runs. L1 or L2 as ``loss_kind`` says
    (``LossSchedule`` in ``schedules.py`` alternates it); the target at factor f is the HR patch reduced
    (MATLAB bicubic) to f times the LR size. The loss is taken at the final output only, as Sec. III-A's
    prose says (``level_loss="top"``), or at every level, as eq. 8 sums (``"all"``); see README.md.

    Args:
        scale: 2, 4 or 8 (1, 2 or 3 levels).
        blocks_per_level: BP-U blocks per level; default 6, 4, 2 (asymmetric); e.g. [4, 4, 4], or 4 for
            4 at every level (Table VI's network with ``extra_hr_convs=2``).
        plain_u: plain U blocks instead of BP-U (Table III's ablation).
        extra_hr_convs: HR convolutions added to each refined block (2 reproduces Table VI's counts).
        refined_blocks: refined blocks per level (1; Table IV's R0 and R2 variants: 0 and 2).
        optimizer: ``sgd`` (the paper's) or ``adam``.
        lr: learning rate.
        stage_epochs: epochs of the curriculum's stages below the full scale (x2, then x4, ...); ``None``:
            ``Curriculum``'s default.
        blend_epochs: epochs over which each new level is blended in.
        l1_epochs: epochs of L1 before the L2/L1 alternation.
        loss_period: epochs per loss in the alternation.
        level_loss: ``top`` (Sec. III-A) or ``all`` (eq. 8), see above.

    ``training_step`` returns ``{"loss": ...}`` and, once the curriculum is over, ``final_l1`` (logged as
    ``train/final_l1``): the L1 error of the full-scale output, whichever loss the schedule trains with,
    the quantity whose steady state (Sec. IV-B) the recipes' ``SteadyStateStop`` watches.
    """

    def __init__(
        self,
        scale: int = 4,
        blocks_per_level: list[int] | int | None = None,
        plain_u: bool = False,
        extra_hr_convs: int = 0,
        refined_blocks: int = 1,
        optimizer: Literal["sgd", "adam"] = "sgd",
        lr: float = 1e-3,
        stage_epochs: list[int] | None = None,
        blend_epochs: float = 1.0,
        l1_epochs: int = 20,
        loss_period: int = 2,
        level_loss: Literal["top", "all"] = "top",
        sample_images: int = 1,
    ) -> None:
        super().__init__(scale, sample_images)
        self.save_hyperparameters()
        self.net = CSRCNNNet(scale, blocks_per_level, plain_u=plain_u, extra_hr_convs=extra_hr_convs,
                             refined_blocks=refined_blocks)
        self.loss_kind: Literal["l1", "l2"] = "l1"

    @property
    def eval_scale(self) -> int:
        return 2**self.net.active_levels

    def set_curriculum(self, levels: int, blend: float) -> None:
        """Called by ``Curriculum`` before each batch: train ``levels`` levels, the top one faded in by ``blend``."""
        if not 1 <= levels <= len(self.net.levels) or not 0.0 <= blend <= 1.0:
            raise ValueError(f"csrcnn: levels must be in 1..{len(self.net.levels)} and blend in [0, 1], "
                             f"got {levels}, {blend}")
        self.net.active_levels, self.net.blend = int(levels), float(blend)

    def set_loss(self, kind: Literal["l1", "l2"]) -> None:
        """Called by ``LossSchedule`` before each batch: the pixel loss of that batch (Sec. III-C)."""
        if kind not in ("l1", "l2"):
            raise ValueError(f"csrcnn: loss must be 'l1' or 'l2', got {kind!r}")
        self.loss_kind = kind

    def training_stages(self) -> list[str]:
        """``x2``, then for each next level ``x<f> blend`` (while it fades in; none if ``blend_epochs`` is 0)
        and ``x<f>`` (Sec. III-B's curriculum)."""
        names = ["x2"]
        for level in range(2, len(self.net.levels) + 1):
            names += ([f"x{2**level} blend"] if self.hparams.blend_epochs > 0 else []) + [f"x{2**level}"]
        return names

    @property
    def current_stage(self) -> str:
        name = f"x{2**self.net.active_levels}"
        return f"{name} blend" if self.net.active_levels > 1 and self.net.blend < 1 else name

    def trained_parameters(self, stage: str) -> set[str]:
        """The head and the active levels; of the RGB convolutions only those a loss reads: the top
        level's, the one below while blending, every active level's with ``level_loss="all"``."""
        super().trained_parameters(stage)  # an unknown stage is an error
        top = int(math.log2(int(stage.split()[0][1:]))) - 1
        blending = stage.endswith("blend")
        names = set()
        for name in self.named_trainable("net"):
            parts = name.split(".")
            if parts[1] == "levels":
                index = int(parts[2])
                if index > top:
                    continue
                read = self.hparams.level_loss == "all" or index == top or (blending and index == top - 1)
                if parts[3] == "to_rgb" and not read:
                    continue
            names.add(name)
        return names

    def configure_callbacks(self) -> list[Callback]:
        """The curriculum and the loss schedule come with the model (a config may override them)."""
        stages = {} if self.hparams.stage_epochs is None else {"stage_epochs": self.hparams.stage_epochs}
        return [
            *super().configure_callbacks(),
            Curriculum(**stages, blend_epochs=self.hparams.blend_epochs),
            LossSchedule(l1_epochs=self.hparams.l1_epochs, period=self.hparams.loss_period),
        ]

    def training_step(self, batch: TrainBatch, batch_idx: int) -> dict[str, Tensor]:
        lr, hr = batch["lr"], batch["hr"]
        if self.hparams.level_loss == "all":
            outputs = self.net.forward_levels(lr)
        else:
            outputs = [self.net(lr)]
        error = F.l1_loss if self.loss_kind == "l1" else F.mse_loss
        loss = sum(error(sr, self._target(hr, sr.shape[-2:])) for sr in outputs)
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/stage_scale", float(self.eval_scale))
        if self.eval_scale != self.scale or self.net.blend < 1:
            return {"loss": loss}
        final_l1 = (outputs[-1].detach() - hr).abs().mean()  # the curriculum is over
        self.log_epoch_mean("train/final_l1", final_l1, hr.shape[0])
        return {"loss": loss, "final_l1": final_l1}

    @staticmethod
    def _target(hr: Tensor, size: torch.Size) -> Tensor:
        """The HR patch at an intermediate level's size (MATLAB bicubic), or itself at the full scale."""
        return hr if hr.shape[-2:] == size else imresize(hr, size=tuple(size)).clamp(0, 1)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        if self.hparams.optimizer == "adam":
            return torch.optim.Adam(self.param_groups("net"), lr=self.hparams.lr)
        return torch.optim.SGD(self.param_groups("net"), lr=self.hparams.lr, momentum=0.9, weight_decay=1e-4)
