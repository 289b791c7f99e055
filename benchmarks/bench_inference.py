"""Inference speed and memory of the default model next to an ECCV16-shaped network.

Prints, for each network, measured in the same run on the same CPU:

- median latency of the network alone at 256x256 (fp32; channels_last; bf16 autocast),
- median end-to-end time for a 1024x1024 JPEG (decode -> colourise -> encode JPEG, with
  the default options of ``tinct.io.write_image``), at the default precision and at fp32,
  and the median of each of the three steps; the two networks take turns, run by run, so
  that other processes on the machine slow both alike,
- images/s over a folder (default: the corpus test split, else scikit-image's samples),
- peak RSS of a fresh process colourising a 12000x8000 JPEG (decode -> colourise -> encode).

The reference is the network of Zhang et al. 2016 ("ECCV16"), the registered ``zhang-full``
model (``tinct.models.classification``: seed 002 section 4.1, table 1, with Zhang's released
channel widths, conv7 512 and conv8 256, the widths that give the seed's 32,235,385
parameters), random weights, 313-bin output at 1/4 resolution decoded by annealed mean
(T = 0.38). Speed does not depend on the weights.

Usage: python benchmarks/bench_inference.py [--threads N] [--repeats N] [--folder DIR]
                                            [--skip-big] [--json OUT]
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor

from tinct.io import iter_image_files, read_image_numpy, write_image
from tinct.models import Colouriser, create_model, load_model
from tinct.pipeline import ColourisePipeline, colourise_files, native_bf16

REPO = Path(__file__).resolve().parents[1]
REFERENCE = "zhang-full"  # the ECCV16 network


def median_time(fn: Callable[[], object], repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def model_latency(model: Colouriser, repeats: int) -> dict[str, float]:
    """Median seconds of forward + decode at 256x256 (batch norms folded, as in the
    pipeline) in four execution modes."""
    x = torch.rand(1, 1, 256, 256) * 100
    out: dict[str, float] = {}
    fused = copy.deepcopy(model).eval()
    fused.fuse_for_inference()
    for mode in ("fp32", "channels_last", "channels_last+bf16 autocast", "channels_last+bf16"):
        net = copy.deepcopy(fused)
        inp = x
        if mode.startswith("channels_last"):
            net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
            inp = x.contiguous(memory_format=torch.channels_last)
        if mode == "channels_last+bf16":
            net.to(torch.bfloat16)
        autocast = mode.endswith("autocast")

        def run(net: Colouriser = net, inp: Tensor = inp, autocast: bool = autocast) -> None:
            with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=autocast):
                net.decode(net(inp).float())

        out[mode] = median_time(run, repeats)
    return out


STEPS = ("decode", "colourise", "encode")


def end_to_end(
    pipelines: dict[str, ColourisePipeline], jpeg: Path, out: Path, repeats: int, warmup: int = 2
) -> dict[str, list[dict[str, float]]]:
    """Seconds of decode -> colourise -> encode and of each step, ``repeats`` times per
    pipeline, the pipelines taking turns (so a change in the machine's load hits all)."""
    times: dict[str, list[dict[str, float]]] = {name: [] for name in pipelines}
    for i in range(warmup + repeats):
        for name, pipeline in pipelines.items():
            t0 = time.perf_counter()
            image = read_image_numpy(jpeg)
            t1 = time.perf_counter()
            colour = pipeline(image)
            t2 = time.perf_counter()
            write_image(out, colour, quality=90)
            t3 = time.perf_counter()
            if i >= warmup:
                run = dict(zip(STEPS, (t1 - t0, t2 - t1, t3 - t2), strict=True))
                times[name].append({"total": t3 - t0, **run})
    return times


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


BIG_SCRIPT = """
import resource, sys, time
import torch
torch.set_num_threads({threads})
from tinct.io import read_image_numpy, write_image
from tinct.pipeline import ColourisePipeline
which, src, dst = sys.argv[1:4]
if which == "zhang-full":
    from tinct.models import create_model
    model = create_model(which).eval()
else:
    from tinct.models import load_model
    model = load_model(which)
start = time.perf_counter()
image = read_image_numpy(src)
write_image(dst, ColourisePipeline(model)(image), quality=90)
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def big_image_run(which: str, src: Path, dst: Path, threads: int) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of a fresh process colourising ``src``."""
    code = BIG_SCRIPT.format(threads=threads)
    proc = subprocess.run(
        [sys.executable, "-c", code, which, str(src), str(dst)],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, rss_kb = proc.stdout.split()[-2:]
    return float(seconds), float(rss_kb) / 1024


def make_inputs(tmp: Path) -> tuple[Path, Path]:
    """A 1024x1024 JPEG and a 12000x8000 JPEG made from a real photo (scikit-image's
    astronaut), resized with Pillow's bicubic filter."""
    import skimage.data

    photo = Image.open(Path(skimage.data.__file__).parent / "astronaut.png").convert("RGB")
    small = tmp / "photo_1024.jpg"
    photo.resize((1024, 1024), Image.Resampling.BICUBIC).save(small, quality=90)
    big = tmp / "photo_12000x8000.jpg"
    photo.resize((12000, 8000), Image.Resampling.BICUBIC).save(big, quality=90)
    return small, big


def default_folder() -> list[Path]:
    corpus = REPO / "corpus"
    if (corpus / "manifest.tsv").is_file():
        from tinct.data.corpus import corpus_files

        return corpus_files(corpus, "test")
    import skimage.data

    return iter_image_files([Path(skimage.data.__file__).parent / "*.png"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model", default="default", help="tinct model to measure (default: %(default)s)"
    )
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument(
        "--folder", type=Path, default=None, help="images for the throughput figure"
    )
    parser.add_argument("--skip-big", action="store_true", help="skip the 12000x8000 run")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers as JSON")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    nets: dict[str, Colouriser] = {
        "tinct " + args.model: load_model(args.model),
        f"ECCV16 ({REFERENCE})": create_model(REFERENCE).eval(),
    }
    files = iter_image_files([args.folder]) if args.folder else default_folder()
    machine = platform.processor() or platform.machine()
    bf16 = "native bf16" if native_bf16() else "no native bf16"
    print(f"# {machine}, torch {torch.__version__}, {args.threads} threads, {bf16}")
    print("# pipeline: default options (precision auto, channels_last)")
    results: dict[str, dict[str, object]] = {name: {} for name in nets}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        jpeg_1024, jpeg_big = make_inputs(tmp)
        pipelines = {name: ColourisePipeline(model) for name, model in nets.items()}
        fp32 = {name: ColourisePipeline(model, precision="fp32") for name, model in nets.items()}
        default = f"{next(iter(pipelines.values())).precision} (default)"
        turns = f"median of {args.repeats}, the networks taking turns"
        print(f"\n## end to end 1024x1024 JPEG ({turns})")
        e2e = end_to_end(pipelines, jpeg_1024, tmp / "out.jpg", args.repeats)
        e2e_fp32 = end_to_end(fp32, jpeg_1024, tmp / "out.jpg", args.repeats)
        for name in nets:
            row = medians(e2e[name])
            total_fp32 = medians(e2e_fp32[name])["total"]
            print(f"{name + ', ' + default:<48}{row['total'] * 1000:8.1f} ms")
            parts = ", ".join(f"{k} {row[k] * 1000:.1f}" for k in STEPS)
            print(f"{'  of which (medians, ms)':<32}{parts:>32}")
            print(f"{name + ', fp32':<48}{total_fp32 * 1000:8.1f} ms")
            results[name].update(
                {
                    "e2e_1024_jpeg_s": row["total"],
                    "e2e_1024_jpeg_steps_s": {k: row[k] for k in STEPS},
                    "e2e_1024_jpeg_fp32_s": total_fp32,
                    "precision": pipelines[name].precision,
                }
            )
        ours, ref = list(nets)
        per_turn = sorted(r["total"] / o["total"] for o, r in zip(e2e[ours], e2e[ref], strict=True))
        ratio = medians(e2e[ref])["total"] / medians(e2e[ours])["total"]
        ratio_fp32 = medians(e2e_fp32[ref])["total"] / medians(e2e_fp32[ours])["total"]

        for name, model in nets.items():
            params = sum(p.numel() for p in model.parameters())
            print(f"\n## {name} ({params / 1e6:.2f} M parameters)")
            latency = model_latency(model, args.repeats)
            for mode, secs in latency.items():
                print(f"{'model only 256x256, ' + mode:<48}{secs * 1000:8.1f} ms")
            start = time.perf_counter()
            result = colourise_files(
                files, pipelines[name], out_dir=tmp / "folder_out", progress=False
            )
            rate = len(result.written) / (time.perf_counter() - start)
            label = f"folder ({len(result.written)} images)"
            print(f"{label:<48}{rate:8.2f} images/s")
            results[name].update(
                {
                    "params": params,
                    "model_256_s": latency,
                    "folder_images": len(result.written),
                    "folder_images_per_s": rate,
                }
            )
            if not args.skip_big:
                which = args.model if name.startswith("tinct") else REFERENCE
                secs, rss = big_image_run(which, jpeg_big, tmp / "big_out.jpg", args.threads)
                print(f"{'12000x8000 JPEG, fresh process':<48}{secs:8.1f} s, peak RSS {rss:.0f} MB")
                results[name]["big_12000x8000_s"] = secs
                results[name]["big_12000x8000_peak_rss_mb"] = rss
    print(
        f"\nend-to-end 1024x1024 speed-up of {ours} over {ref}: {ratio:.1f}x "
        f"({default}; turn by turn {per_turn[0]:.1f}x to {per_turn[-1]:.1f}x), "
        f"{ratio_fp32:.1f}x at fp32"
    )
    if args.json:
        summary = {
            "threads": args.threads,
            "results": results,
            "speedup_e2e_1024": ratio,
            "speedup_e2e_1024_per_turn_range": [per_turn[0], per_turn[-1]],
            "speedup_e2e_1024_fp32": ratio_fp32,
        }
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
