"""Run by tests/test_resume_ddp.py: the resume runs of resume_runs.py under 2-process DDP (gloo, CPU).

Usage: ddp_resume_script.py MODEL ROOT OUT [CKPT]. Each rank writes its final weights to OUT/rank<r>.pt.
"""

import sys
from pathlib import Path

import torch

from resume_runs import run, weights

if __name__ == "__main__":
    name, root, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    ckpt = sys.argv[4] if len(sys.argv) > 4 else None
    model, trainer, trace = run(name, root, 4, ckpt=ckpt, devices=2)
    out.mkdir(parents=True, exist_ok=True)
    torch.save({"weights": weights(model), "rows": trace.rows}, out / f"rank{trainer.global_rank}.pt")
