"""CSRCNN (Zhang et al.): a cascaded pyramid network trained by a curriculum from x2 up.

The paper's folder: its networks and LightningModules (``model.py``), its card
(``README.md``: the paper, the readings, the results beside the paper's) and here its specs, what the zoo
knows without importing torch.
"""

from sr_zoo._lazy import lazy_package
from sr_zoo.models._registry import ModelInfo

SPECS = (
    ModelInfo("csrcnn", "sr_zoo.models.csrcnn.model", "CSRCNN", "CSRCNN (Zhang et al.)", (2, 4, 8),
              {2: 1_964_611, 4: 3_402_310, 8: 4_368_201},
              small=(2, {"blocks_per_level": [1]})),
)

__getattr__, __dir__ = lazy_package(__name__, ('.model',))
