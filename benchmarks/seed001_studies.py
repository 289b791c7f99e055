"""Seed 001's design studies of the YUV CNN (section 4.1) at this machine's scale.

Every study trains ``configs/yuv-cnn.yaml`` with a few overrides on the offline
stand-in for CIFAR-10 (the labelled photo corpus cut into 32x32 crops and written in
CIFAR-10 format, all 10 classes), for a fixed number of epochs, one CPU thread, and
records the training and validation MSE per epoch and the training time:

- batch size vs. final loss and time (seed table 4.1);
- optimiser and learning rate, RMSProp momentum (seed figure 4.3a/b);
- augmentation types alone and the seed's final combination (figures A.1/A.2, 4.4);
- L1 and L2 weight penalties and dropout (figures 4.5-4.7).

Writes ``yuv_cnn.md`` (the table, with this command) and one PNG of loss curves per
study into ``--out``; runs go to ``--work`` and are reused when re-run with the same
settings.

Usage: python benchmarks/seed001_studies.py [--out docs/results] [--work runs/seed001]
           [--epochs 4] [--only batch,optimiser,augmentation,regularisation]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from seed001_common import Run, build_corpus_cifar, fmt_seconds, last, run_config

from tinct.data.cifar import CIFAR10

CONFIG = Path("configs/yuv-cnn.yaml")
#: The common ground of every study unless it varies it: no augmentation, no dropout,
#: Adam 1e-3, batch 64 (the seed's 512 would give 7 steps per epoch here).
BASE = [
    "data.augment.seed001=[]",
    "model.kwargs.dropout=0.0",
    "optim.name=adam",
    "optim.lr=1.0e-3",
    "trainer.batch_size=64",
]


@dataclass
class Setting:
    """One run of a study: a label and the overrides on top of :data:`BASE`."""

    label: str
    overrides: list[str]


STUDIES: dict[str, tuple[str, list[Setting]]] = {
    "batch": (
        "Batch size (seed table 4.1)",
        [Setting(f"batch {b}", [f"trainer.batch_size={b}"]) for b in (16, 32, 128, 512, 1024)],
    ),
    "optimiser": (
        "Optimiser and learning rate (seed figure 4.3)",
        [
            Setting("SGD lr 1e-2", ["optim.name=sgd", "optim.lr=1.0e-2", "optim.momentum=0.0"]),
            Setting("RMSProp lr 1e-3", ["optim.name=rmsprop", "optim.lr=1.0e-3"]),
            Setting(
                "RMSProp lr 1e-3 momentum 0.9",
                ["optim.name=rmsprop", "optim.lr=1.0e-3", "optim.momentum=0.9"],
            ),
            Setting("Adam lr 1e-4", ["optim.lr=1.0e-4"]),
            Setting("Adam lr 1e-3", []),
            Setting("Adam lr 1e-2", ["optim.lr=1.0e-2"]),
        ],
    ),
    "augmentation": (
        "Augmentation (seed figures A.1/A.2, 4.4)",
        [
            Setting("none", []),
            *(
                Setting(kind, [f"data.augment.seed001=[{kind}]"])
                for kind in ("flip", "rotation", "shift", "brightness", "zoom")
            ),
            Setting("flip+shift+rotation", ["data.augment.seed001=[flip,shift,rotation]"]),
        ],
    ),
    "regularisation": (
        "L1/L2 weight penalties and dropout (seed figures 4.5-4.7)",
        [
            Setting("none", []),
            Setting("L1 1e-5", ["loss.weight_l1=1.0e-5"]),
            Setting("L2 1e-5", ["loss.weight_l2=1.0e-5"]),
            Setting("L2 1e-4", ["loss.weight_l2=1.0e-4"]),
            Setting("dropout 0.1", ["model.kwargs.dropout=0.1"]),
            Setting("dropout 0.2", ["model.kwargs.dropout=0.2"]),
            Setting("dropout 0.4", ["model.kwargs.dropout=0.4"]),
        ],
    ),
}


def slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def repeat_note(runs: list[Run]) -> str:
    """How the training times of runs with identical settings (but for their name) differ."""
    groups: dict[str, list[Run]] = {}
    for run in runs:
        key = json.dumps(
            {k: v for k, v in run.config.items() if k not in ("name", "output_dir")},
            sort_keys=True,
        )
        groups.setdefault(key, []).append(run)
    repeats = [g for g in groups.values() if len(g) > 1]
    if not repeats:
        return "no setting was run twice here"
    times = [r.train_seconds for r in max(repeats, key=len)]
    return (
        f"{len(times)} runs of one setting took {fmt_seconds(min(times))} to "
        f"{fmt_seconds(max(times))}"
    )


def last_epoch_mean(run: Run, steps_per_epoch: int) -> float:
    """Mean training loss logged during the last epoch (one batch is noisy)."""
    series = run.metrics.get("train/loss", [])
    start = run.steps - steps_per_epoch
    values = [v for step, v in series if step >= start]
    return sum(values) / len(values) if values else math.nan


def per_epoch(series: list[tuple[int, float]], steps_per_epoch: int) -> list[tuple[float, float]]:
    return [((step + 1) / steps_per_epoch, value) for step, value in series]


def plot_study(title: str, runs: list[tuple[Setting, Run, int]], path: Path) -> None:
    """Training (dashed) and validation (solid) MSE per epoch of every setting."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for i, (setting, run, spe) in enumerate(runs):
        colour = f"C{i % 10}"
        train = per_epoch(run.metrics.get("train/loss", []), spe)
        val = per_epoch(run.metrics.get("val/loss", []), spe)
        if train:
            ax.plot(*zip(*train, strict=True), "--", color=colour, alpha=0.6, linewidth=1)
        if val:
            ax.plot(*zip(*val, strict=True), "o-", color=colour, label=setting.label, markersize=3)
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE of normalised UV (+ penalty)")
    ax.set_yscale("log")
    ax.set_title(f"{title}\nsolid: validation, dashed: training")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/results"))
    parser.add_argument("--work", type=Path, default=Path("runs/seed001"))
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--only", default=",".join(STUDIES), help="comma-separated studies")
    args = parser.parse_args(argv)
    only = [s for s in args.only.split(",") if s]
    unknown = set(only) - set(STUDIES)
    if unknown:
        parser.error(f"--only: unknown studies {sorted(unknown)}; known: {list(STUDIES)}")
    if args.epochs < 1:
        parser.error(f"--epochs must be >= 1, got {args.epochs}")
    started = time.perf_counter()
    root = build_corpus_cifar(args.work, args.corpus)
    n_train = len(CIFAR10(root, "train", progress=False))
    n_val = len(CIFAR10(root, "test", progress=False))
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[str] = []
    images: list[tuple[str, str]] = []
    final_val: dict[str, list[tuple[str, float]]] = {key: [] for key in only}
    all_runs: list[Run] = []
    for key in only:
        title, settings = STUDIES[key]
        done: list[tuple[Setting, Run, int]] = []
        for setting in settings:
            overrides = [*BASE, *setting.overrides]
            batch = int(next(o for o in reversed(overrides) if "batch_size" in o).split("=")[1])
            spe = max(1, n_train // batch)  # drop_last
            overrides += [
                f"data.root={root}",
                "data.classes=null",
                f"data.max_val_images={n_val}",
                f"trainer.max_steps={spe * args.epochs}",
                f"trainer.val_every_steps={spe}",
                f"trainer.checkpoint_every_steps={spe * args.epochs}",
                f"trainer.log_every_steps={max(1, spe // 4)}",
                f"name=study-{key}-{slug(setting.label)}",
            ]
            print(f"[{key}] {setting.label}", file=sys.stderr, flush=True)
            run = run_config(CONFIG, overrides, args.work / "studies" / key / slug(setting.label))
            done.append((setting, run, spe))
            all_runs.append(run)
            val = run.metrics.get("val/loss", [])
            best = min((v for _, v in val), default=math.nan)
            final_val[key].append((setting.label, last(val)))
            rows.append(
                f"| {key} | {setting.label} | {last_epoch_mean(run, spe):.4f} "
                f"| {last(val):.4f} | {best:.4f} | {run.steps} | {fmt_seconds(run.train_seconds)} |"
            )
        png = f"yuv_cnn_{key}.png"
        plot_study(title, done, args.out / png)
        images.append((title, png))
    command = "python benchmarks/seed001_studies.py " + " ".join(
        [f"--epochs {args.epochs}", f"--only {','.join(only)}"]
    )
    lines = [
        "# Seed 001's YUV CNN: design studies at CPU scale",
        "",
        f"Command: `{command}` (from the repository root, with tinct installed or "
        "`PYTHONPATH=src`; runs are cached under `runs/seed001` and reused).",
        "",
        f"Scale: `configs/yuv-cnn.yaml` (the `yuv-cnn` model, {n_train} training and "
        f"{n_val} validation 32x32 crops of the labelled photo corpus in CIFAR-10 format, "
        f"{CORPUS_NOTE}), {args.epochs} epochs per run, one CPU thread on a 2-core machine "
        "shared with another training run (times are indicative). Common ground unless a "
        "study varies it: " + ", ".join(f"`{b}`" for b in BASE) + ". Losses are the MSE of "
        "normalised UV (U/0.436, V/0.615): training loss averaged over the batches logged "
        "in the last epoch (it includes the weight penalty where one is set), validation "
        "loss on the whole validation set after the last epoch and its best value after any "
        "epoch. Runs with the same settings give the same losses (seeded); their times vary "
        "with the load of the shared machine: " + repeat_note(all_runs) + ".",
        "",
        "| study | setting | train loss (last epoch) | final val loss | best val loss | steps "
        "| training time |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    lines += ["Per study, from the table: the lowest final validation loss and the spread.", ""]
    for key, values in final_val.items():
        label, best = min(values, key=lambda item: item[1])
        spread = max(v for _, v in values) - min(v for _, v in values)
        lines.append(
            f"- {key}: lowest final val loss {best:.4f} with {label}; the {len(values)} "
            f"settings span {spread:.4f}."
        )
    lines.append("")
    for title, png in images:
        lines += [f"![{title}]({png})", ""]
    lines += [
        f"Total wall time of this script: {fmt_seconds(time.perf_counter() - started)} "
        "(runs reused from an earlier invocation count as zero).",
        "",
    ]
    (args.out / "yuv_cnn.md").write_text("\n".join(lines))
    print(f"wrote {args.out / 'yuv_cnn.md'}")
    return 0


CORPUS_NOTE = "16 random crops per photo, 10 source categories"

if __name__ == "__main__":
    raise SystemExit(main())
