"""FSRCNN (Dong et al. 2016), d=56 s=12 m=4: a baseline of the EMTCM paper's Table 2.

Its specs (no torch; ``docs/layout.md``: a folder per paper), ``model.py``, and its card ``README.md``.
"""

from sr_zoo._lazy import lazy_package
from sr_zoo.models._registry import ModelInfo

SPECS = (
    ModelInfo("fsrcnn", "sr_zoo.models.fsrcnn.model", "FSRCNN",
              "FSRCNN (d=56, s=12, m=4), a baseline of the EMTCM paper's Table 2", (2, 3, 4),
              {2: 12_809, 3: 12_809, 4: 12_809},
              small=(2, {"d": 12, "s": 6, "m": 2})),
)

__getattr__, __dir__ = lazy_package(__name__)
