"""The model zoo: ``create_model(name, scale=...)``, ``list_models()``; one folder per paper (its models' specs,
networks, LightningModules and card).

The registry's functions are imported here at once (they need neither torch nor Lightning); the model
classes, the base classes and the hub's ``save_pretrained``/``from_pretrained`` are imported on first use
(``sr_zoo.models.CSRCNN``, ``from sr_zoo.models import CSRCNN``), so that ``import sr_zoo.models`` is light.
"""

from __future__ import annotations

from sr_zoo._lazy import lazy_exports
from sr_zoo.models._registry import (
    ModelInfo,
    check_scale,
    create_model,
    inference_model,
    list_models,
    model_info,
    read_checkpoint,
)

_LAZY: dict[str, str] = {
    **{model_info(n).class_name: model_info(n).module for n in list_models()},  # every model class: the registry's
    "GANModule": "sr_zoo.models.gan",
    "PixelLossModule": "sr_zoo.models.base",
    "SRModule": "sr_zoo.models.base",
    "from_pretrained": "sr_zoo.models.hub",
    "save_pretrained": "sr_zoo.models.hub",
}
"""The names imported on first use, and the module holding each."""

__all__ = [*_LAZY, "ModelInfo", "check_scale", "create_model", "inference_model", "list_models", "model_info",
           "read_checkpoint"]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
