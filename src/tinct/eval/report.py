"""Reports of an evaluation: Markdown, CSV and JSON tables, and plots.

:func:`write_report` writes, into one folder:

- ``results.md``: the command, the set-up, the tables and the plots;
- ``summary.csv`` (one row per model) and ``per_image.csv`` (one row per model and image);
- ``results.json``: everything, including per-image numbers and the model details;
- ``ab_histograms.png``: a and b histograms (log scale) per model vs. the ground truth;
- ``ab_error_curve.png``: the cumulative ab-error curves whose area is the AuC;
- ``per_image.png``: per-image distributions of the main metrics;
- ``samples.jpg``: grey | models... | truth, one row per image;
- ``temperature_<model>.png``: the temperature sweep, when one ran.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor

from tinct.eval.config import BASELINES, EvalResult
from tinct.eval.metrics.distribution import AB_HIST_EDGES
from tinct.eval.truth import IMAGE_METRICS, greyscale_baseline
from tinct.io import atomic_path, write_text_atomic

#: Columns of the per-image table in results.md: key, title, arrow, format.
MAIN_COLUMNS = (
    ("psnr", "PSNR (dB)", "↑", "{:.2f}"),
    ("rmse_rgb", "RMSE RGB", "↓", "{:.2f}"),
    ("rmse_ab", "RMSE ab", "↓", "{:.2f}"),
    ("ssim", "SSIM", "↑", "{:.4f}"),
    ("ciede2000", "ΔE00", "↓", "{:.2f}"),
    ("cie76", "ΔE76", "↓", "{:.2f}"),
    ("colourfulness", "colourfulness", "", "{:.1f}"),
    ("colourfulness_ratio", "vs. truth", "", "{:.2f}"),
    ("bleeding", "bleeding", "↓", "{:.2f}"),
    ("seconds_per_image", "s/image", "", "{:.3f}"),
)
SET_COLUMNS = (
    ("auc", "AuC", "↑", "{:.4f}"),
    ("auc_rebalanced", "AuC rebal.", "↑", "{:.4f}"),
    ("kl", "KL ab hist", "↓", "{:.4f}"),
    ("js", "JS ab hist", "↓", "{:.4f}"),
    ("fd_lite", "FD-Lite", "↓", "{:.2f}"),
    ("top1_agreement", "top-1 agree", "↑", "{:.3f}"),
    ("fid", "FID", "↓", "{:.2f}"),
)


def describe_precision(precision: str) -> str:
    """``precision`` as the pipeline resolves it on this CPU ("auto (bf16 on this CPU)")."""
    if precision != "auto":
        return precision
    from tinct.pipeline import native_bf16

    return f"auto ({'bf16' if native_bf16() else 'fp32'} on this CPU)"


def _fmt(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return spec.format(value)


def markdown_table(
    rows: dict[str, dict[str, Any]], columns: Sequence[tuple[str, str, str, str]]
) -> str:
    """A Markdown table: one row per key of ``rows``, the given columns."""
    present = [c for c in columns if any(c[0] in r for r in rows.values())]
    head = "| model | " + " | ".join(f"{t} {a}".strip() for _, t, a, _ in present) + " |"
    lines = [head, "|---" * (len(present) + 1) + "|"]
    for name, row in rows.items():
        cells = [_fmt(row.get(k), spec) for k, _, _, spec in present]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def csv_text(rows: list[dict[str, Any]]) -> str:
    keys: list[str] = []
    for row in rows:
        keys.extend(k for k in row if k not in keys)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def write_report(
    result: EvalResult, out_dir: str | os.PathLike[str], *, command: str, title: str | None = None
) -> Path:
    """Write every table and plot of ``result`` into ``out_dir``; returns results.md."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg = result.config
    n = len(result.images)
    split = f", split {cfg.split}" if cfg.split else ""
    title = title or f"Evaluation on {result.dataset_name}{split}"
    truth_m = float(np.mean(result.truth_colourfulness))
    lines = [
        f"# {title}",
        "",
        f"Command: `{command}`",
        "",
        f"{n} images of {result.dataset_name}{split}"
        + (f" (seeded subset of {cfg.limit}, seed {cfg.seed})" if cfg.limit else "")
        + f", short side resized to {cfg.size} px and centre-cropped to {cfg.size}x{cfg.size}; "
        f"network precision {describe_precision(cfg.precision)}. Ground-truth colourfulness "
        f"{truth_m:.1f}."
        + (f" {len(result.skipped)} unreadable file(s) skipped." if result.skipped else ""),
        "",
        "## Per-image metrics (means over the images)",
        "",
        markdown_table(result.summary, MAIN_COLUMNS),
        "",
        "PSNR is averaged with identical images capped at 100 dB. Colourfulness is M of "
        "Hasler & Süsstrunk (2003) with signed opponent channels; 'vs. truth' is the ratio "
        "of the model's mean M to the ground truth's. s/image is the time of the "
        "colourisation alone (pipeline end to end on the evaluation image). Bleeding: mean "
        "chroma contrast (ab units) lost across the ground truth's strong lightness edges, "
        "1-8 px on each side; 0 for the truth, the truth's mean edge contrast for "
        "greyscale (docs/evaluation.md).",
        "",
        "## Whole-set metrics",
        "",
        markdown_table(result.summary, SET_COLUMNS),
        "",
        "AuC: area under the cumulative ab-error curve for thresholds 0-150 (Zhang et al. "
        "2016), plain and with pixels re-weighted inversely to the frequency of their "
        "ground-truth colour class (ab grid 10). KL(truth || model) and JS: divergences "
        "between the log-scaled a and b histograms of the ground truth and the outputs "
        "(seed 004), mean of a and b, in nats. FD-Lite: Fréchet distance between "
        "EfficientNet-Lite0 pooled features of the outputs and of the ground truth; not "
        "FID, and not comparable with FID values (a FID column, when present, used the "
        "user's own Inception-v3 file). Top-1 agree: share of images whose "
        "EfficientNet-Lite0 ImageNet class is the same for the output and the original "
        "(Zhang et al.'s semantic interpretability test with another classifier).",
        "",
        "## Plots",
        "",
        "![ab histograms](ab_histograms.png)",
        "",
        "![cumulative ab error](ab_error_curve.png)",
        "",
        "![per-image metrics](per_image.png)",
        "",
        "![samples: grey, models, truth](samples.jpg)",
        "",
    ]
    for name, rows in result.sweeps.items():
        slug = _slug(name)
        lines += [
            f"## Temperature sweep: {name}",
            "",
            f"Means over {int(rows[0].get('images', 0))} images at each decoding temperature "
            "(the grid shows the first few).",
            "",
            "| T | colourfulness | RMSE ab | RMSE RGB | ΔE00 |",
            "|---|---|---|---|---|",
            *(
                f"| {r['temperature']:g} | {r['colourfulness']:.1f} | {r['rmse_ab']:.2f} | "
                f"{r['rmse_rgb']:.2f} | {r['ciede2000']:.2f} |"
                for r in rows
            ),
            # The baselines of the same run, for scale.
            *(
                f"| {b} | {result.summary[b]['colourfulness']:.1f} | "
                f"{result.summary[b]['rmse_ab']:.2f} | {result.summary[b]['rmse_rgb']:.2f} | "
                f"{result.summary[b]['ciede2000']:.2f} |"
                for b in BASELINES
                if b in result.summary
            ),
            "",
            f"![temperature sweep of {name}](temperature_{slug}.png)",
            "",
        ]
    lines += ["## Models", ""]
    for spec in result.models:
        info = result.model_info[spec.name]
        extra = ", ".join(
            f"{k.replace('_', ' ')} {v}" for k, v in info.items() if k not in ("source",)
        )
        lines.append(f"- **{spec.name}** (`{spec.source}`): {extra}")
    if result.skipped:
        lines += ["", "## Skipped files", ""]
        lines += [f"- `{p}`: {r}" for p, r in result.skipped]
    md = out / "results.md"
    write_text_atomic(md, "\n".join(lines) + "\n")

    write_text_atomic(
        out / "summary.csv",
        csv_text([{"model": k, **v} for k, v in result.summary.items()]),
    )
    write_text_atomic(
        out / "per_image.csv",
        csv_text([{"model": m, **r} for m, rows in result.per_image.items() for r in rows]),
    )
    payload = {"command": command, "title": title, **result.to_json()}
    write_text_atomic(out / "results.json", json.dumps(json_safe(payload), indent=1) + "\n")
    plot_histograms(result, out / "ab_histograms.png")
    plot_auc_curves(result, out / "ab_error_curve.png")
    plot_per_image(result, out / "per_image.png")
    plot_samples(result, out / "samples.jpg")
    for name in result.sweeps:
        plot_sweep(result, name, out / f"temperature_{_slug(name)}.png")
    return md


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "model"


def _save(fig: Any, path: Path, dpi: int = 110) -> None:
    import matplotlib.pyplot as plt

    fmt = path.suffix.lstrip(".").lower()
    options = {"pil_kwargs": {"quality": 88}} if fmt in ("jpg", "jpeg") else {}
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, format=fmt, **options)
    finally:
        plt.close(fig)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_histograms(result: EvalResult, path: Path) -> None:
    """a and b histograms (log scale) of every model vs. the ground truth."""
    plt = _pyplot()
    centres = ((AB_HIST_EDGES[:-1] + AB_HIST_EDGES[1:]) / 2).numpy()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for c, (ax, channel) in enumerate(zip(axes, "ab", strict=True)):
        truth = result.truth_hist[c].numpy()
        ax.plot(centres, truth / truth.sum(), color="black", lw=2.2, label="ground truth")
        for name, hist in result.hists.items():
            h = hist[c].numpy()
            ax.plot(centres, h / max(h.sum(), 1), lw=1.2, label=name)
        ax.set_yscale("log")
        ax.set_ylim(1e-6, 1.0)
        ax.set_xlabel(f"{channel} (Lab)")
        ax.set_ylabel("share of pixels (log)")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    fig.suptitle(f"ab histograms, {result.dataset_name}")
    fig.tight_layout()
    _save(fig, path)


def plot_auc_curves(result: EvalResult, path: Path) -> None:
    """Cumulative ab-error curves (share of pixels within each threshold)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, curve in result.auc_curves.items():
        values = curve.numpy()
        auc = result.summary[name]["auc"]
        ax.plot(np.arange(len(values)), values, label=f"{name} (AuC {auc:.3f})")
    ax.set_xlabel("ab error threshold (Lab units)")
    ax.set_ylabel("share of pixels within threshold")
    ax.set_xlim(0, 150)
    ax.set_ylim(0, 1.01)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)


def plot_per_image(result: EvalResult, path: Path) -> None:
    """Box plots of per-image ΔE00, PSNR, colourfulness gap and SSIM for every model."""
    plt = _pyplot()
    keys = ("ciede2000", "psnr", "colourfulness_gap", "ssim")
    names = list(result.per_image)
    fig, axes = plt.subplots(1, len(keys), figsize=(3.6 * len(keys), 3.8))
    for ax, key in zip(axes, keys, strict=True):
        data = [[min(r[key], 100.0) for r in result.per_image[n]] for n in names]
        ax.boxplot(data, showmeans=True)
        ax.set_xticks(range(1, len(names) + 1), names, rotation=35, ha="right", fontsize=8)
        title, unit, higher = IMAGE_METRICS[key]
        ax.set_title(f"{title} {'↑' if higher else '↓'}" + (f" ({unit})" if unit else ""))
        ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    _save(fig, path)


def _tile(images: Sequence[Sequence[Tensor]], labels: Sequence[str]) -> tuple[np.ndarray, int]:
    rows = [np.concatenate([im.permute(1, 2, 0).numpy() for im in row], axis=1) for row in images]
    return np.concatenate(rows, axis=0), images[0][0].shape[-1]


def plot_samples(result: EvalResult, path: Path) -> None:
    """grey | models... | truth for the first images of the evaluation."""
    plt = _pyplot()
    if not result.grid_truth:
        return
    names = list(result.grids)
    columns = ["input (grey)", *names, "ground truth"]
    rows = []
    for i, truth in enumerate(result.grid_truth):
        grey = greyscale_baseline(truth)
        rows.append([grey, *(result.grids[n][i] for n in names), truth])
    mosaic, side = _tile(rows, columns)
    scale = 1.6
    fig = plt.figure(figsize=(len(columns) * scale, len(rows) * scale + 0.4))
    ax = fig.add_axes((0, 0, 1, len(rows) * scale / (len(rows) * scale + 0.4)))
    ax.imshow(mosaic)
    ax.set_axis_off()
    for j, label in enumerate(columns):
        fig.text((j + 0.5) / len(columns), 0.99, label, ha="center", va="top", fontsize=8)
    _save(fig, path, dpi=max(60, min(120, int(side / scale))))


def plot_sweep(result: EvalResult, name: str, path: Path) -> None:
    """Colourfulness and RMSE vs. temperature, and the outputs across temperatures."""
    plt = _pyplot()
    rows = result.sweeps[name]
    grid = result.sweep_grids[name]
    temps = [r["temperature"] for r in rows]
    n_images = len(grid[0])
    height = 3.5 + 1.5 * n_images
    fig = plt.figure(figsize=(max(8.0, 1.5 * len(temps)), height))
    plot_box = (1 - 3.0 / height, 2.3 / height)  # bottom, height of the two line plots
    top = fig.add_axes((0.08, plot_box[0], 0.38, plot_box[1]))
    top.plot(temps, [r["colourfulness"] for r in rows], marker="o")
    top.set_xlabel("temperature T")
    top.set_ylabel("colourfulness M")
    top.grid(alpha=0.3)
    right = fig.add_axes(
        (0.58, 1 - 3.0 / (3.5 + 1.5 * n_images), 0.38, 2.3 / (3.5 + 1.5 * n_images))
    )
    right.plot(temps, [r["rmse_ab"] for r in rows], marker="o", label="RMSE ab")
    right.plot(temps, [r["rmse_rgb"] for r in rows], marker="s", label="RMSE RGB")
    right.set_xlabel("temperature T")
    right.legend(fontsize=8)
    right.grid(alpha=0.3)
    mosaic_rows = [[grid[t][i] for t in range(len(temps))] for i in range(n_images)]
    mosaic, _ = _tile(mosaic_rows, [f"T={t:g}" for t in temps])
    bottom = fig.add_axes((0.02, 0.02, 0.96, 1.5 * n_images / height - 0.04))
    bottom.imshow(mosaic)
    bottom.set_xticks(
        [(i + 0.5) * grid[0][0].shape[-1] for i in range(len(temps))], [f"T={t:g}" for t in temps]
    )
    bottom.set_yticks([])
    fig.suptitle(f"temperature sweep, {name}")
    _save(fig, path)
