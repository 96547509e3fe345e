"""Many ``python -m sr_zoo ...`` runs for the price of one interpreter start.

``run_cli(cases)`` starts one Python process that imports ``sr_zoo``'s command line (torch, Lightning:
about 5 s on the test machine), then forks a child per case; each child runs ``sr_zoo.__main__`` as
``python -m sr_zoo ARGS`` would (``runpy``, ``sys.argv``, its own stdout/stderr files, its exit status;
an uncaught exception prints Python's traceback and exits 1, as the interpreter does). Each case is a
separate process, so no state (warnings shown once, signal handlers, caches) leaks between cases.

Run as a script it is that server: ``python cli_runner.py CASES.json RESULTS.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

__all__ = ["CliResult", "run_cli"]


@dataclass
class CliResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float = 0.0  # wall time of the run (the fork included)

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    def one_error_line(self, *fragments: str) -> str:
        """The zoo's promise for bad input, asserted: exit 2, one stderr line ``sr-zoo: error: ...`` holding each
        of ``fragments``, no traceback; the line."""
        assert self.returncode == 2 and len(self.err_lines) == 1 and "Traceback" not in self.stderr, self
        line = self.err_lines[0]
        assert line.startswith("sr-zoo: error: ") and all(f in line for f in fragments), self
        return line

    def __str__(self) -> str:  # what an assertion failure shows
        return (f"sr-zoo {' '.join(self.args)} -> {self.returncode}\n"
                f"stdout: {self.stdout[-2000:]}\nstderr: {self.stderr[-4000:]}")


def run_cli(cases: Sequence[Sequence[str] | dict], cwd: str | os.PathLike | None = None, env: dict | None = None,
            timeout: float = 300) -> list[CliResult]:
    """Run ``python -m sr_zoo *case`` for each case (in order, each in its own forked process). A case is
    the argument list, or ``{"args": [...], "env": {...}}`` for variables of that run alone."""
    cases = [c if isinstance(c, dict) else {"args": c} for c in cases]
    cases = [{"args": list(map(str, c["args"])), "env": c.get("env", {})} for c in cases]
    with tempfile.TemporaryDirectory(prefix="sr_zoo_cli_") as tmp:
        spec, out = Path(tmp) / "cases.json", Path(tmp) / "results.json"
        spec.write_text(json.dumps({"cases": cases, "timeout": timeout, "tmp": tmp}))
        env = {**os.environ, "WANDB_MODE": "disabled", "SR_ZOO_OFFLINE": "1", **(env or {})}
        proc = subprocess.run([sys.executable, __file__, str(spec), str(out)], cwd=cwd, env=env, check=False,
                              capture_output=True, text=True, timeout=timeout * len(cases) + 120)
        if proc.returncode != 0 or not out.is_file():
            raise RuntimeError(f"cli_runner failed ({proc.returncode}): {proc.stderr[-4000:]}")
        results = [CliResult(**r) for r in json.loads(out.read_text())]
        if os.environ.get("SR_ZOO_CLI_TIMES"):  # a file to append each run's wall time to (for budgeting)
            with open(os.environ["SR_ZOO_CLI_TIMES"], "a") as log:
                log.writelines(f"{r.seconds:6.2f}s rc={r.returncode} {' '.join(r.args)[:150]}\n" for r in results)
        return results


def _serve(spec_path: str, out_path: str) -> None:
    import importlib
    import runpy
    import signal
    import time
    import traceback

    # The imports every run shares, paid once here rather than in each run.
    for module in ("sr_zoo.cli", "sr_zoo.cli.benchmark", "sr_zoo.cli.compare", "sr_zoo.cli.lightning",
                   "sr_zoo.cli.upscale"):
        importlib.import_module(module)

    spec = json.loads(Path(spec_path).read_text())
    results = []
    for index, case in enumerate(spec["cases"]):
        args = case["args"]
        stdout, stderr = Path(spec["tmp"]) / f"{index}.out", Path(spec["tmp"]) / f"{index}.err"
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: `python -m sr_zoo *args`
            code = 1
            try:
                for fd, path in ((1, stdout), (2, stderr)):
                    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                    os.dup2(handle, fd)
                    os.close(handle)
                os.environ.update(case["env"])
                sys.argv = ["sr_zoo", *args]
                try:
                    runpy.run_module("sr_zoo", run_name="__main__", alter_sys=True)
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                    if exc.code is not None and not isinstance(exc.code, int):
                        print(exc.code, file=sys.stderr)
                except BaseException:  # what the interpreter does with an uncaught exception
                    traceback.print_exc()
                    code = 1
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(code)
        started = time.monotonic()
        deadline = started + spec["timeout"]
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                code = -9
                break
            time.sleep(0.02)
        results.append({"args": args, "returncode": code, "stdout": stdout.read_text(errors="replace"),
                        "stderr": stderr.read_text(errors="replace"), "seconds": round(time.monotonic() - started, 2)})
    Path(out_path).write_text(json.dumps(results))


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2])
