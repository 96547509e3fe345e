"""The ``sr-zoo`` command: LightningCLI's ``fit``/``validate``/``test``/``predict``, plus ``benchmark``,
``upscale``, ``compare``, ``export``, ``convert`` and ``models``.

The parser imports neither torch nor Lightning nor the models: each command module's ``add_parser`` is
light and its ``run`` imports what the command needs, so ``--help``, ``sr-zoo models`` and argument
errors answer at once.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn, Sequence

from sr_zoo.errors import Interrupted, SRZooError, one_line

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """``argparse`` whose errors are the zoo's one line (``SRZooError``: ``sr-zoo: error: --scale: invalid int
    value: 'abc' (see sr-zoo upscale --help)``), not a usage block; ``--help`` prints the usage as before."""

    def error(self, message: str) -> NoReturn:
        raise SRZooError(f"{message.removeprefix('argument ')} (see {self.prog} --help)")


def _parser() -> argparse.ArgumentParser:
    from sr_zoo.cli import benchmark, compare, convert, export, models, upscale

    parser = _Parser(
        prog="sr-zoo",
        description="Super-resolution model zoo. Training and evaluation: sr-zoo {fit,validate,test,predict} "
        "--model NAME --scale S [--config RECIPE.yaml] (LightningCLI; add --help to any of them).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in ("fit", "validate", "test", "predict"):
        sub.add_parser(name, help=f"LightningCLI {name} (see sr-zoo {name} --help)", add_help=False)
    benchmark.add_parser(sub)
    models.add_parser(sub)
    upscale.add_parser(sub)
    compare.add_parser(sub)
    export.add_parser(sub)
    convert.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; user errors become one ``sr-zoo: error: ...`` line and exit status 2.

    Ctrl+C and SIGTERM end a command with one line and status 130 / 143, after its cleanup (no
    half-written file is left); ``fit`` first writes a resumable checkpoint (``InterruptCheckpoint``).
    """
    from sr_zoo.interrupts import command_signals

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        with command_signals():  # from the start: a signal while torch and Lightning load is one line too
            if argv and argv[0] in ("fit", "validate", "test", "predict"):
                from sr_zoo.cli.lightning import run_lightning_cli
                from sr_zoo.models._registry import import_models

                import_models()  # LightningCLI finds --model.class_path CSRCNN among the imported classes
                return run_lightning_cli(argv)
            args = _parser().parse_args(argv)
            return args.run(args)
    except SRZooError as exc:
        code = getattr(exc, "exit_code", 2)
        if not getattr(exc, "quiet", False):
            print(f"sr-zoo: {'error: ' if code == 2 else ''}{one_line(exc)}", file=sys.stderr)
        return code
    except Interrupted as exc:
        if not exc.quiet:
            print(f"sr-zoo: {one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("sr-zoo: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if not _bad_trainer_argument(exc):
            raise
        print(f"sr-zoo: error: --trainer: {one_line(exc)}", file=sys.stderr)
        return 2


def _bad_trainer_argument(exc: Exception) -> bool:
    """Lightning's word for a bad Trainer argument: a ``MisconfigurationException``, or a ``ValueError``
    raised where the Trainer reads its arguments (``--trainer.strategy foo``, ``--trainer.precision 64``)."""
    if type(exc).__name__ == "MisconfigurationException":
        return True
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = tb.tb_frame.f_code.co_filename.replace("\\", "/") if tb is not None else ""
    return isinstance(exc, ValueError) and "lightning/pytorch/trainer/connectors/" in where
