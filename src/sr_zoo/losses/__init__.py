"""Training losses, one module per kind; models import them from here.

``pixel``: SSIM and the per-image reduction. ``adversarial``: GAN losses on discriminator logits.
``perceptual``: the VGG16 feature loss (its weights come through ``sr_zoo.files``). May import
``sr_zoo.errors``, ``sr_zoo.files`` and ``sr_zoo.ops``; never models, data or training. A loss only one
paper uses lives in that paper's folder (``sr_zoo.models.emtcm.loss``, ``sr_zoo.models.srseg.loss``); its
old name here still works, with a warning.
"""

from sr_zoo._compat import moved_names
from sr_zoo.losses.adversarial import AdversarialLoss
from sr_zoo.losses.perceptual import (
                                      VGG16_LAYERS,
                                      VGG16_URL,
                                      PerceptualInput,
                                      PerceptualLoss,
                                      vgg16_features,
                                      vgg16_state_dict,
)
from sr_zoo.losses.pixel import SSIMLoss, reduce_images

__all__ = ["VGG16_LAYERS", "VGG16_URL", "AdversarialLoss", "PerceptualInput", "PerceptualLoss", "SSIMLoss",
           "reduce_images", "vgg16_features", "vgg16_state_dict"]

# issue 29: losses of one paper moved to its folder; the old names resolve there on first use (never at import,
# so that this layer imports no model).
MOVED_TO_FOLDERS = {"DistributionCrossEntropy": "sr_zoo.models.emtcm.loss", "MultiTaskLoss": "sr_zoo.models.emtcm.loss",
                    "masked_cross_entropy": "sr_zoo.models.srseg.loss"}


__getattr__ = moved_names(__name__, MOVED_TO_FOLDERS)
