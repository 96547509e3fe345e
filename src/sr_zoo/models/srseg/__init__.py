"""SRSEG (Rad et al.): SRGAN with a segmentation head; SRResNet and SRGAN (Ledig et al. 2017), its baselines.

Its specs (no torch; ``docs/layout.md``: a folder per paper), ``model.py``, ``srgan.py`` and its card ``README.md``.
"""

from sr_zoo._lazy import lazy_package
from sr_zoo.models._registry import ModelInfo

SPECS = (
    ModelInfo("srresnet", "sr_zoo.models.srseg.srgan", "SRResNet",
              "SRResNet (Ledig et al. 2017) as in the SRSEG paper, Sec. 3.1", (2, 4, 8),
              {2: 1_512_131, 4: 1_659_843, 8: 1_807_555},
              small=(4, {"n": 8, "blocks": 2})),
    ModelInfo("srgan", "sr_zoo.models.srseg.srgan", "SRGAN",
              "SRGAN (Ledig et al. 2017) as in the SRSEG paper, Sec. 3.1, 4.2", (2, 4, 8),
              {2: 1_512_131, 4: 1_659_843, 8: 1_807_555},
              small=(2, {"n": 8, "blocks": 2, "patch_size": 24})),
    ModelInfo("srseg", "sr_zoo.models.srseg.model", "SRSEG", "SRSEG (Rad et al.): SR with a segmentation head",
              (2, 4, 8),
              {2: 1_512_131, 4: 1_659_843, 8: 1_807_555},
              small=(2, {"n": 8, "blocks": 2, "patch_size": 24, "head_channels": 8})),
)

__getattr__, __dir__ = lazy_package(__name__, (".model", ".srgan"))
