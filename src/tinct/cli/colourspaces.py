"""``tinct colourspaces run CONFIG``: the colour-space classification grid of seed 000 ch. 5."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tinct.cli._common import (
    EXIT_OK,
    add_command,
    command_line,
    fail,
    positive_int,
    show_progress,
    threads,
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = add_command(
        sub,
        "colourspaces",
        help="colour spaces as classifier inputs: the grid of seed 000 chapter 5",
        description="Train DenseNet-BC and MobileNet classifiers on inputs in other colour "
        "spaces, stacks of them and attention-ranked hybrid colour spaces (seed 000, the "
        "thesis on deep learning and colour, chapter 5).",
        examples="tinct colourspaces run configs/colourspaces/offline.yaml --out runs/cs",
    )
    group_sub = group.add_subparsers(dest="cs_command", metavar="SUBCOMMAND", required=True)
    p = add_command(
        group_sub,
        "run",
        help="train the grid of a config (resumable) and write tables 5.1-5.3 and plots",
        description="Train every cell (dataset x model x input x seed) of a grid config that "
        "is not finished yet under --out (a rerun trains only what is missing), then write "
        "results.md (tables 5.1-5.3 with mean ± std over seeds and the difference to RGB), "
        "results.json and the attention plots there.",
        examples="""
        tinct colourspaces run configs/colourspaces/offline.yaml --out runs/cs
        tinct colourspaces run configs/colourspaces/cifar.yaml --out runs/cs-cifar --device cuda
        """,
    )
    p.add_argument("config", help="grid config (YAML)")
    p.add_argument("--out", required=True, help="run folder (cells, results.md, plots)")
    p.add_argument(
        "--device",
        default="cpu",
        help="cpu (default), cuda, cuda:N or auto (CUDA when there is one)",
    )
    p.add_argument("--threads", type=positive_int, help="torch CPU threads")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_grid_command)


def run_grid_command(args: argparse.Namespace) -> int:
    from tinct.colourspaces.grid import load_grid_config, run_grid
    from tinct.colourspaces.report import write_report

    threads(args.threads)
    try:
        config = load_grid_config(args.config)
    except ValueError as err:
        return fail(err)
    out = Path(args.out).expanduser()
    if out.exists() and not out.is_dir():
        return fail(f"--out {out}: exists and is not a folder")

    def log(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr)

    try:
        results = run_grid(config, out, log=log, progress=show_progress(args), device=args.device)
    except (ValueError, FileNotFoundError) as err:
        return fail(err)
    header = (
        "# Colour spaces as classifier inputs: seed 000 tables 5.1-5.3\n\n"
        f"Made by: `{command_line()}`; "
        f"{results.trained} of {len(results.cells)} cells trained by this run."
    )
    md = write_report(results, header=header)
    print(f"{len(results.cells)} cells ({results.trained} trained now); report: {md}")
    return EXIT_OK
