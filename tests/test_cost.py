"""Model cost: parameter and FLOP counts by hand formulas, latency and memory measurement."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from torch import nn

from tinct.eval.cost import (
    LatencyStats,
    count_flops,
    count_parameters,
    measure_latency,
    peak_rss_growth,
    peak_rss_mib,
)


def test_count_parameters_by_hand() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Linear(8, 5))
    conv, bn = 8 * 3 * 3 * 3 + 8, 8 + 8  # BN buffers are not parameters
    linear = 8 * 5 + 5
    assert count_parameters(model) == conv + bn + linear
    model[0].requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == bn + linear
    assert count_parameters(model) == conv + bn + linear
    shared = nn.Linear(4, 4)
    assert count_parameters(nn.Sequential(shared, shared)) == 4 * 4 + 4


def test_count_flops_conv_counts_multiply_add_as_two() -> None:
    n, c_in, c_out, k, h, w = 2, 3, 8, 3, 16, 12
    conv = nn.Conv2d(c_in, c_out, k, padding=1)
    expected = 2 * n * c_out * h * w * c_in * k * k  # bias not counted
    assert count_flops(conv, torch.zeros(n, c_in, h, w)) == expected
    # Strided, grouped: output 4x4, each output sums over C_in / groups * k * k inputs.
    grouped = nn.Conv2d(4, 8, 3, stride=2, groups=2)
    assert count_flops(grouped, torch.zeros(1, 4, 9, 9)) == 2 * 8 * 4 * 4 * (4 // 2) * 3 * 3


def test_count_flops_linear_and_restores_training_mode() -> None:
    model = nn.Sequential(nn.Linear(10, 6), nn.ReLU(), nn.BatchNorm1d(6), nn.Linear(6, 5))
    model.train()
    model[2].eval()  # a mixed state must come back as it was
    running_mean = model[2].running_mean.clone()
    flops = count_flops(model, torch.randn(4, 10))
    assert flops == 2 * 4 * (10 * 6 + 6 * 5)
    assert [m.training for m in model] == [True, True, False, True]
    assert torch.equal(model[2].running_mean, running_mean)


def test_measure_latency_statistics() -> None:
    calls = 0

    def sleep_2ms() -> None:
        nonlocal calls
        calls += 1
        time.sleep(0.002)

    stats = measure_latency(sleep_2ms, warmup=3, repeats=5)
    assert isinstance(stats, LatencyStats)
    assert calls == 3 + 5
    assert stats.repeats == len(stats.times_ms) == 5
    assert stats.min_ms >= 2.0  # sleep lasts at least as long as asked
    assert stats.min_ms <= stats.median_ms <= stats.p90_ms <= stats.max_ms
    assert stats.median_ms == pytest.approx(float(np.median(stats.times_ms)))
    assert stats.mean_ms == pytest.approx(float(np.mean(stats.times_ms)))
    assert stats.p90_ms == pytest.approx(float(np.percentile(stats.times_ms, 90)))
    assert stats.median_ms < 200  # loose: a loaded CI machine, but not absurd

    calls = 0
    longer = measure_latency(sleep_2ms, warmup=0, repeats=2, min_time=0.03)
    assert longer.repeats == calls
    assert sum(longer.times_ms) >= 30.0 and longer.repeats >= 3
    with pytest.raises(ValueError, match="repeats"):
        measure_latency(sleep_2ms, repeats=0)


def test_peak_rss_growth_sees_a_large_allocation() -> None:
    size = 200 * 1024 * 1024

    def allocate() -> int:
        block = np.ones(size, dtype=np.uint8)  # written, so resident
        time.sleep(0.05)  # held a while, as a model's activations would be
        return int(block[::4096].sum())

    result, growth = peak_rss_growth(allocate)
    assert result == size // 4096
    assert growth >= 150.0
    assert growth < 1000.0
    assert peak_rss_mib() >= growth


def test_peak_rss_growth_of_a_trivial_call_is_small() -> None:
    result, growth = peak_rss_growth(lambda: sum(range(1000)))
    assert result == 499500
    assert 0.0 <= growth < 20.0


def test_peak_rss_growth_propagates_errors() -> None:
    def fail() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        peak_rss_growth(fail)


def test_peak_rss_growth_without_proc_falls_back_to_maxrss(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tinct.eval.cost as cost

    monkeypatch.setattr(cost, "_STATM", "/nonexistent/statm")
    assert cost._current_rss_bytes() is None
    result, growth = peak_rss_growth(lambda: 7)
    assert result == 7
    assert 0.0 <= growth < 5.0  # only growth above the earlier lifetime peak counts


def test_peak_rss_of_a_subprocess_is_its_own() -> None:
    """Linux carries ru_maxrss over fork + exec; peak_rss_mib must not."""
    import subprocess
    import sys

    import numpy as np

    big = np.ones(400 * 1024 * 1024, dtype=np.uint8)  # touched: 400 MiB resident here
    code = "import numpy as np; from tinct.eval.cost import peak_rss_mib; print(peak_rss_mib())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    child = float(out.stdout.strip())
    assert 0 < child < peak_rss_mib() - 300 and big[-1] == 1
