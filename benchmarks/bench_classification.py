"""Parameters, FLOPs and CPU latency of the classification (Zhang et al.) networks.

For each registered classification model (or those named): parameter count, forward
FLOPs at ``--size`` (``torch.utils.flop_counter.FlopCounterMode``, 2 per multiply-add)
and the median latency of the forward pass (fp32, batch 1, eval mode after
``fuse_for_inference``, ``--threads`` threads, median of ``--repeats``), in contiguous
(NCHW) and channels_last memory layouts.

On a shared machine pass ``--quiet``: each timing then waits for a second in which the
CPUs are idle and is repeated when other processes used more than 3 % of its duration
(Linux, from /proc/stat).

Usage: python benchmarks/bench_classification.py [NAME ...] [--threads N] [--repeats N]
                                                 [--size S] [--quiet] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable

import torch

from tinct.eval.cost import count_flops, count_parameters
from tinct.models import create_model, list_models

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _busy_ticks() -> int:
    """CPU ticks spent not idle, all processes."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    return sum(values) - values[3] - values[4]


def _own_ticks() -> int:
    with open("/proc/self/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def median_ms(fn: Callable[[], object], repeats: int, *, quiet: bool, tries: int = 30) -> float:
    """Median wall time of ``fn()`` in ms after 3 warm-up calls (see ``--quiet``)."""
    for _ in range(tries):
        if quiet:
            while True:
                start = _busy_ticks()
                time.sleep(1.0)
                if _busy_ticks() - start < 0.05 * _TICKS:
                    break
        for _ in range(3):
            fn()
        busy, own = (_busy_ticks(), _own_ticks()) if quiet else (0, 0)
        times = []
        for _ in range(repeats):
            start_t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start_t)
        if quiet:
            others = (_busy_ticks() - busy) - (_own_ticks() - own)
            if others > 0.03 * sum(times) * _TICKS + 2:
                continue
        return statistics.median(times) * 1e3
    raise RuntimeError(f"the CPUs were never quiet in {tries} tries")


def measure(name: str, size: int, repeats: int, quiet: bool) -> dict[str, float | int | str]:
    model = create_model(name).eval()
    x = torch.rand(1, 1, size, size) * 100
    row: dict[str, float | int | str] = {
        "model": name,
        "params": count_parameters(model),
        "gflops": count_flops(model, x) / 1e9,
    }
    model.fuse_for_inference()
    with torch.inference_mode():
        row["fp32_ms"] = median_ms(lambda: model(x), repeats, quiet=quiet)
        model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        x_cl = x.contiguous(memory_format=torch.channels_last)
        row["channels_last_ms"] = median_ms(lambda: model(x_cl), repeats, quiet=quiet)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="models (default: the classification family)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--quiet", action="store_true", help="time only while no one else runs")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    names = args.names or list_models(family="classification")
    print(
        f"{platform.machine()}, torch {torch.__version__}, {args.threads} threads, "
        f"{args.size}x{args.size}, fp32, batch 1, median of {args.repeats}"
    )
    rows = []
    for name in names:
        row = measure(name, args.size, args.repeats, args.quiet)
        rows.append(row)
        print(
            f"{name:<18} {row['params']:>12,} params {row['gflops']:8.2f} GFLOPs "
            f"{row['fp32_ms']:8.1f} ms (channels_last {row['channels_last_ms']:.1f} ms)",
            flush=True,
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
