"""Quality and speed of several colourisers side by side, in one run (``tinct benchmark``).

Quality comes from :func:`tinct.eval.runner.evaluate` on the chosen images. Speed is
measured on the same CPU in the same process, the models taking turns (round robin)
so that a noisy machine slows them all alike and their ratios stay meaningful:

- parameters and FLOPs of one forward pass at 256x256 (torch's flop counter, a
  multiply-add counted as 2 FLOPs);
- end-to-end latency of the pipeline (RGB uint8 in, RGB uint8 out) on a real photo at
  each of ``latency_sizes`` (square), median of ``repeats`` after a warm-up;
- peak RSS of a fresh Python process that loads the model and colourises one photo at
  the largest latency size (includes the interpreter and torch, about 0.3-0.4 GB).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from tinct.eval.config import EvalConfig, EvalResult, ModelSpec
from tinct.eval.cost import count_flops, count_parameters, peak_rss_mib
from tinct.eval.report import (
    csv_text,
    describe_precision,
    json_safe,
    markdown_table,
    write_report,
)
from tinct.eval.runner import evaluate
from tinct.eval.state import STATE_FILE
from tinct.eval.truth import build_colouriser, prepare_truth
from tinct.io import write_text_atomic

#: Columns of the benchmark table (key, title, arrow, format).
BENCH_COLUMNS = (
    ("params_m", "params (M)", "", "{:.2f}"),
    ("gflops_256", "GFLOPs @256", "", "{:.2f}"),
    ("latency_ms_256", "latency 256² (ms)", "↓", "{:.1f}"),
    ("latency_ms_1024", "latency 1024² (ms)", "↓", "{:.1f}"),
    ("peak_rss_mib", "peak RSS (MiB)", "↓", "{:.0f}"),
    ("ciede2000", "ΔE00", "↓", "{:.2f}"),
    ("psnr", "PSNR (dB)", "↑", "{:.2f}"),
    ("ssim", "SSIM", "↑", "{:.4f}"),
    ("colourfulness", "colourfulness", "", "{:.1f}"),
    ("fd_lite", "FD-Lite", "↓", "{:.2f}"),
    ("top1_agreement", "top-1 agree", "↑", "{:.3f}"),
    ("train_seconds", "train time (s)", "", "{:.0f}"),
)


@dataclass
class BenchmarkResult:
    """An evaluation plus the cost of every model."""

    evaluation: EvalResult
    cost: dict[str, dict[str, float]]
    latency_sizes: tuple[int, ...]
    repeats: int
    threads: int

    def table_rows(self) -> dict[str, dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = {}
        for name, quality in self.evaluation.summary.items():
            rows[name] = {**self.cost[name], **quality}
        return rows


def model_cost(spec: ModelSpec) -> dict[str, float]:
    """Parameters and FLOPs at 256x256 of ``spec``'s network (0 for baselines)."""
    if spec.is_baseline:
        return {"params_m": 0.0, "gflops_256": 0.0}
    from tinct.models import load_model

    model = load_model(spec.source).eval()
    lightness = torch.full((1, 1, 256, 256), 50.0)
    flops = count_flops(model, model.normalize_input(lightness))
    return {"params_m": count_parameters(model) / 1e6, "gflops_256": flops / 1e9}


def latency_photo(dataset_first: np.ndarray, size: int) -> Tensor:
    """A real photo as a ``(3, size, size)`` uint8 tensor (resized and centre-cropped)."""
    return prepare_truth(dataset_first, size)


def measure_latencies(
    specs: Sequence[ModelSpec],
    photos: dict[int, Tensor],
    *,
    precision: str,
    mean_ab: Sequence[float],
    repeats: int,
    warmup: int = 2,
) -> dict[str, dict[int, float]]:
    """Median end-to-end milliseconds per model and size, models taking turns."""
    runners = {s.name: build_colouriser(s, precision=precision, mean_ab=mean_ab)[0] for s in specs}
    times: dict[str, dict[int, list[float]]] = {n: {k: [] for k in photos} for n in runners}
    for size, photo in photos.items():
        for run in runners.values():
            for _ in range(warmup):
                run(photo)
        for _ in range(repeats):
            for name, run in runners.items():
                start = time.perf_counter()
                run(photo)
                times[name][size].append((time.perf_counter() - start) * 1e3)
    return {n: {k: float(np.median(v)) for k, v in per.items()} for n, per in times.items()}


def peak_memory_subprocess(
    spec: ModelSpec, photo_path: Path, *, precision: str, mean_ab: Sequence[float]
) -> float:
    """Peak RSS (MiB) of a fresh process colourising the photo saved at ``photo_path``."""
    cmd = [
        sys.executable, "-m", "tinct.eval.benchmark", "--peak-memory-child",
        spec.source, str(photo_path), precision, json.dumps(list(mean_ab)),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory measurement of {spec.name} failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def benchmark(
    config: EvalConfig,
    specs: Sequence[ModelSpec],
    *,
    out_dir: str | Path,
    latency_sizes: Sequence[int] = (256, 1024),
    repeats: int = 10,
    memory: bool = True,
    progress: bool = True,
) -> BenchmarkResult:
    """Evaluate ``specs`` (see :func:`evaluate`) and measure their cost, in one run.

    The evaluation's resume state in ``out_dir`` is kept until the cost measurements
    are done too, then removed (an interrupted benchmark does not redo the evaluation).
    """
    from tinct.data.registry import open_target
    from tinct.io import write_image

    dataset, name = open_target(config.target, config.split, config.root)
    result = evaluate(
        config,
        specs,
        out_dir=out_dir,
        dataset=dataset,
        dataset_name=name,
        progress=progress,
        keep_state=True,
    )
    first = next(
        (item.rgb for item in (dataset.load(i) for i in range(min(len(dataset), 1)))), None
    )
    if first is None:
        raise ValueError(f"{name}: no image to time")
    photos = {s: latency_photo(np.ascontiguousarray(first), s) for s in latency_sizes}
    mean_ab = _mean_ab_of(result)
    latencies = measure_latencies(
        specs, photos, precision=config.precision, mean_ab=mean_ab, repeats=repeats
    )
    cost: dict[str, dict[str, float]] = {}
    big = max(latency_sizes)
    photo_path = Path(out_dir) / f"latency_photo_{big}.png"
    if memory:
        write_image(photo_path, photos[big])
    for spec in specs:
        row = model_cost(spec)
        for size in latency_sizes:
            row[f"latency_ms_{size}"] = latencies[spec.name][size]
        if memory:
            row["peak_rss_mib"] = peak_memory_subprocess(
                spec, photo_path, precision=config.precision, mean_ab=mean_ab
            )
        train = result.model_info[spec.name].get("train_seconds")
        if train is not None:
            row["train_seconds"] = float(train)
        cost[spec.name] = row
    if memory:
        photo_path.unlink(missing_ok=True)
    (Path(out_dir) / STATE_FILE).unlink(missing_ok=True)  # complete: nothing to resume
    return BenchmarkResult(result, cost, tuple(latency_sizes), repeats, torch.get_num_threads())


def _mean_ab_of(result: EvalResult) -> tuple[float, float]:
    desc = result.model_info.get("mean-chroma", {}).get("mean_ab")
    return (float(desc[0]), float(desc[1])) if desc else (0.0, 0.0)


def write_benchmark(bench: BenchmarkResult, out_dir: str | Path, *, command: str) -> Path:
    """The evaluation report plus ``benchmark.md``/``.csv``/``.json`` in ``out_dir``."""
    out = Path(out_dir)
    write_report(bench.evaluation, out, command=command)
    cfg = bench.evaluation.config
    rows = bench.table_rows()
    columns = list(BENCH_COLUMNS)
    sizes = [f"latency_ms_{s}" for s in bench.latency_sizes]
    columns = [c for c in columns if not c[0].startswith("latency_ms_") or c[0] in sizes]
    for size in bench.latency_sizes:
        key = f"latency_ms_{size}"
        if all(c[0] != key for c in columns):
            columns.insert(2, (key, f"latency {size}² (ms)", "↓", "{:.1f}"))
    precision = describe_precision(cfg.precision)
    split = f", split {cfg.split}" if cfg.split else ""
    lines = [
        f"# Benchmark on {bench.evaluation.dataset_name}{split}",
        "",
        f"Command: `{command}`",
        "",
        f"Quality: {len(bench.evaluation.images)} images at {cfg.size}x{cfg.size} (see "
        f"[results.md](results.md) for every metric and plot). Speed: pipeline end to end "
        f"(uint8 RGB in and out) on one real photo resized to each size, median of "
        f"{bench.repeats} runs after 2 warm-ups, models taking turns; {bench.threads} "
        f"torch threads; precision {precision}. Peak RSS: a fresh process colourising the "
        f"{max(bench.latency_sizes)}² photo (interpreter and torch included). FLOPs: one "
        "forward pass at 256², a multiply-add = 2 FLOPs.",
        "",
        markdown_table(rows, columns),
        "",
    ]
    md = out / "benchmark.md"
    write_text_atomic(md, "\n".join(lines))
    write_text_atomic(out / "benchmark.csv", csv_text([{"model": k, **v} for k, v in rows.items()]))
    payload = {
        "command": command,
        "dataset": bench.evaluation.dataset_name,
        "images": len(bench.evaluation.images),
        "size": cfg.size,
        "latency_sizes": list(bench.latency_sizes),
        "repeats": bench.repeats,
        "threads": bench.threads,
        "precision": precision,
        "truth_colourfulness": float(np.mean(bench.evaluation.truth_colourfulness)),
        "rows": rows,
    }
    write_text_atomic(out / "benchmark.json", json.dumps(json_safe(payload), indent=1) + "\n")
    return md


def _peak_memory_child(argv: Sequence[str]) -> None:
    source, photo, precision, mean_ab = argv
    from tinct.io import read_image

    spec = ModelSpec(source, source)
    run, _ = build_colouriser(spec, precision=precision, mean_ab=json.loads(mean_ab))
    out = run(read_image(photo))
    assert out.shape[0] == 3
    print(f"{peak_rss_mib():.1f}")


def _main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="internal: peak-memory child of the benchmark")
    parser.add_argument("--peak-memory-child", nargs=4, required=True)
    args = parser.parse_args(argv)
    _peak_memory_child(args.peak_memory_child)


if __name__ == "__main__":
    _main()
