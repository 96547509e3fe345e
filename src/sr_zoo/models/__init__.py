"""The model zoo: ``create_model(name, scale=...)``, ``list_models()``, one file per paper's network."""

from sr_zoo.models._registry import (
    ModelInfo,
    check_scale,
    create_model,
    inference_model,
    list_models,
    model_info,
    read_checkpoint,
)
from sr_zoo.models.base import PixelLossModule, SRModule
from sr_zoo.models.bicubic import Bicubic
from sr_zoo.models.csrcnn import CSRCNN
from sr_zoo.models.emtcm import EMTCM
from sr_zoo.models.fsrcnn import FSRCNN
from sr_zoo.models.gan import GANModule
from sr_zoo.models.msfmgan import MSFMGAN
from sr_zoo.models.srcnn import SRCNN
from sr_zoo.models.srgan import SRGAN, SRResNet
from sr_zoo.models.srseg import SRSEG

__all__ = [
    "CSRCNN",
    "EMTCM",
    "FSRCNN",
    "MSFMGAN",
    "GANModule",
    "SRCNN",
    "SRGAN",
    "SRSEG",
    "SRResNet",
    "Bicubic",
    "ModelInfo",
    "PixelLossModule",
    "SRModule",
    "check_scale",
    "create_model",
    "inference_model",
    "list_models",
    "model_info",
    "read_checkpoint",
]
