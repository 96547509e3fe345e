"""What a zoo model trains, declared once: each optimizer's parameter groups (``optimizer_parameters``), which of
them each training stage updates (``trained_parameters``), the stages and their loss weights. The optimizers are
built from it and the what-trains audit (``tests/training/test_what_trains.py``) checks every recipe against it.
A part of ``SRModule`` (``sr_zoo.models.base``)."""

from __future__ import annotations

from typing import Any

from torch.nn import Parameter

__all__ = ["WhatTrains"]


class WhatTrains:
    """Declarations of what trains, for a ``LightningModule`` with ``self.net``: one optimizer, ``net``, over every
    trainable parameter of it, in one stage, ``train``, unless a model says otherwise."""

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
