"""Per-call cost of ``tinct.colourise`` when a user loops over photos.

Eight consecutive calls on one 1024x1024 photo (an array, so decoding is not timed), in
three ways, measured in the same run:

- ``tinct.colourise(array)``: the model is loaded once and kept (the first call pays for
  loading it, the next seven do not);
- the same with ``tinct.clear_cache()`` before every call: what each call cost before the
  cache (the model loaded on every call);
- one ``ColourisePipeline`` built beforehand and reused: the floor.

Prints one line per way (first call, median of calls 2-8, all 8) and the ratio of the
uncached to the cached median.

Usage: python benchmarks/bench_api.py [--calls 8] [--size 1024] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import skimage.data
import torch
from PIL import Image

import tinct
from tinct.pipeline import ColourisePipeline


def timed(fn: Callable[[], object], calls: int) -> list[float]:
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=8)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    grey = Image.fromarray(skimage.data.astronaut()).convert("L").convert("RGB")
    photo = np.asarray(grey.resize((args.size, args.size), Image.Resampling.BICUBIC))

    def uncached() -> object:
        tinct.clear_cache()
        return tinct.colourise(photo)

    tinct.clear_cache()
    cached = timed(lambda: tinct.colourise(photo), args.calls)
    before = timed(uncached, args.calls)
    pipeline = ColourisePipeline.from_pretrained("default")
    pipeline(photo)  # warm-up, as the cached path had its first call
    reused = timed(lambda: pipeline(photo), args.calls)

    print(
        f"{args.calls} consecutive calls on a {args.size}x{args.size} photo, "
        f"{torch.get_num_threads()} threads, precision auto:"
    )
    print(f"{'way':<44}{'first':>9}{'median 2..':>12}{'total':>9}")
    rows = (
        ("tinct.colourise (model kept, this version)", cached),
        ("tinct.colourise, clear_cache() each call", before),
        ("ColourisePipeline reused (floor)", reused),
    )
    for name, times in rows:
        print(
            f"{name:<44}{times[0] * 1e3:8.0f}ms{statistics.median(times[1:]) * 1e3:10.0f}ms"
            f"{sum(times) * 1e3:8.0f}ms"
        )
    ratio = statistics.median(before[1:]) / statistics.median(cached[1:])
    print(f"uncached / cached median per call: {ratio:.1f}x")


if __name__ == "__main__":
    main()
