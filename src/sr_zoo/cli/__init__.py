"""The ``sr-zoo`` command: ``benchmark`` (and, as models land, the LightningCLI subcommands)."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from sr_zoo.errors import SRZooError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    from sr_zoo.cli import benchmark

    parser = argparse.ArgumentParser(prog="sr-zoo", description="Super-resolution model zoo.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    benchmark.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; user errors become one ``sr-zoo: error: ...`` line and exit status 2."""
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except SRZooError as exc:
        print(f"sr-zoo: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sr-zoo: interrupted", file=sys.stderr)
        return 130
