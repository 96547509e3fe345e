"""Training losses, one module per kind; models import them from here.

``pixel``: SSIM, EMTCM's distribution cross-entropy and multi-task weighting, SRSEG's masked
cross-entropy. ``adversarial``: GAN losses on discriminator logits. ``perceptual``: the VGG16 feature
loss (its weights come through ``sr_zoo.files``). May import ``sr_zoo.errors``, ``sr_zoo.files`` and
``sr_zoo.ops``; never models, data or training.
"""

from sr_zoo.losses.adversarial import AdversarialLoss
from sr_zoo.losses.perceptual import (
                                      VGG16_LAYERS,
                                      VGG16_URL,
                                      PerceptualInput,
                                      PerceptualLoss,
                                      vgg16_features,
                                      vgg16_state_dict,
)
from sr_zoo.losses.pixel import DistributionCrossEntropy, MultiTaskLoss, SSIMLoss, masked_cross_entropy

__all__ = ["VGG16_LAYERS", "VGG16_URL", "AdversarialLoss", "DistributionCrossEntropy", "MultiTaskLoss",
           "PerceptualInput", "PerceptualLoss", "SSIMLoss", "masked_cross_entropy", "vgg16_features",
           "vgg16_state_dict"]
