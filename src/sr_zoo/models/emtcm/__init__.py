"""EMTCM (Yang et al. 2021): FSRCNN with nine residual mapping layers, a multi-task loss and cross-scale training.

Its specs (no torch; ``docs/layout.md``: a folder per paper), ``model.py``, and its card ``README.md``.
"""

from sr_zoo._lazy import lazy_package
from sr_zoo.models._registry import ModelInfo

SPECS = (
    ModelInfo("emtcm", "sr_zoo.models.emtcm.model", "EMTCM", "EMTCM (Yang et al. 2021)", (2, 3, 4),
              {2: 19_409, 3: 19_409, 4: 19_409},
              small=(3, {"padding_mode": "replicate"})),
)

__getattr__, __dir__ = lazy_package(__name__)
