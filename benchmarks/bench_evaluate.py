"""How long ``tinct evaluate`` takes: N images at 256x256, the default model, the two
baselines and every metric (FD-Lite and top-1 agreement included).

The images are 256x256 crops of the offline corpus photos (all splits), written as PNG
files into a temporary folder: the first crop of each photo is its centre, further
crops (when N exceeds the number of photos) come from its left/top and right/bottom
ends. The timed part is ``tinct.eval.runner.evaluate`` on that folder, reading the
files included; writing the report is timed separately.

Usage: python benchmarks/bench_evaluate.py [--corpus corpus] [--images 500] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from tinct.data.photos import CorpusPhotos
from tinct.eval.config import EvalConfig, model_specs
from tinct.eval.report import write_report
from tinct.eval.runner import evaluate
from tinct.io import write_image
from tinct.io.resize import resize_short_side


def crops(photo: np.ndarray, size: int) -> list[np.ndarray]:
    """Centre, then start and end crops of the short-side-``size`` resized photo."""
    im = resize_short_side(photo, size, shrink="area", enlarge="bicubic")
    nh, nw = im.shape[:2]
    offsets = [((nh - size) // 2, (nw - size) // 2), (0, 0), (nh - size, nw - size)]
    return [im[t : t + size, left : left + size] for t, left in offsets]


def make_folder(corpus: Path, n: int, size: int, out: Path) -> int:
    photos = CorpusPhotos(corpus, "all", short_side=None)
    written = 0
    for round_ in range(3):
        for i in range(len(photos)):
            if written == n:
                return written
            crop = crops(photos.load(i).rgb, size)[round_]
            write_image(out / f"{written:04d}.png", np.ascontiguousarray(crop))
            written += 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "images"
        count = make_folder(args.corpus, args.images, args.size, folder)
        config = EvalConfig(target=str(folder), size=args.size)
        start = time.perf_counter()
        result = evaluate(config, model_specs(["default"]), progress=True)
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        write_report(result, Path(tmp) / "report", command="python benchmarks/bench_evaluate.py")
        report_seconds = time.perf_counter() - start
    per_model = {n: s["seconds_per_image"] * 1e3 for n, s in result.summary.items()}
    print(
        f"evaluate: {count} images at {args.size}x{args.size}, default model + greyscale + "
        f"mean-chroma, all metrics incl. FD-Lite and top-1 agreement, "
        f"{torch.get_num_threads()} threads: {seconds:.1f} s ({seconds / 60:.2f} min); "
        f"report {report_seconds:.1f} s"
    )
    print(
        "colourisation alone, ms/image: "
        + ", ".join(f"{n} {ms:.1f}" for n, ms in per_model.items())
    )


if __name__ == "__main__":
    main()
