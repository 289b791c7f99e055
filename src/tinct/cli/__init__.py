"""The ``tinct`` command: parses arguments and calls the library, nothing more.

One module per command group, each registering its sub-parsers next to their handlers:
:mod:`~tinct.cli.colourise`, :mod:`~tinct.cli.train` (train, export, models),
:mod:`~tinct.cli.evaluate` (evaluate, benchmark, results), :mod:`~tinct.cli.data`,
:mod:`~tinct.cli.ssl` (pretrain, probe, finetune), :mod:`~tinct.cli.colourspaces`
and :mod:`~tinct.cli.serve` (serve, study).
Errors are reported in one line by :func:`tinct.cli._common.fail`; exit statuses are
0 done, 1 some inputs skipped, 2 usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from tinct.cli import colourise, colourspaces, data, evaluate, serve, ssl, train
from tinct.cli._common import EXIT_CODES, EXIT_INTERRUPTED, EXIT_SKIPPED

GROUPS = (colourise, train, evaluate, data, ssl, colourspaces, serve)

EPILOG = f"""Run 'tinct COMMAND --help' for the options and examples of a command.

examples:
  tinct colourise old_photo.jpg
  tinct colourise scans/ -o coloured/
  tinct models

{EXIT_CODES}"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``tinct`` command."""
    from tinct import __version__

    parser = argparse.ArgumentParser(
        prog="tinct",
        description="Automatic image colourisation with deep learning.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tinct {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tinct`` console script."""
    handler = logging.StreamHandler()
    # A handler level (not only the root's): Lightning's loggers propagate INFO records
    # to the root handlers besides printing them with their own.
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2), as a status
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_SKIPPED
    return code


__all__ = ["build_parser", "main"]
