"""CSRCNN (Zhang et al.): a cascaded pyramid network trained by a curriculum from x2 up.

Its specs (no torch; ``docs/layout.md``: a folder per paper), ``model.py``, and its card ``README.md``.
"""

from sr_zoo._lazy import lazy_package
from sr_zoo.models._registry import ModelInfo

SPECS = (
    ModelInfo("csrcnn", "sr_zoo.models.csrcnn.model", "CSRCNN", "CSRCNN (Zhang et al.)", (2, 4, 8),
              {2: 1_964_611, 4: 3_402_310, 8: 4_368_201},
              small=(2, {"blocks_per_level": [1]})),
)

__getattr__, __dir__ = lazy_package(__name__)
