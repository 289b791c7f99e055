"""What every command group shares: exit codes, error reporting, progress bars, help."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap

#: Exit statuses of every command (documented in ``tinct --help``).
EXIT_OK = 0
EXIT_SKIPPED = 1  # done, but some inputs were skipped (listed on stderr)
EXIT_USAGE = 2  # bad arguments, options, config or files named on the command line
EXIT_INTERRUPTED = 130  # Ctrl-C

EXIT_CODES = (
    "exit status: 0 done; 1 done, but some inputs were skipped (listed on stderr); "
    "2 bad arguments, options, config or named files (nothing done); 130 interrupted"
)


class CommandError(Exception):
    """A problem to report in one line and exit with ``code`` (usage errors by default)."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def fail(err: BaseException | str, code: int = EXIT_USAGE) -> int:
    """Print ``tinct: <message>`` on stderr and return ``code`` (one line, no traceback)."""
    message = err if isinstance(err, str) else _message(err)
    print(f"tinct: {message}", file=sys.stderr)
    return code


def _message(err: BaseException) -> str:
    # KeyError's str() is the repr of its argument; others read as written.
    if isinstance(err, KeyError) and err.args:
        return str(err.args[0])
    return str(err) or type(err).__name__


def report_skipped(skipped: list[tuple[str, str]], what: str = "input(s)") -> int:
    """List skipped items on stderr; the exit status that goes with them."""
    if not skipped:
        return EXIT_OK
    print(f"skipped {len(skipped)} {what}:", file=sys.stderr)
    for path, reason in skipped:
        print(f"  {path}: {reason}", file=sys.stderr)
    return EXIT_SKIPPED


def show_progress(args: argparse.Namespace) -> bool:
    """Progress bars only for a person watching: not with ``-q``, not when stderr is not a
    terminal (logs get no carriage-return frames), not when ``TQDM_DISABLE`` is set."""
    if getattr(args, "quiet", False):
        return False
    if os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false", "no"):
        return False
    return sys.stderr.isatty()


def command_line() -> str:
    """The command as typed, for reports that say how they were made."""
    import shlex

    return "tinct " + shlex.join(sys.argv[1:])


def add_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    *,
    help: str,
    description: str,
    examples: str,
    aliases: tuple[str, ...] = (),
) -> argparse.ArgumentParser:
    """A sub-command whose help ends with examples and the exit statuses."""
    epilog = "examples:\n" + textwrap.indent(textwrap.dedent(examples).strip(), "  ")
    return sub.add_parser(
        name,
        aliases=list(aliases),
        help=help,
        description=description,
        epilog=f"{epilog}\n\n{EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def threads(value: int | None) -> None:
    """Apply ``--threads`` (validated by the parser)."""
    if value:
        import torch

        torch.set_num_threads(value)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    return _bounded_int(text, 1)


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _bounded_int(text, 0)


def _bounded_int(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
    return value


def non_negative_float(text: str) -> float:
    """argparse type: a finite number >= 0."""
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def finite_float(text: str) -> float:
    """argparse type: a finite number (no nan or inf)."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def add_distributed_arguments(parser: argparse.ArgumentParser) -> None:
    """The data-parallel options of a training command (``tinct train`` and any other
    command that trains through :mod:`tinct.train`); :func:`distributed_overrides` turns
    them into config overrides of the ``trainer`` section."""
    group = parser.add_argument_group(
        "data-parallel training (Lightning DDP; launch recipes in docs/scale.md)"
    )
    group.add_argument(
        "--devices",
        default=None,
        metavar="N",
        help="processes per machine: CPU processes (gloo) or GPUs (NCCL); "
        "trainer.batch_size is per process (default: the config's, 1)",
    )
    group.add_argument(
        "--num-nodes",
        type=positive_int,
        default=None,
        metavar="M",
        help="machines; start the same command on each (torchrun or SLURM set the ranks)",
    )
    group.add_argument(
        "--accelerator",
        choices=["cpu", "gpu", "cuda", "mps", "auto"],
        default=None,
        help="hardware (default: the config's, cpu)",
    )
    group.add_argument(
        "--sync-batchnorm",
        action="store_true",
        default=None,
        help="batch norms use the whole global batch's statistics (SyncBatchNorm)",
    )


def distributed_overrides(args: argparse.Namespace) -> list[str]:
    """``trainer.*`` config overrides for the options of :func:`add_distributed_arguments`."""
    overrides = []
    if args.devices is not None:
        devices = args.devices
        overrides.append(f"trainer.devices={int(devices) if devices.isdigit() else devices}")
    if args.num_nodes is not None:
        overrides.append(f"trainer.num_nodes={args.num_nodes}")
    if args.accelerator is not None:
        overrides.append(f"trainer.accelerator={args.accelerator}")
    if args.sync_batchnorm:
        overrides.append("trainer.sync_batchnorm=true")
    return overrides
