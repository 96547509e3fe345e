"""FSRCNN (Dong et al. 2016), d=56 s=12 m=4: a baseline of the EMTCM paper's Table 2.

The paper's folder: its networks and LightningModules (``model.py``), its card
(``README.md``: the paper, the readings, the results beside the paper's) and here its specs, what the zoo
knows without importing torch.
"""

from sr_zoo._lazy import lazy_package
from sr_zoo.models._registry import ModelInfo

SPECS = (
    ModelInfo("fsrcnn", "sr_zoo.models.fsrcnn.model", "FSRCNN",
              "FSRCNN (d=56, s=12, m=4), a baseline of the EMTCM paper's Table 2", (2, 3, 4),
              {2: 12_809, 3: 12_809, 4: 12_809},
              small=(2, {"d": 12, "s": 6, "m": 2})),
)

__getattr__, __dir__ = lazy_package(__name__, ('.model',))
