"""What runs around ``training_step``: the training position and the stage mechanism (``progress``), the
papers' schedules as callbacks (``schedules``), checkpoints that survive failure (``checkpointing``), and
the default W&B logger (``loggers``), and the closing summary of a fit (``summary``).

Schedules change a model only through the methods it declares (``set_stage``, ``set_curriculum``,
``set_loss``). May import ``sr_zoo.errors``, ``interrupts``, ``files`` and ``data``; never ``models``.
"""

from sr_zoo._compat import moved_names
from sr_zoo.training import schedules
from sr_zoo.training.checkpointing import AtomicCheckpointIO, InterruptCheckpoint, atomic_torch_save
from sr_zoo.training.loggers import SRZooWandbLogger
from sr_zoo.training.progress import (
                                     Position,
                                     Schedule,
                                     ScheduleCallback,
                                     ScheduleEffect,
                                     StageSchedule,
                                     training_position,
)
from sr_zoo.training.schedules import (
                                     LossPlateau,
                                     SteadyStateStop,
                                     StepDecay,
                                     TwoStepDataSchedule,
                                     ValidationPlateau,
)
from sr_zoo.training.summary import RunSummary

__all__ = ["AtomicCheckpointIO", "InterruptCheckpoint", "LossPlateau", "Position",
           "RunSummary", "SRZooWandbLogger", "Schedule", "ScheduleCallback", "ScheduleEffect", "StageSchedule",
           "StepDecay", "SteadyStateStop", "TwoStepDataSchedule", "ValidationPlateau", "atomic_torch_save",
           "training_position"]

__getattr__ = moved_names(__name__, schedules.MOVED_TO_FOLDERS)  # CSRCNN's schedules, now in its folder
