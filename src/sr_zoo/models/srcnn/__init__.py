"""SRCNN (Dong et al. 2014/2016), 9-1-5: a baseline of the EMTCM paper's Table 2.

Its specs (no torch; ``docs/layout.md``: a folder per paper), ``model.py``, and its card ``README.md``.
"""

from sr_zoo._lazy import lazy_package
from sr_zoo.models._registry import ModelInfo

SPECS = (
    ModelInfo("srcnn", "sr_zoo.models.srcnn.model", "SRCNN", "SRCNN (9-1-5), a baseline of the EMTCM paper's Table 2",
              (2, 3, 4), {2: 8_129, 3: 8_129, 4: 8_129},
              small=(3, {"n1": 16, "n2": 8, "padding_mode": "zeros"})),
)

__getattr__, __dir__ = lazy_package(__name__)
