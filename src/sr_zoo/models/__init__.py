"""The model zoo: ``create_model(name, scale=...)`` and ``list_models()``."""

from sr_zoo.models import bicubic as _bicubic  # noqa: F401  (registers the model)
from sr_zoo.models._registry import ModelInfo, check_scale, create_model, list_models, load_weights, model_info
from sr_zoo.models.bicubic import Bicubic

__all__ = ["Bicubic", "ModelInfo", "check_scale", "create_model", "list_models", "load_weights", "model_info"]
