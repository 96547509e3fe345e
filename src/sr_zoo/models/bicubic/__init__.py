"""Bicubic: MATLAB's ``imresize``, the baseline of all four papers (nothing to train).

Its specs (no torch; ``docs/layout.md``: a folder per paper), ``model.py``, and its card ``README.md``.
"""

from sr_zoo._lazy import lazy_package
from sr_zoo.models._registry import ModelInfo

SPECS = (
    ModelInfo("bicubic", "sr_zoo.models.bicubic.model", "Bicubic", "MATLAB imresize, the baseline of all four papers",
              None,
              {2: 0, 3: 0, 4: 0, 8: 0},
              small=(3, {})),
)

__getattr__, __dir__ = lazy_package(__name__)
