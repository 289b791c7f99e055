"""Cost of a model: parameters, FLOPs, latency and memory.

Plain functions on ``torch.nn.Module`` and zero-argument callables; nothing
here depends on the training or CLI code.
"""

from __future__ import annotations

import math
import os
import resource
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

T = TypeVar("T")

_MIB = 1024.0 * 1024.0


def count_parameters(module: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of parameter elements (shared parameters counted once).

    With ``trainable_only`` only parameters with ``requires_grad`` count.
    """
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def count_flops(module: nn.Module, *inputs: Tensor) -> int:
    """Total FLOPs of one forward pass ``module(*inputs)``, as counted by torch.

    Uses ``torch.utils.flop_counter.FlopCounterMode`` under ``torch.no_grad()``,
    which follows torch's convention: a multiply-add counts as 2 FLOPs (a
    ``Conv2d`` costs ``2 * N * C_out * H_out * W_out * C_in / groups * kH * kW``,
    a ``Linear`` ``2 * N * in * out``), and only the operators torch has
    formulas for are counted (matrix products and convolutions, attention);
    biases, normalisation, activations and pointwise ops count 0. The module
    runs in eval mode (so batch-norm statistics are not updated); the training
    flags of all its submodules are restored afterwards. The count is for the
    given input size: pass the batch and resolution you mean.
    """
    modes = {m: m.training for m in module.modules()}
    module.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            module(*inputs)
    finally:
        for m, training in modes.items():
            m.training = training
    return int(counter.get_total_flops())


@dataclass(frozen=True)
class LatencyStats:
    """Wall-clock times of ``repeats`` timed calls, in milliseconds."""

    median_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float
    p90_ms: float
    std_ms: float
    repeats: int
    times_ms: tuple[float, ...]


def _quantile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolation quantile (numpy's default) of already sorted values."""
    position = q * (len(sorted_values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def measure_latency(
    fn: Callable[[], object], *, warmup: int = 2, repeats: int = 10, min_time: float = 0.0
) -> LatencyStats:
    """Time ``fn()`` with ``time.perf_counter``: ``warmup`` untimed calls, then timed ones.

    At least ``repeats`` calls are timed, and more until the timed calls add up
    to ``min_time`` seconds. Each call is timed on its own (per-call wall clock,
    in ms). ``fn`` must finish its work before returning: for asynchronous
    devices (CUDA) call ``torch.cuda.synchronize()`` inside it.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    if warmup < 0:
        raise ValueError(f"warmup must be >= 0, got {warmup}")
    for _ in range(warmup):
        fn()
    times: list[float] = []
    total = 0.0
    while len(times) < repeats or total < min_time:
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        times.append(elapsed * 1e3)
        total += elapsed
    ordered = sorted(times)
    return LatencyStats(
        median_ms=statistics.median(ordered),
        mean_ms=statistics.fmean(ordered),
        min_ms=ordered[0],
        max_ms=ordered[-1],
        p90_ms=_quantile(ordered, 0.9),
        std_ms=statistics.pstdev(ordered),
        repeats=len(times),
        times_ms=tuple(times),
    )


def _maxrss_bytes() -> int:
    """``ru_maxrss`` of this process in bytes (KiB on Linux, bytes on macOS)."""
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(maxrss) if sys.platform == "darwin" else int(maxrss) * 1024


_STATM = "/proc/self/statm"


def _current_rss_bytes() -> int | None:
    """Resident set size now, from ``/proc/self/statm``; None where that is missing."""
    try:
        with open(_STATM, "rb") as f:
            resident_pages = int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def _vm_hwm_bytes() -> int | None:
    """``VmHWM`` (peak RSS of this process image) from ``/proc/self/status``."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except (OSError, ValueError, IndexError):
        return None
    return None


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB.

    On Linux ``VmHWM`` from ``/proc/self/status``: unlike ``ru_maxrss``, which Linux
    carries over ``fork`` + ``exec`` (a subprocess started by a 1 GB parent reports at
    least 1 GB), it belongs to this process image alone. Elsewhere ``ru_maxrss``.
    """
    hwm = _vm_hwm_bytes()
    return (hwm if hwm is not None else _maxrss_bytes()) / _MIB


def peak_rss_growth(fn: Callable[[], T], *, interval: float = 0.001) -> tuple[T, float]:
    """Run ``fn()`` and return its result and the peak RSS growth during the call, in MiB.

    A background thread samples the resident set size of the *whole process*
    (``/proc/self/statm``) every ``interval`` seconds (about 1 ms) while ``fn``
    runs; the result is the largest sample minus the RSS just before the call
    (0 if it never grew). It is sampled, so a spike shorter than the interval,
    or during a long call that holds the GIL, can be missed; as a backstop, if
    the process's lifetime peak (``ru_maxrss``) rose during the call, that peak
    is used too. It includes everything the process maps while ``fn`` runs:
    allocator caches and arenas, lazily loaded libraries, other threads' memory;
    memory freed before the call and reused by it does not count. Where
    ``/proc`` is missing only ``ru_maxrss`` is used, which reports growth above
    the process's earlier peak only (an underestimate, often 0). CPU memory
    only: CUDA allocations are not in the RSS.
    """
    before_rss = _current_rss_bytes()
    before_maxrss = _maxrss_bytes()
    baseline = before_rss if before_rss is not None else before_maxrss
    peak = baseline
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            rss = _current_rss_bytes()
            if rss is not None and rss > peak:
                peak = rss
            stop.wait(interval)

    sampler: threading.Thread | None = None
    if before_rss is not None:
        sampler = threading.Thread(target=sample, name="peak_rss_growth", daemon=True)
        sampler.start()
    try:
        result = fn()
    finally:
        stop.set()
        if sampler is not None:
            sampler.join()
    after_rss = _current_rss_bytes()
    if after_rss is not None:
        peak = max(peak, after_rss)
    after_maxrss = _maxrss_bytes()
    if after_maxrss > before_maxrss:
        peak = max(peak, after_maxrss)
    return result, max(peak - baseline, 0) / _MIB


def train_seconds_from_logs(run_dir: str | os.PathLike[str]) -> float | None:
    """Training time in seconds of a ``tinct train`` run, from its CSV log: the last
    ``train_time_s`` (wall clock, summed over resumed runs), or ``None`` if the run
    logged none."""
    import csv
    from pathlib import Path

    path = Path(run_dir) / "logs" / "version_0" / "metrics.csv"
    if not path.is_file():
        return None
    with path.open(newline="") as f:
        values = [float(row["train_time_s"]) for row in csv.DictReader(f)
                  if row.get("train_time_s")]  # fmt: skip
    return max(values) if values else None
