"""The multi-scale feature mapping GAN (Zhou et al. 2019), trained by stages on manual optimization.

Its specs (no torch; ``docs/layout.md``: a folder per paper), ``model.py``, and its card ``README.md``.
"""

from sr_zoo._lazy import lazy_package
from sr_zoo.models._registry import ModelInfo

SPECS = (
    ModelInfo("msfmgan", "sr_zoo.models.msfmgan.model", "MSFMGAN", "MSFM GAN (Zhou et al. 2019)", (2, 3, 4),
              {2: 8_382_467, 3: 8_382_467, 4: 8_382_467},
              small=(2, {"widths": [8, 16, 32], "d_widths": [8, 16, 32, 64]})),
)

__getattr__, __dir__ = lazy_package(__name__)
