"""Seed 001's design studies of the YUV CNN (section 4.1) and the CVAE (section 4.3.6)
at this machine's scale.

Every study trains a config with a few overrides on the offline stand-in for CIFAR-10
(the labelled photo corpus cut into 32x32 crops and written in CIFAR-10 format, all 10
classes), for a fixed number of epochs, one CPU thread, and records the training and
validation losses per epoch and the training time. ``configs/yuv-cnn.yaml``:

- batch size vs. final loss and time (seed table 4.1);
- optimiser and learning rate, RMSProp momentum (seed figure 4.3a/b);
- augmentation types alone and the seed's final combination (figures A.1/A.2, 4.4);
- L1 and L2 weight penalties and dropout (figures 4.5-4.7).

``configs/cvae.yaml`` (figure 4.10's network):

- batch size vs. final loss and time (seed table 4.2);
- latent dimension (seed figure 4.11a) and learning rate (figure 4.11b).

Writes one page per network into ``--out``: ``yuv_cnn.md`` (the CNN's studies) and
``cvae_studies.md`` (the CVAE's), each with its command, its table (with the greyscale
and mean-chroma baselines) and one PNG of loss curves per study; runs go to ``--work``
and are reused when re-run with the same settings.

Usage: python benchmarks/seed001_studies.py [--out docs/results] [--work runs/seed001]
           [--epochs 4] [--only batch,optimiser,augmentation,regularisation,
           cvae-batch,cvae-latent,cvae-lr]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from seed001_common import (
    Run,
    beating,
    build_corpus_cifar,
    fmt_seconds,
    last,
    names_or_none,
    run_config,
    sample_uv_mse,
    val_uv_baselines,
)

from tinct.data.cifar import CIFAR10

CNN_CONFIG = Path("configs/yuv-cnn.yaml")
CVAE_CONFIG = Path("configs/cvae.yaml")
#: The common ground of every CNN study unless it varies it: no augmentation, no dropout,
#: Adam 1e-3, batch 64 (the seed's 512 would give 7 steps per epoch here).
BASE = [
    "data.augment.seed001=[]",
    "model.kwargs.dropout=0.0",
    "optim.name=adam",
    "optim.lr=1.0e-3",
    "trainer.batch_size=64",
]
#: The CVAE studies' common ground: configs/cvae.yaml as it is (figure 4.10's network,
#: latent 128, W = 1000, Adam 1e-3, batch 32 as the seed settles on, no augmentation).
CVAE_BASE = [
    "data.augment.seed001=[]",
    "optim.name=adam",
    "optim.lr=1.0e-3",
    "trainer.batch_size=32",
]


@dataclass
class Setting:
    """One run of a study: a label and the overrides on top of the study's base."""

    label: str
    overrides: list[str]


@dataclass
class Study:
    """A study: its title, the page it is on, its config, base overrides and settings."""

    title: str
    page: str
    config: Path
    base: list[str]
    settings: list[Setting]


CNN_PAGE, CVAE_PAGE = "yuv_cnn", "cvae_studies"

STUDIES: dict[str, Study] = {
    "batch": Study(
        "Batch size (seed table 4.1)", CNN_PAGE, CNN_CONFIG, BASE,
        [Setting(f"batch {b}", [f"trainer.batch_size={b}"]) for b in (16, 32, 128, 512, 1024)],
    ),
    "optimiser": Study(
        "Optimiser and learning rate (seed figure 4.3)", CNN_PAGE, CNN_CONFIG, BASE,
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
    "augmentation": Study(
        "Augmentation (seed figures A.1/A.2, 4.4)", CNN_PAGE, CNN_CONFIG, BASE,
        [
            Setting("none", []),
            *(
                Setting(kind, [f"data.augment.seed001=[{kind}]"])
                for kind in ("flip", "rotation", "shift", "brightness", "zoom")
            ),
            Setting("flip+shift+rotation", ["data.augment.seed001=[flip,shift,rotation]"]),
        ],
    ),
    "regularisation": Study(
        "L1/L2 weight penalties and dropout (seed figures 4.5-4.7)", CNN_PAGE, CNN_CONFIG, BASE,
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
    "cvae-batch": Study(
        "CVAE batch size (seed table 4.2)", CVAE_PAGE, CVAE_CONFIG, CVAE_BASE,
        [Setting(f"batch {b}", [f"trainer.batch_size={b}"]) for b in (16, 32, 128, 512, 1024)],
    ),
    "cvae-latent": Study(
        "CVAE latent dimension (seed figure 4.11a)", CVAE_PAGE, CVAE_CONFIG, CVAE_BASE,
        [
            Setting(f"latent {d}", [f"model.kwargs.latent_dim={d}"])
            for d in (32, 128, 512, 1024, 5120)
        ],
    ),
    "cvae-lr": Study(
        "CVAE learning rate (seed figure 4.11b)", CVAE_PAGE, CVAE_CONFIG, CVAE_BASE,
        [
            Setting(f"Adam lr {lr}", [f"optim.lr={float(lr)}"])
            for lr in ("1e-4", "5e-4", "1e-3", "5e-3")
        ],
    ),
}  # fmt: skip


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


def plot_study(
    title: str,
    runs: list[tuple[Setting, Run, int]],
    path: Path,
    *,
    ylabel: str,
    baselines: dict[str, float] | None = None,
) -> None:
    """Training (dashed) and validation (solid) loss per epoch of every setting, and the
    baselines' validation loss as dotted lines where they are in the same units."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for i, (setting, run, spe) in enumerate(runs):
        colour = f"C{i % 10}"
        train = per_epoch(run.metrics.get("train/loss", []), spe)
        val = per_epoch(run.metrics.get("val/loss", []), spe)
        if train:
            ax.plot(*zip(*train, strict=True), "--", color=colour, alpha=0.6, linewidth=1)
        if val:
            ax.plot(*zip(*val, strict=True), "o-", color=colour, label=setting.label, markersize=3)
    for name, value in (baselines or {}).items():
        ax.axhline(value, color="grey", linestyle=":", linewidth=1)
        ax.annotate(name, (0.01, value), xycoords=("axes fraction", "data"), fontsize=7)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_yscale("log")
    ax.set_title(f"{title}\nsolid: validation, dashed: training")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


@dataclass
class Row:
    """One finished setting of a study, as the page reports it."""

    study: str
    label: str
    run: Run
    train_loss: float
    val_loss: float
    best_val: float
    val_mse: float
    val_kl: float
    sample_mse: float


def run_study(
    key: str, args: argparse.Namespace, root: Path, n_train: int, n_val: int
) -> tuple[list[Row], list[tuple[Setting, Run, int]]]:
    study = STUDIES[key]
    rows: list[Row] = []
    done: list[tuple[Setting, Run, int]] = []
    for setting in study.settings:
        overrides = [*study.base, *setting.overrides]
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
        run = run_config(study.config, overrides, args.work / "studies" / key / slug(setting.label))
        done.append((setting, run, spe))
        val = run.metrics.get("val/loss", [])
        # The CNN's loss is the MSE itself; the CVAE logs its MSE of UV apart.
        mse = run.metrics.get("val/mse") or val
        rows.append(
            Row(
                study=key,
                label=setting.label,
                run=run,
                train_loss=last_epoch_mean(run, spe),
                val_loss=last(val),
                best_val=min((v for _, v in val), default=math.nan),
                val_mse=last(mse),
                val_kl=last(run.metrics.get("val/kl", [])),
                # The CVAE's colourisation (a sample, no colours seen); the CNN's val loss
                # already is its colourisation's MSE.
                sample_mse=sample_uv_mse(run.model, root) if study.page == CVAE_PAGE else last(val),
            )
        )
    return rows, done


#: Each page's score (lower is better) and its name, for the reading and the verdict.
CNN_WHAT = "final val loss"
CVAE_WHAT = "MSE of UV of a sample"


def cnn_score(row: Row) -> float:
    return row.val_loss


def cvae_score(row: Row) -> float:
    return row.sample_mse


def fmt(value: float, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else ""


def cnn_page(rows: list[Row], baselines: dict[str, float]) -> tuple[list[str], list[str]]:
    """The CNN page's table and its reading: the loss is the MSE of normalised UV."""
    table = [
        "| study | setting | train loss (last epoch) | final val loss | best val loss | steps "
        "| training time |",
        "|---|---|---|---|---|---|---|",
        *(f"| baseline | {name} | | {value:.4f} | | | |" for name, value in baselines.items()),
        *(
            f"| {r.study} | {r.label} | {fmt(r.train_loss)} | {fmt(r.val_loss)} "
            f"| {fmt(r.best_val)} | {r.run.steps} | {fmt_seconds(r.run.train_seconds)} |"
            for r in rows
        ),
    ]
    return table, reading(rows, baselines, cnn_score, CNN_WHAT)


def cvae_page(rows: list[Row], baselines: dict[str, float]) -> tuple[list[str], list[str]]:
    """The CVAE page's table and its reading: loss W * MSE(YUV) + KL, MSE of UV apart."""
    table = [
        "| study | setting | train loss (last epoch) | final val loss | val MSE (UV) "
        "| val KL | MSE (UV) of a sample | steps | training time |",
        "|---|---|---|---|---|---|---|---|---|",
        *(f"| baseline | {name} | | | | | {value:.4f} | | |" for name, value in baselines.items()),
        *(
            f"| {r.study} | {r.label} | {fmt(r.train_loss, 2)} | {fmt(r.val_loss, 2)} "
            f"| {fmt(r.val_mse)} | {fmt(r.val_kl, 2)} | {fmt(r.sample_mse)} | {r.run.steps} "
            f"| {fmt_seconds(r.run.train_seconds)} |"
            for r in rows
        ),
    ]
    return table, reading(rows, baselines, cvae_score, CVAE_WHAT)


def verdict(rows: list[Row], baselines: dict[str, float], score: Callable[[Row], float],
            what: str, epochs: int) -> str:  # fmt: skip
    """The page's first line: how many trained settings are worse than greyscale (and
    than mean-chroma) on the page's score, so that no reader takes a tiny run for a
    reproduction."""
    n = len(rows)
    grey, mean = baselines["greyscale"], baselines["mean-chroma"]
    worse_grey = [r for r in rows if not score(r) < grey]
    worse_mean = [r for r in rows if not score(r) < mean]
    head = f"**A small CPU run ({epochs} epoch(s) per run), not a reproduction.** "
    against = f"greyscale on {what} ({grey:.4f})"
    if len(worse_grey) == n:
        text = f"**Every one of the {n} trained settings is worse than {against}**"
    elif worse_grey:
        text = (
            f"**{len(worse_grey)} of the {n} trained settings are worse than {against}**: "
            + ", ".join(f"{r.study} `{r.label}`" for r in worse_grey)
        )
    else:
        text = f"Every one of the {n} trained settings beats {against}"
    text += f"; {n - len(worse_mean)} of {n} beat the mean-chroma oracle ({mean:.4f})."
    return head + text


def reading(
    rows: list[Row],
    baselines: dict[str, float],
    score: Callable[[Row], float],
    what: str,
) -> list[str]:
    """Per study: the best setting, the spread, and which settings beat the baselines."""
    lines = [
        f"Per study, from the table: the lowest {what}, the spread, and which settings "
        f"beat greyscale ({baselines['greyscale']:.4f}) and mean-chroma "
        f"({baselines['mean-chroma']:.4f}) on it.",
        "",
    ]
    for key in dict.fromkeys(r.study for r in rows):
        scores = {r.label: score(r) for r in rows if r.study == key}
        label, best = min(scores.items(), key=lambda item: item[1])
        spread = max(scores.values()) - min(scores.values())
        # Quoted: a setting may be called "none".
        grey = [f"`{n}`" for n in beating(scores, baselines["greyscale"])]
        mean = [f"`{n}`" for n in beating(scores, baselines["mean-chroma"])]
        lines.append(
            f"- {key}: lowest {what} {best:.4f} with `{label}`; the {len(scores)} settings "
            f"span {spread:.4f}. Better than greyscale: "
            + ("all" if len(grey) == len(scores) else names_or_none(grey))
            + "; better than mean-chroma: "
            + ("all" if len(mean) == len(scores) else names_or_none(mean))
            + "."
        )
    return lines


CNN_TEXT = (
    'Scale: `configs/yuv-cnn.yaml` (the `yuv-cnn` model, the seed\'s "valid" first '
    "convolution, {n_train} training and {n_val} validation 32x32 crops of the labelled "
    "photo corpus in CIFAR-10 format, {corpus}), {epochs} epoch(s) per run, one CPU thread "
    "on a 2-core machine shared with another training run (times are indicative). Common "
    "ground unless a study varies it: {base}. Losses are the MSE of normalised UV "
    "(U/0.436, V/0.615): training loss averaged over the batches logged in the last epoch "
    "(it includes the weight penalty where one is set), validation loss on the whole "
    "validation set after the last epoch and its best value after any epoch. Baselines, "
    "on the same validation crops: *greyscale* predicts U = V = 0, *mean-chroma* one "
    "constant UV everywhere, the validation crops' mean (the best constant: an oracle no "
    "model is given). Runs with the same settings give the same losses (seeded); their "
    "times vary with the load of the shared machine: {repeats}."
)
CVAE_TEXT = (
    "Scale: `configs/cvae.yaml` (the `cvae` model as figure 4.10 draws it: 1,255,285 "
    "parameters, latent 128 unless the study varies it; loss W * MSE + KL with W = 1000, "
    "the MSE over Y, U and V as the seed's equation 4.6; {n_train} training and {n_val} "
    "validation 32x32 crops of the labelled photo corpus in CIFAR-10 format, {corpus}), "
    "{epochs} epoch(s) per run (the seed: 100), one CPU thread on a 2-core machine shared "
    "with another training run (times are indicative). Common ground unless a study "
    "varies it: {base}. *train loss*: W * MSE + KL averaged over the batches logged in the "
    "last epoch (the seed's table 4.2 reports this loss after 100 epochs); *final val "
    "loss* the same on the whole validation set after the last epoch, with z drawn from "
    "the training encoder (it sees the true colours); *val MSE (UV)* the MSE of "
    "normalised UV (U/0.436, V/0.615) of that reconstruction; *val KL* the KL term (nats, "
    "summed over the latent dimension). *MSE (UV) of a sample*: the colourisation a user "
    "gets, z drawn from the conditional encoder (Y only, generator seed 0), on the same "
    "validation crops: the number to compare with the baselines, *greyscale* (U = V = 0) "
    "and *mean-chroma* (one constant UV, the validation crops' mean: an oracle). Runs with "
    "the same settings give the same losses (seeded); their times vary with the load of "
    "the shared machine: {repeats}."
)


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
    root = build_corpus_cifar(args.work, args.corpus)
    n_train = len(CIFAR10(root, "train", progress=False))
    n_val = len(CIFAR10(root, "test", progress=False))
    baselines = val_uv_baselines(root)
    args.out.mkdir(parents=True, exist_ok=True)
    for page in dict.fromkeys(STUDIES[key].page for key in only):
        started = time.perf_counter()
        keys = [key for key in only if STUDIES[key].page == page]
        rows: list[Row] = []
        images: list[tuple[str, str]] = []
        for key in keys:
            study_rows, done = run_study(key, args, root, n_train, n_val)
            rows += study_rows
            png = f"{'yuv_cnn' if page == CNN_PAGE else 'cvae'}_{key.removeprefix('cvae-')}.png"
            plot_study(
                STUDIES[key].title,
                done,
                args.out / png,
                ylabel="MSE of normalised UV (+ penalty)" if page == CNN_PAGE else "W * MSE + KL",
                baselines=baselines if page == CNN_PAGE else None,
            )
            images.append((STUDIES[key].title, png))
        command = (
            f"python benchmarks/seed001_studies.py --epochs {args.epochs} --only {','.join(keys)}"
        )
        cnn = page == CNN_PAGE
        table, lines = (cnn_page if cnn else cvae_page)(rows, baselines)
        scale = (CNN_TEXT if cnn else CVAE_TEXT).format(
            n_train=n_train,
            n_val=n_val,
            corpus=CORPUS_NOTE,
            epochs=args.epochs,
            base=", ".join(f"`{b}`" for b in (BASE if cnn else CVAE_BASE)),
            repeats=repeat_note([r.run for r in rows]),
        )
        title = (
            "# Seed 001's YUV CNN: design studies at CPU scale"
            if cnn
            else "# Seed 001's CVAE: batch size, latent dimension and learning rate (table "
            "4.2, figure 4.11) at CPU scale"
        )
        text = [
            title,
            "",
            verdict(
                rows,
                baselines,
                cnn_score if cnn else cvae_score,
                CNN_WHAT if cnn else CVAE_WHAT,
                args.epochs,
            ),
            "",
            f"Command: `{command}` (from the repository root, with tinct installed or "
            "`PYTHONPATH=src`; runs are cached under `runs/seed001` and reused).",
            "",
            scale,
            "",
            *table,
            "",
            *lines,
            "",
        ]
        for caption, png in images:
            text += [f"![{caption}]({png})", ""]
        text += [
            f"Total wall time of this page's runs: {fmt_seconds(time.perf_counter() - started)} "
            "(runs reused from an earlier invocation count as zero).",
            "",
        ]
        (args.out / f"{page}.md").write_text("\n".join(text))
        print(f"wrote {args.out / f'{page}.md'}")
    return 0


CORPUS_NOTE = "16 random crops per photo, 10 source categories"

if __name__ == "__main__":
    raise SystemExit(main())
