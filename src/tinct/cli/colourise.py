"""``tinct colourise``: images, folders and globs to colourised files."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tinct.cli._common import (
    EXIT_INTERRUPTED,
    add_command,
    fail,
    finite_float,
    non_negative_float,
    non_negative_int,
    positive_int,
    report_skipped,
    show_progress,
    threads,
)

if TYPE_CHECKING:
    from tinct.pipeline import BatchResult, ColourisePipeline, Inputs, Plan

EXAMPLES = """
tinct colourise old_photo.jpg                   # writes old_photo_colour.jpg, same size
tinct colourise scans/ -o coloured/             # a folder (recursive), sub-folders mirrored
tinct colourise "scans/*.png" --saturation 1.2  # a glob; more vivid colours
tinct colourise old_photo.jpg -m cvae --samples 4 --seed 1   # 4 different colourisations
tinct colourise old_photo.jpg -m zhang-cpu --temperature 0.38 # Zhang et al.'s annealed mean
tinct colourise old_photo.jpg -m runs/guided-multipath-gan/model.pt --save-aux  # + saliency, edges
tinct colourise film.mp4 -o out/               # a video: audio kept, flicker reduced
tinct colourise film.mkv --crf 23 --no-stabilise --keep-luminance
tinct colourise archive/ -o coloured/ --jobs 4   # 4 worker processes on this machine
tinct colourise archive/ -o coloured/ --shard 3/16   # worker 3 of 16 (any launcher)
torchrun --nnodes 4 --nproc-per-node 8 -m tinct colourise archive/ -o out/ --shard auto
tinct export default default.onnx && tinct colourise scans/ -m default.onnx --backend onnxruntime
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = add_command(
        sub,
        "colourise",
        aliases=("colorize", "colourize"),
        help="colourise image files, folders or globs",
        description="Colourise images. Outputs go next to each input as <name>_colour.<ext>, "
        "or into --output (mirroring sub-folders). Nothing is overwritten: an output that "
        "would replace an input is refused, and inputs whose outputs exist are skipped (so "
        "an interrupted run resumes) unless --overwrite. EXIF (orientation reset), ICC "
        "profile and DPI are kept unless --strip-metadata. Inputs that already have colour "
        "are skipped unless --allow-colour. With --samples N (models that can sample, e.g. "
        "the bundled cvae) each input gets N different colourisations, "
        "<name>_colour_1.<ext> ... <name>_colour_N.<ext>; --seed makes them reproducible. "
        "Videos (.mp4 .mov .mkv .avi .webm .m4v, needs PyAV: pip install 'tinct[video]') are "
        "decoded frame by frame, colourised (colour videos from their lightness) with the "
        "colour carried along optical flow between frames (reset at scene cuts) and "
        "re-encoded with the same frame rate, size, time stamps and rotation; audio "
        "streams are copied untouched.",
        examples=EXAMPLES,
    )
    p.add_argument("inputs", nargs="+", help="image files, folders or glob patterns")
    p.add_argument(
        "-o",
        "--output",
        help="output folder (default: next to each input); with one input, a file name "
        "ending in an image or video suffix is the output file (its suffix is the format)",
    )
    p.add_argument(
        "-m",
        "--model",
        default="default",
        help="bundled model name (tinct models) or model/checkpoint file (default: %(default)s)",
    )
    p.add_argument(
        "--size",
        type=positive_int,
        default=None,
        metavar="N",
        help="model resolution in pixels (default: the model's own, 256 for 'default')",
    )
    p.add_argument(
        "--temperature",
        type=finite_float,
        default=None,
        help="annealed-mean temperature (classification models only, e.g. zhang-cpu)",
    )
    p.add_argument(
        "--saturation",
        type=non_negative_float,
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
        "--quality",
        type=positive_int,
        default=95,
        help="JPEG/WebP quality, 1-100 (default: %(default)s)",
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
        "--overwrite", action="store_true", help="replace outputs that exist (never inputs)"
    )
    p.add_argument(
        "--strip-metadata", action="store_true", help="do not copy EXIF, ICC profile and DPI"
    )
    p.add_argument(
        "--allow-colour",
        "--allow-color",
        action="store_true",
        help="colourise inputs that already have colour (from their lightness)",
    )
    p.add_argument(
        "--max-pixels",
        type=non_negative_int,
        default=None,
        metavar="N",
        help="refuse inputs of more pixels than this (likely decompression bombs; "
        "0: no limit; default: 250 megapixels)",
    )
    p.add_argument(
        "--workers",
        type=non_negative_int,
        default=1,
        help="decoding worker processes (0: decode inline; default: %(default)s)",
    )
    p.add_argument(
        "--samples",
        type=positive_int,
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
    p.add_argument(
        "--save-aux",
        action="store_true",
        help="also write the auxiliary maps the model predicts (seed 003's multipath-gan: "
        "saliency and edges) as grey PNGs of the input's size next to each output, "
        "<output>_saliency.png and <output>_edges.png",
    )
    v = p.add_argument_group("videos")
    v.add_argument(
        "--video-codec",
        default=None,
        metavar="NAME",
        help="video encoder (default: libx264; libvpx-vp9 for .webm)",
    )
    v.add_argument(
        "--crf",
        type=non_negative_int,
        default=18,
        help="encoder quality, lower is better (0: lossless with libx264; default: %(default)s)",
    )
    v.add_argument(
        "--pix-fmt", default="yuv420p", help="output pixel format (default: %(default)s)"
    )
    v.add_argument(
        "--no-stabilise",
        "--no-stabilize",
        dest="stabilise",
        action="store_false",
        help="colourise every frame on its own (no temporal smoothing of the colour)",
    )
    v.add_argument(
        "--keep-luminance",
        action="store_true",
        help="write the source's Y plane unchanged (8-bit YUV or grey sources)",
    )
    v.add_argument(
        "--skip-errors",
        action="store_true",
        help="for a broken or truncated video, keep the frames that decode and say where "
        "it stopped (default: skip the video, no output)",
    )
    v.add_argument(
        "--video-batch",
        type=positive_int,
        default=4,
        metavar="N",
        help="video frames per model call (default: %(default)s)",
    )
    s = p.add_argument_group("large jobs and deployment")
    s.add_argument(
        "--jobs",
        type=positive_int,
        default=1,
        metavar="N",
        help="colourise in N worker processes on this machine, each with its own shard "
        "of the inputs and cores/N threads (default: %(default)s)",
    )
    s.add_argument(
        "--shard",
        default=None,
        metavar="I/N",
        help="do only shard I of N (0 <= I < N) of the inputs, chosen by a hash of each "
        "input's name, so N copies of the same command on any machines split the job "
        "without overlap; 'auto': I and N from the launcher (torchrun RANK/WORLD_SIZE, "
        "SLURM array or srun, Open MPI). Outputs that exist are skipped, so a rerun resumes",
    )
    s.add_argument(
        "--backend",
        choices=["torch", "onnxruntime"],
        default="torch",
        help="what runs the network; onnxruntime needs a .onnx file from 'tinct export' "
        "as --model and pip install 'tinct[onnx]' (default: %(default)s)",
    )
    p.add_argument(
        "--threads", type=positive_int, default=None, help="torch threads (default: all cores)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    p.add_argument("-v", "--verbose", action="store_true", help="list every written file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tinct.pipeline import MAX_SIZE, parse_shard

    if args.quality > 100:
        return fail(f"--quality must be between 1 and 100, got {args.quality}")
    if args.crf > 63:
        return fail(f"--crf must be between 0 and 63 (51 for libx264), got {args.crf}")
    if args.size is not None and args.size > MAX_SIZE:
        return fail(f"--size must be at most {MAX_SIZE} pixels, got {args.size}")
    _split_output(args)
    found = _collect_inputs(args)
    if found.missing:
        names = ", ".join(found.missing)
        return fail(f"no such file, folder or matching pattern: {names}")
    if not found.files and not found.skipped:
        return fail("no image or video files among the inputs")
    try:
        plan = _plan_for(args, found)
        if args.shard is not None:
            plan = plan.shard(*parse_shard(args.shard))
    except ValueError as err:
        return fail(err)
    if args.backend == "onnxruntime":
        problem = _onnx_problem(args)
        if problem:
            return fail(problem)
    if args.jobs > 1 and len(plan.todo) > 1:
        if args.shard is not None:
            return fail("--jobs and --shard do not combine: give each machine --shard I/N")
        return _run_jobs(args, len(plan.done))
    code, result = _colourise_plan(args, found.skipped, plan)
    if result is not None and args.shard is not None:
        _shard_summary(args, result, len(plan.done))
    return code


def _onnx_problem(args: argparse.Namespace) -> str | None:
    if not str(args.model).lower().endswith(".onnx"):
        return (
            f"--backend onnxruntime needs a .onnx file as --model, got {args.model!r}; "
            f"export it first: tinct export {args.model} model.onnx"
        )
    if args.precision == "bf16":
        return "--precision bf16 is for the torch backend; ONNX graphs run in float32"
    if args.temperature is not None:
        return (
            "--temperature is fixed when exporting for onnxruntime: "
            "tinct export MODEL out.onnx --temperature T"
        )
    return None


def _load_pipeline(args: argparse.Namespace) -> ColourisePipeline:
    from tinct.models import load_model
    from tinct.pipeline import ColourisePipeline

    if args.backend == "onnxruntime":
        from tinct.pipeline.onnx import OnnxColouriser

        return ColourisePipeline(
            OnnxColouriser(args.model, threads=args.threads),
            size=args.size,
            saturation=args.saturation,
            precision="fp32",
            channels_last=False,
        )
    return ColourisePipeline(
        load_model(args.model),
        size=args.size,
        temperature=args.temperature,
        saturation=args.saturation,
        precision=args.precision,
    )


def _colourise_plan(
    args: argparse.Namespace, skipped: list[tuple[Path, str]], plan: Plan
) -> tuple[int, BatchResult | None]:
    """Colourise what ``plan`` has to do; the exit status and the images' result."""
    from tinct.io import DEFAULT_MAX_PIXELS, is_video_path
    from tinct.pipeline import BatchResult, colourise_files

    videos = [(src, dest) for src, dest in plan.todo if is_video_path(src)]
    stills = [(src, dest) for src, dest in plan.todo if not is_video_path(src)]
    if videos and importlib.util.find_spec("av") is None:
        return fail("video inputs need PyAV: pip install 'tinct[video]' (or pip install av)"), None
    if videos and (args.samples is not None or args.seed is not None):
        return fail("--samples and --seed are for images; videos get one colourisation"), None
    if videos and args.save_aux:
        return fail("--save-aux is for images; videos get no auxiliary maps"), None
    if not plan.todo:  # nothing left to colourise: no model to load
        _summary(args, BatchResult(), plan.done)
        return _report(skipped), BatchResult()
    if videos:
        from tinct.io.video import check_encoder

        try:
            check_encoder(args.video_codec, args.pix_fmt)
        except ValueError as err:
            return fail(err), None
    try:
        pipeline = _load_pipeline(args)
        if args.samples is not None or args.seed is not None:
            pipeline.check_sampling()
        if args.save_aux:
            pipeline.check_aux()
    except (FileNotFoundError, ValueError, KeyError) as err:
        return fail(err), None
    threads(args.threads)
    video_skipped: list[tuple[Path, str]] = []
    if videos:
        outcome = _colourise_videos(args, pipeline, videos)
        if outcome is None:
            return EXIT_INTERRUPTED, None
        video_skipped = outcome
    if not stills:
        if plan.done and not args.quiet:
            print(f"{len(plan.done)} input(s) already done, their outputs kept "
                  "(--overwrite redoes them)")  # fmt: skip
        return _report(skipped + video_skipped), BatchResult(skipped=video_skipped)
    result = colourise_files(
        [src for src, _ in stills],
        pipeline,
        dests=[dest for _, dest in stills],
        quality=args.quality,
        subsampling=args.jpeg_subsampling,
        workers=args.workers,
        progress=show_progress(args),
        samples=args.samples,
        seed=args.seed,
        allow_colour=args.allow_colour,
        keep_metadata=not args.strip_metadata,
        save_aux=args.save_aux,
        max_pixels=DEFAULT_MAX_PIXELS if args.max_pixels is None else (args.max_pixels or None),
    )
    result.skipped = video_skipped + result.skipped
    _summary(args, result, plan.done)
    if result.interrupted:
        images = len({src for src, _ in result.written})
        print(
            f"interrupted: {images} written, {result.remaining} left "
            "(run the same command again to finish)",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED, result
    return _report(skipped + result.skipped), result


def _shard_summary(args: argparse.Namespace, result: BatchResult, done: int) -> None:
    """One line a log collector can grep: this worker's done/skipped/failed counts."""
    if args.quiet:
        return
    images = len({src for src, _ in result.written})
    print(
        f"shard {args.shard or '-'}: {images} colourised, {done} already done, "
        f"{len(result.skipped)} failed or skipped, {result.remaining} left"
    )


@dataclass
class _JobOutcome:
    code: int
    written: int
    failed: list[tuple[str, str]]
    remaining: int


def _job(args: argparse.Namespace, index: int, count: int, threads_each: int) -> _JobOutcome:
    """One worker of ``--jobs``: shard ``index`` of ``count``, quietly (the parent sums)."""
    import signal

    import torch

    torch.set_num_threads(threads_each)
    if args.backend == "onnxruntime" and args.threads is None:
        args.threads = threads_each
    args.shard = f"{index}/{count}"
    args.jobs = 1
    args.quiet = True
    # Ctrl-C reaches the whole process group: each worker stops after its current file.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        found = _collect_inputs(args)
        plan = _plan_for(args, found).shard(index, count)
        code, result = _colourise_plan(args, found.skipped if index == 0 else [], plan)
    except KeyboardInterrupt:
        return _JobOutcome(EXIT_INTERRUPTED, 0, [], -1)
    if result is None:
        return _JobOutcome(code, 0, [], 0)
    return _JobOutcome(
        code,
        len({src for src, _ in result.written}),
        [(str(p), r) for p, r in result.skipped],
        result.remaining,
    )


def _split_output(args: argparse.Namespace) -> None:
    """``-o`` as a folder (``args.output``) or, when it names an image or video file, as
    the one output file (``args.output_file``; :func:`tinct.pipeline.plan_outputs`)."""
    from tinct.pipeline import is_output_file

    args.output_file = None
    if is_output_file(args.output):
        args.output_file, args.output = args.output, None


def _collect_inputs(args: argparse.Namespace) -> Inputs:
    from tinct.pipeline import collect_inputs

    return collect_inputs(args.inputs, out_dir=args.output, suffix=args.suffix, videos=True)


def _plan_for(args: argparse.Namespace, found: Inputs) -> Plan:
    from tinct.models import AUX_MAP_NAMES
    from tinct.pipeline import plan_outputs

    return plan_outputs(
        found.files,
        out_dir=args.output,
        suffix=args.suffix,
        ext=args.format,
        samples=args.samples,
        overwrite=args.overwrite,
        # Before the model is loaded: every map a model may write (only multipath-gan's).
        aux=AUX_MAP_NAMES if args.save_aux else (),
        out_file=args.output_file,
    )


def _run_jobs(args: argparse.Namespace, done: int) -> int:
    """``--jobs N``: N spawned worker processes, shard i of N each; one summary."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    count = args.jobs
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads_each = args.threads or max(1, (cores or 1) // count)
    func = args.func
    args.func = None  # the parser's handler need not travel
    outcomes: list[_JobOutcome] = []
    interrupted = False
    try:
        with ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_job, args, i, count, threads_each) for i in range(count)]
            for future in futures:
                while True:
                    try:
                        outcomes.append(future.result())
                        break
                    except KeyboardInterrupt:  # the workers finish their current file
                        interrupted = True
    finally:
        args.func = func
    written = sum(o.written for o in outcomes)
    failed = [item for o in outcomes for item in o.failed]
    interrupted = interrupted or any(o.code == EXIT_INTERRUPTED for o in outcomes)
    usage = [o.code for o in outcomes if o.code not in (0, 1, EXIT_INTERRUPTED)]
    if not args.quiet:
        print(
            f"{count} jobs: {written} colourised, {done} already done, "
            f"{len(failed)} failed or skipped"
        )
    if interrupted:
        print("interrupted: run the same command again to finish", file=sys.stderr)
        return EXIT_INTERRUPTED
    if usage:
        return usage[0]
    return report_skipped(failed)


def _colourise_videos(
    args: argparse.Namespace, pipeline: ColourisePipeline, videos: list[tuple[Path, Path]]
) -> list[tuple[Path, str]] | None:
    """Colourise the videos; their skipped inputs (and partly decoded ones with
    ``--skip-errors``), or None when interrupted (after saying what is left)."""
    from tinct.pipeline.video import colourise_videos

    outcome = colourise_videos(
        videos,
        pipeline,
        progress=show_progress(args),
        codec=args.video_codec,
        crf=args.crf,
        pix_fmt=args.pix_fmt,
        stabilise=args.stabilise,
        keep_luminance=args.keep_luminance,
        batch=args.video_batch,
        skip_errors=args.skip_errors,
    )
    skipped = list(outcome.skipped)
    for video in outcome.written:
        if video.stopped is not None:
            err = video.stopped
            skipped.append(
                (
                    video.src,
                    f"partly colourised into {video.dest}: stopped after {video.frames} "
                    f"frame(s) ({err.seconds:.2f} s): {err.reason}",
                )
            )
        if not args.quiet:
            print(f"colourised {video.src} -> {video.dest} ({video.frames} frames)")
    if outcome.interrupted:
        print(
            f"interrupted: {len(outcome.written)} video(s) written, {outcome.remaining} left "
            "(run the same command again to finish)",
            file=sys.stderr,
        )
        return None
    return skipped


def _report(skipped: list[tuple[Path, str]]) -> int:
    return report_skipped([(str(p), r) for p, r in skipped])


def _summary(args: argparse.Namespace, result: BatchResult, done: list[tuple[Path, Path]]) -> None:
    if args.quiet or not (result.written or done):
        return
    images = len({src for src, _ in result.written})
    files = f" ({len(result.written)} files)" if len(result.written) != images else ""
    if images == 1 and not done and not args.verbose:
        src, dest = result.written[0]
        where = dest if len(result.written) == 1 else dest.parent
        print(f"colourised {src} -> {where}{files}")
    else:
        print(f"colourised {images} image(s){files}")
    if done:
        print(f"{len(done)} input(s) already done, their outputs kept (--overwrite redoes them)")
    for src, dest in result.written if args.verbose else []:
        print(f"  {src} -> {dest}")
