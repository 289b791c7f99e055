"""``tinct evaluate``, ``tinct benchmark`` and ``tinct results``: measuring models."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from tinct.cli._common import (
    EXIT_OK,
    add_command,
    command_line,
    fail,
    non_negative_int,
    positive_int,
    report_skipped,
    show_progress,
    threads,
)

if TYPE_CHECKING:
    from tinct.eval.config import EvalConfig, ModelSpec

COMMANDS = {
    "evaluate": (
        "measure models on a dataset or folder (tables, plots)",
        "Evaluate models and the greyscale and mean-chroma baselines on the same images: "
        "PSNR, RMSE, SSIM, Delta E, colourfulness, colour bleeding across edges, "
        "ab-histogram divergences, AuC, FD-Lite "
        "and top-1 agreement. Writes results.md, CSV, JSON and plots into --out; an "
        "interrupted run resumes from the state it keeps in --out (removed when done).",
        """
        tinct evaluate default --data corpus --split test -o eval-test
        tinct evaluate default runs/zhang/model.pt --names default zhang --limit 50
        tinct evaluate zhang-cpu --sweep-temperature
        """,
    ),
    "benchmark": (
        "quality and speed of models side by side",
        "Evaluate models (as tinct evaluate) and measure their parameters, FLOPs, "
        "end-to-end latency and peak memory in the same run, models taking turns. "
        "Writes benchmark.md/.csv/.json beside the evaluation report.",
        """
        tinct benchmark default zhang-cpu --data corpus --split test -o docs/results/benchmark
        """,
    ),
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, (helptext, description, examples) in COMMANDS.items():
        p = add_command(sub, name, help=helptext, description=description, examples=examples)
        _evaluation_options(p, name)
        if name == "evaluate":
            p.add_argument(
                "--sweep-temperature",
                nargs="*",
                type=float,
                default=None,
                metavar="T",
                help="also sweep the decoding temperature of classification models "
                "(default temperatures: 1 0.77 0.58 0.38 0.29 0.14)",
            )
            p.add_argument(
                "--sweep-images",
                type=non_negative_int,
                default=0,
                help="measure the sweep on the first N images (default 0: all of them)",
            )
            p.set_defaults(func=run_evaluate)
        else:
            p.add_argument(
                "--latency-sizes",
                nargs="+",
                type=positive_int,
                default=[256, 1024],
                help="square sizes timed end to end (default: 256 1024)",
            )
            p.add_argument("--repeats", type=positive_int, default=10, help="timed runs per size")
            p.add_argument(
                "--no-memory", action="store_true", help="skip the peak-memory subprocesses"
            )
            p.set_defaults(func=run_benchmark)

    p = add_command(
        sub,
        "results",
        help="regenerate docs/results/index.md and the README results table",
        description="Index every results page under --dir and put the benchmark table "
        "into the README between its results markers.",
        examples="tinct results --dir docs/results --readme README.md",
    )
    p.add_argument("--dir", default="docs/results", help="results folder (default: %(default)s)")
    p.add_argument(
        "--readme", default="README.md", help="README to update ('' to skip; default: %(default)s)"
    )
    p.add_argument(
        "--benchmark", default=None, help="benchmark.json (default: DIR/benchmark/benchmark.json)"
    )
    p.set_defaults(func=run_results)


def _evaluation_options(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument(
        "models",
        nargs="*",
        metavar="MODEL",
        help="bundled model names or model/checkpoint files (baselines always run)",
    )
    p.add_argument(
        "--data",
        default="corpus",
        help="a dataset name (tinct data list) or a folder (default: %(default)s)",
    )
    p.add_argument("--split", default=None, help="dataset split (default: its first)")
    p.add_argument("--root", default=None, help="data root (default: $TINCT_DATA)")
    p.add_argument("--size", type=positive_int, default=256, help="image side (default: 256)")
    p.add_argument("--limit", type=positive_int, default=None, help="a seeded subset of N images")
    p.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    p.add_argument("--names", nargs="+", default=None, help="display names of the models")
    p.add_argument(
        "--precision", choices=["auto", "fp32", "bf16"], default="auto", help="network precision"
    )
    p.add_argument("--no-features", action="store_true", help="skip FD-Lite and top-1 agreement")
    p.add_argument(
        "--inception",
        metavar="FILE",
        default=None,
        help="your TorchScript Inception-v3 (NVlabs' inception-2015-12-05.pt) to add "
        "the standard FID; tinct does not ship it",
    )
    p.add_argument("--grid", type=non_negative_int, default=6, help="images in the sample grid")
    p.add_argument(
        "-o", "--out", default=f"{name}-results", help="output folder (default: %(default)s)"
    )
    p.add_argument("--threads", type=positive_int, default=None, help="torch threads")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def _setup(args: argparse.Namespace) -> tuple[EvalConfig, list[ModelSpec]]:
    from tinct.eval.config import EvalConfig, model_specs

    threads(args.threads)
    config = EvalConfig(
        target=args.data,
        split=args.split,
        root=args.root,
        size=args.size,
        limit=args.limit,
        seed=args.seed,
        precision=args.precision,
        features=not args.no_features,
        inception=args.inception,
        grid=args.grid,
    )
    return config, model_specs(args.models, args.names)


def run_evaluate(args: argparse.Namespace) -> int:
    from tinct.data.base import DatasetError
    from tinct.eval.config import SWEEP_TEMPERATURES
    from tinct.eval.report import write_report
    from tinct.eval.runner import evaluate

    out = Path(args.out)
    sweep = args.sweep_temperature
    temperatures = () if sweep is None else (sweep or SWEEP_TEMPERATURES)
    try:
        config, specs = _setup(args)
        result = evaluate(
            config,
            specs,
            out_dir=out,
            progress=show_progress(args),
            sweep_temperatures=temperatures,
            sweep_images=args.sweep_images or None,
        )
    except (FileNotFoundError, ValueError, KeyError, DatasetError) as err:
        return fail(err)
    md = write_report(result, out, command=command_line())
    if not args.quiet:
        print(md.read_text(encoding="utf-8").split("## Plots")[0].rstrip())
        print(f"\nreport: {md}")
    return report_skipped([(str(p), r) for p, r in result.skipped], "unreadable file(s)")


def run_benchmark(args: argparse.Namespace) -> int:
    from tinct.data.base import DatasetError
    from tinct.eval.benchmark import benchmark, write_benchmark

    out = Path(args.out)
    try:
        config, specs = _setup(args)
        bench = benchmark(
            config,
            specs,
            out_dir=out,
            latency_sizes=args.latency_sizes,
            repeats=args.repeats,
            memory=not args.no_memory,
            progress=show_progress(args),
        )
    except (FileNotFoundError, ValueError, KeyError, DatasetError, RuntimeError) as err:
        return fail(err)
    md = write_benchmark(bench, out, command=command_line())
    if not args.quiet:
        print(md.read_text(encoding="utf-8"))
        print(f"report: {md}")
    skipped = [(str(p), r) for p, r in bench.evaluation.skipped]
    return report_skipped(skipped, "unreadable file(s)")


def run_results(args: argparse.Namespace) -> int:
    from tinct.eval.results import MissingBaselines, readme_table, update_readme, write_index

    results = Path(args.dir)
    if not results.is_dir():
        return fail(f"{results}: no such folder")
    try:
        index = write_index(results)
    except MissingBaselines as err:
        return fail(f"not indexed: {err}")
    print(f"index: {index}")
    bench = Path(args.benchmark) if args.benchmark else results / "benchmark" / "benchmark.json"
    if args.readme:
        if not bench.is_file():
            return fail(f"{bench}: no benchmark results (run tinct benchmark)")
        link = os.path.relpath(bench.with_suffix(".md"), Path(args.readme).parent)
        if not update_readme(args.readme, readme_table(bench, link=Path(link).as_posix())):
            return fail(
                f"{args.readme} has no '<!-- results:start -->' / '<!-- results:end -->' markers"
            )
        print(f"table: {args.readme}")
    return EXIT_OK
