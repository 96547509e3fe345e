"""EMTCM (Yang et al. 2021): FSRCNN with nine residual mapping layers, a multi-task loss and cross-scale training.

The paper's folder: its networks and LightningModules (``model.py``), its card
(``README.md``: the paper, the readings, the results beside the paper's) and here its specs, what the zoo
knows without importing torch.
"""

from sr_zoo._lazy import lazy_package
from sr_zoo.models._registry import ModelInfo

SPECS = (
    ModelInfo("emtcm", "sr_zoo.models.emtcm.model", "EMTCM", "EMTCM (Yang et al. 2021)", (2, 3, 4),
              {2: 19_409, 3: 19_409, 4: 19_409},
              small=(3, {"padding_mode": "replicate"})),
)

__getattr__, __dir__ = lazy_package(__name__, ('.model',))
