"""Runs ``sr-zoo fit`` (``sr_zoo.cli.main``, the console script's function) once per entry of a JSON
plan, in this one process, so the what-trains audit pays Python's and Lightning's start-up once.

Plan entries: ``{"name", "args", "out"}`` and optionally ``"keep_last_as"`` (copy the run's
``last.ckpt`` there, for a later recipe's ``init_from``). Writes ``{"name": exit status}`` to ``argv[2]``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from sr_zoo.cli import main


def run(plan_path: str, status_path: str) -> None:
    statuses = {}
    environment = dict(os.environ)
    for entry in json.loads(Path(plan_path).read_text()):
        os.environ.clear()  # each run as a fresh process has it (W&B's logger writes WANDB_MODE into it)
        os.environ.update(environment, WHAT_TRAINS_OUT=entry["out"])
        print(f"=== {entry['name']}", file=sys.stderr, flush=True)
        try:
            statuses[entry["name"]] = main(entry["args"])
        except SystemExit as exc:  # LightningCLI's own argument errors
            statuses[entry["name"]] = exc.code if isinstance(exc.code, int) else 1
        import wandb

        if wandb.run is not None:
            wandb.finish()  # the process's end does this for a user: the next recipe is a new W&B run
        if entry.get("keep_last_as"):  # W&B's logger puts checkpoints under ./<project>/<run id>/
            last = max(Path.cwd().rglob("last.ckpt"), key=lambda p: p.stat().st_mtime)
            Path(entry["keep_last_as"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(last, entry["keep_last_as"])
        Path(status_path).write_text(json.dumps(statuses))


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2])
