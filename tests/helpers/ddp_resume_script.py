"""Run by tests/training/test_resume_ddp.py: the resume runs of ``helpers.resume_runs`` under 2-process DDP (gloo, CPU).

Usage (``PYTHONPATH=tests``): ``python -m helpers.ddp_resume_script MODEL ROOT OUT [CKPT]``. Each rank writes
its final weights to OUT/rank<r>.pt. ``SR_ZOO_TEST_WORKERS`` sets the loader workers of each rank (default
0); with ``SR_ZOO_TEST_PACE`` the ranks print ``helpers.interrupt_helpers.Announce``'s markers. A stop
signal ends the script as it ends ``sr-zoo fit``: one line (rank 0), status 128 + signal.
"""

import os
import sys
import warnings
from pathlib import Path

import torch

from helpers.resume_runs import run, weights
from sr_zoo.errors import TrainingInterrupted

# Not run by pytest, so pyproject's filterwarnings do not apply here: the same expected warnings, by message,
# in every rank (Lightning starts rank 1 with this command), so that stderr shows what matters.
# Lightning's own call of a deprecated torch check, then what these runs do on purpose:
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)", category=FutureWarning)
for _expected in ("You're resuming from a checkpoint that ended before the epoch ended",  # SRDataModule resumes itself
                  "The dirpath has changed from",  # a resumed copy lives in another folder
                  "Checkpoint directory .* exists and is not empty",
                  "Using ModelCheckpoint with manual optimization and every_n_train_steps"):  # the GAN, every step
    warnings.filterwarnings("ignore", message=_expected, category=UserWarning)

if __name__ == "__main__":
    name, root, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    ckpt = sys.argv[4] if len(sys.argv) > 4 else None
    callbacks = ()
    if os.environ.get("SR_ZOO_TEST_PACE"):
        from helpers.interrupt_helpers import Announce

        callbacks = (Announce(),)
    try:
        model, trainer, trace = run(name, root, 4, ckpt=ckpt, devices=2, callbacks=callbacks,
                                    workers=int(os.environ.get("SR_ZOO_TEST_WORKERS", "0")))
    except TrainingInterrupted as stop:
        if not stop.quiet:
            print(f"sr-zoo: {stop}", file=sys.stderr)
        sys.exit(stop.exit_code)
    out.mkdir(parents=True, exist_ok=True)
    torch.save({"weights": weights(model), "rows": trace.rows}, out / f"rank{trainer.global_rank}.pt")
