"""Tables 5.1-5.3 of seed 000, the attention plots of its appendix D, and the budget.

Accuracies are mean ± sample standard deviation over the seeds, with the difference of the
means to the baseline row (RGB). A difference counts as *beyond the spread* when its size is
larger than the seed-to-seed standard deviation of both rows (the larger of the two);
otherwise it is *within* it and the run cannot tell the input apart from RGB.
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tinct.colourspaces.grid import Cell, GridResults, _std, attention_row, hybrid_row
from tinct.colourspaces.training import component_activations

__all__ = ["Stat", "markdown_report", "plot_attention", "summarise", "write_report"]


class Stat:
    """Accuracies of one (row, dataset, model) over the seeds."""

    def __init__(self, values: Sequence[float]) -> None:
        self.values = list(values)
        self.mean = sum(values) / len(values) if values else math.nan
        self.std = _std(values)

    def text(self) -> str:
        if math.isnan(self.std):
            return f"{self.mean:.2f}"
        return f"{self.mean:.2f} ± {self.std:.2f}"


def _columns(results: GridResults) -> list[tuple[str, str]]:
    return [(d, m.name) for m in results.config.models for d in results.config.datasets]


def _stats(results: GridResults) -> dict[tuple[str, str, str], Stat]:
    acc: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for cell in results.cells:
        acc[(cell.row, cell.dataset, cell.model)].append(float(cell.result["accuracy"]))
    return {k: Stat(v) for k, v in acc.items()}


def verdict(row: Stat, base: Stat) -> str:
    """``"beyond"`` if |Δ| exceeds the larger seed standard deviation, else ``"within"``
    (``"n/a"`` with one seed)."""
    spread = max(row.std, base.std)
    if math.isnan(spread):
        return "n/a"
    return "beyond" if abs(row.mean - base.mean) > spread else "within"


def _cell_text(stat: Stat | None, base: Stat | None, is_base: bool) -> str:
    if stat is None:
        return "-"
    if is_base or base is None:
        return stat.text()
    delta = stat.mean - base.mean
    return f"{stat.text()} ({delta:+.2f}, {verdict(stat, base)})"


def _table(
    results: GridResults, rows: Sequence[str], stats: dict[tuple[str, str, str], Stat]
) -> str:
    cols = _columns(results)
    base = results.config.baseline
    head = "| input | " + " | ".join(f"{m} · {d}" for d, m in cols) + " |"
    lines = [head, "|" + " --- |" * (len(cols) + 1)]
    for row in rows:
        texts = [
            _cell_text(stats.get((row, d, m)), stats.get((base, d, m)), row == base)
            for d, m in cols
        ]
        label = f"{row} (baseline)" if row == base else row
        lines.append(f"| {label} | " + " | ".join(texts) + " |")
    if results.majority:
        texts = [f"{results.majority[d]:.2f}" if d in results.majority else "-" for d, _ in cols]
        lines.append("| most frequent class (no model) | " + " | ".join(texts) + " |")
    return "\n".join(lines)


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: (-values[i], i))
    ranks = [0.0] * len(values)
    for rank, i in enumerate(order):
        ranks[i] = float(rank)
    return ranks


def seed_agreement(results: GridResults, dataset: str, model: str) -> float:
    """Mean Spearman rank correlation, over pairs of seeds, of the component rankings of
    the attention models (1: every seed ranks alike; about 0: rankings unrelated; nan with
    one seed)."""
    rankings = [
        _ranks(component_activations(c.result["attention"], c.result["channel_component"]))
        for c in results.cells
        if c.dataset == dataset
        and c.model == model
        and c.row == attention_row(results.config)
        and c.result.get("attention")
    ]
    rhos = []
    for i in range(len(rankings)):
        for j in range(i + 1, len(rankings)):
            a, b = rankings[i], rankings[j]
            n = len(a)
            d2 = sum((x - y) ** 2 for x, y in zip(a, b, strict=True))
            rhos.append(1.0 - 6.0 * d2 / (n * (n * n - 1)) if n > 1 else math.nan)
    return sum(rhos) / len(rhos) if rhos else math.nan


def summarise(results: GridResults) -> dict[str, Any]:
    """Everything the tables show, as JSON-ready data."""
    stats = _stats(results)
    rows = []
    for (row, dataset, model), stat in sorted(stats.items()):
        base = stats.get((results.config.baseline, dataset, model))
        rows.append(
            {
                "row": row,
                "dataset": dataset,
                "model": model,
                "accuracies": stat.values,
                "mean": stat.mean,
                "std": None if math.isnan(stat.std) else stat.std,
                "delta_to_baseline": None if base is None else stat.mean - base.mean,
                "verdict": None if base is None else verdict(stat, base),
            }
        )
    rankings = {
        f"{d}/{m}": [
            {"component": c.key, "label": c.label, "rank": i + 1, "mean": mean, "std": std}
            for i, (c, mean, std) in enumerate(ranking)
        ]
        for (d, m), ranking in results.rankings.items()
    }
    agreement = {f"{d}/{m}": seed_agreement(results, d, m) for (d, m) in results.rankings}
    return {
        "rows": rows,
        "rankings": rankings,
        "ranking_seed_agreement_spearman": agreement,
        "most_frequent_class_accuracy": results.majority,
        "budget": budget(results.cells),
    }


def budget(cells: Sequence[Cell]) -> dict[str, float]:
    return {
        "cells": len(cells),
        "steps": sum(int(c.result["steps"]) for c in cells),
        "images_seen": sum(int(c.result["images_seen"]) for c in cells),
        "cpu_minutes": round(sum(float(c.result["cpu_seconds"]) for c in cells) / 60, 2),
        "wall_minutes": round(sum(float(c.result["wall_seconds"]) for c in cells) / 60, 2),
    }


def markdown_report(results: GridResults, plots: Sequence[str] = ()) -> str:
    """Tables 5.1, 5.2 and 5.3, the budget and links to ``plots`` (relative paths)."""
    config = results.config
    stats = _stats(results)
    parts = [
        "### Table 5.1: colour spaces and stacked colour spaces",
        "",
        "Test accuracy (%), mean ± standard deviation over seeds "
        f"{', '.join(map(str, config.seeds))}; in brackets the difference to "
        f"{config.baseline} and whether it is *beyond* or *within* the seed-to-seed "
        "spread (the larger standard deviation of the two rows). Last row: the accuracy "
        "of always answering the training split's most frequent class.",
        "",
        _table(results, list(config.inputs), stats),
        "",
    ]
    if results.rankings:
        cols = [c for c in _columns(results) if c in results.rankings]
        parts += [
            "### Table 5.2: colour components ranked by attention activation",
            "",
            "Rank (1 = strongest) of each component by the colour-attention gate "
            "averaged over the training images and the seeds' models (in brackets: mean "
            "activation ± its standard deviation over the seeds); a circular hue's cos and "
            "sin channels are averaged. Last row: how alike the seeds rank the components "
            "(mean pairwise Spearman ρ; 1 = identical rankings, 0 = unrelated).",
            "",
            "| component | " + " | ".join(f"{m} · {d}" for d, m in cols) + " |",
            "|" + " --- |" * (len(cols) + 1),
        ]
        for comp in config.attention:
            texts = []
            for col in cols:
                ranking = results.rankings[col]
                index = [c for c, _, _ in ranking].index(comp)
                _, mean, std = ranking[index]
                spread = "" if math.isnan(std) else f" ± {std:.3f}"
                texts.append(f"{index + 1} ({mean:.3f}{spread})")
            parts.append(f"| {comp.label} | " + " | ".join(texts) + " |")
        rhos = [seed_agreement(results, d, m) for d, m in cols]
        parts.append(
            "| seed agreement ρ | "
            + " | ".join("n/a" if math.isnan(r) else f"{r:.2f}" for r in rhos)
            + " |"
        )
        parts.append("")
        rows = [attention_row(config)] + [hybrid_row(k) for k in config.top_k]
        parts += [
            "### Table 5.3: colour attention and hybrid colour spaces",
            "",
            f"Same statistics as table 5.1 (difference to {config.baseline}).",
            "",
            _table(results, rows, stats),
            "",
        ]
        for (d, m), ranking in results.rankings.items():
            for k in config.top_k:
                names = ", ".join(c.label for c, _, _ in ranking[:k])
                parts.append(f"- {m} · {d}, top {k}: {names}")
        parts.append("")
    if plots:
        parts += ["### Attention distributions (appendix D)", ""]
        parts += [f"![{Path(p).stem}]({p})" for p in plots]
        parts.append("")
    b = budget(results.cells)
    parts += [
        "### Budget",
        "",
        f"{b['cells']} cells, {b['steps']} SGD steps, {b['images_seen']} images seen, "
        f"{b['cpu_minutes']} CPU-minutes of training (process time) and "
        f"{b['wall_minutes']} minutes wall time; {config.epochs} epochs of batch "
        f"{config.batch_size} per cell.",
        "",
        "| model · dataset | train / test images | parameters | steps per cell | CPU s per cell |",
        "| --- | --- | --- | --- | --- |",
    ]
    for d, m in _columns(results):
        group = [c for c in results.cells if c.dataset == d and c.model == m]
        if not group:
            continue
        params = sorted({int(c.result["parameters"]) for c in group})
        cpu = [float(c.result["cpu_seconds"]) for c in group]
        parts.append(
            f"| {m} · {d} | {group[0].result['train_images']} / "
            f"{group[0].result['test_images']} | {params[0]:,}-{params[-1]:,} | "
            f"{group[0].result['steps']} | {sum(cpu) / len(cpu):.1f} |"
        )
    parts.append("")
    return "\n".join(parts)


def plot_attention(results: GridResults, folder: Path) -> list[Path]:
    """One bar chart per (dataset, model, attention input): mean gate activation per input
    channel over the seeds (error bar: standard deviation), as seed 000 appendix D."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[tuple[str, str, str], list[Cell]] = defaultdict(list)
    for cell in results.cells:
        if cell.attention and cell.result.get("attention"):
            groups[(cell.dataset, cell.model, cell.row)].append(cell)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for (dataset, model, row), cells in sorted(groups.items()):
        names = cells[0].result["channel_names"]
        values = [c.result["attention"] for c in cells]
        means = [sum(v[i] for v in values) / len(values) for i in range(len(names))]
        stds = [_std([v[i] for v in values]) for i in range(len(names))]
        fig, ax = plt.subplots(figsize=(max(4.0, 0.55 * len(names) + 1.5), 3.2))
        ax.bar(
            range(len(names)),
            means,
            yerr=[0.0 if math.isnan(s) else s for s in stds],
            color="#4a78b0",
            capsize=3,
        )
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
        ax.set_ylabel("mean SE gate")
        ax.set_ylim(0, 1)
        ax.set_title(
            f"{model} · {dataset} · {row}: {len(names)} channels, {len(cells)} seeds", fontsize=9
        )
        fig.tight_layout()
        path = folder / f"attention-{_name(dataset)}-{_name(model)}-{_name(row)}.png"
        tmp = path.with_name(f".{path.stem}.tmp.png")
        fig.savefig(tmp, dpi=110)
        plt.close(fig)
        os.replace(tmp, path)
        paths.append(path)
    return paths


def _name(text: str) -> str:
    return "-".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())


def write_report(results: GridResults, *, header: str = "") -> Path:
    """Write ``results.md``, ``results.json`` and the attention plots into the run folder;
    the path of ``results.md``."""
    plots = plot_attention(results, results.out / "plots")
    rel = [p.relative_to(results.out).as_posix() for p in plots]
    text = (header + "\n\n" if header else "") + markdown_report(results, rel)
    md = results.out / "results.md"
    for path, payload in ((md, text), (results.out / "results.json", None)):
        tmp = path.with_name(f".{path.name}.tmp")
        if payload is None:
            payload = json.dumps(summarise(results), indent=1) + "\n"
        tmp.write_text(payload, encoding="utf-8")
        os.replace(tmp, path)
    return md
