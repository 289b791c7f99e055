"""Learning from colour at this machine's scale -> docs/results/ssl.md.

Pretrains each pretext method of seed 000 chapter 3 on the offline corpus (train split,
64 px random crops, half-width ResNet-18 = 256-d features, batch 64, the same CPU budget
for every method), then evaluates every encoder on the labelled corpus (271 photos, 10
classes, 4 random crops each at 64 px, 5-fold cross-validation by photo):

- a linear probe (seed 000 table 3.2), with random-init, ImageNet EfficientNet-Lite0 and
  the default colouriser's encoder rows;
- fine-tuning (seed 000 table 3.1): supervised from scratch (dropout 0.5), top layers only,
  differential learning rates;
- the first k blocks frozen (seed 003 table 1) from the default colouriser's encoder.

Stages (all by default): ``pretrain`` (skips methods whose encoder.pt exists), ``evaluate``
(writes ``<runs>/scores.json``), ``page``. Usage::

    python benchmarks/ssl_results.py --corpus corpus --runs runs/ssl-results \\
        --out docs/results/ssl.md
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tinct.ssl.config import resolve_ssl_config
from tinct.ssl.encoders import load_encoder, read_encoder_metadata
from tinct.ssl.evaluate import finetune_protocol, load_labelled, probe_protocol

CONFIGS = Path(__file__).parents[1] / "configs" / "ssl"

#: label, config, seed 000 learning type
METHODS = [
    ("cross-channel", "cross-channel.yaml", "predictive (L -> ab, L2)"),
    ("split-brain", "split-brain.yaml", "predictive (L2)"),
    (
        "split-brain-classification",
        "split-brain-classification.yaml",
        "predictive (100 L / 256 ab bins, rebalanced)",
    ),
    ("simclr", "simclr.yaml", "contrastive"),
    ("contrast-channels", "contrast-channels.yaml", "contrastive (L vs ab)"),
    ("combined", "combined.yaml", "predictive + contrastive"),
]

# Seed 000 table 3.2 (linear probe, STL-10, 1000 / 5000 labels) for reference.
SEED_TABLE_32 = {
    "split-brain": (32.8, 39.2),
    "contrast-channels": (35.9, 41.3),
    "simclr": (43.1, 49.7),
    "combined": (45.7, 52.3),
}

SIZE = 64
WIDTH = 32
BATCH = 64
FOLDS = 5
FT_FOLDS = 3
FT_STEPS = 100
FT_BATCH = 32


def pretrain_all(args: argparse.Namespace) -> None:
    from tinct.ssl.pretrain import pretrain

    for label, config, _ in METHODS:
        out = args.runs / label
        if (out / "encoder.pt").is_file():
            print(f"{label}: encoder exists, skipped", flush=True)
            continue
        cfg = resolve_ssl_config(
            CONFIGS / config,
            [
                "data.kind=corpus",
                f"data.root={args.corpus}",
                f"data.image_size={SIZE}",
                f"data.val_size={SIZE}",
                "data.max_val_images=16",
                "data.cache_short_side=160",
                "data.num_workers=0",
                "data.samples_per_epoch=2000",
                f"backbone.width={WIDTH}",
                f"trainer.batch_size={BATCH}",
                "trainer.max_steps=100000",
                "trainer.val_every_steps=100",
                "trainer.checkpoint_every_steps=100",
                f"trainer.threads={args.threads}",
                f"max_cpu_minutes={args.cpu_minutes}",
                "prior_batches=10",
            ],
        )
        cfg["output_dir"] = str(out)
        start = time.perf_counter()
        pretrain(cfg, resume="auto", progress=False)
        print(f"{label}: {time.perf_counter() - start:.0f} s wall", flush=True)


def _scores(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v.as_dict() for k, v in d.items()}


def evaluate_all(args: argparse.Namespace) -> dict[str, Any]:
    start_cpu = time.process_time()
    data = load_labelled(
        "corpus-labelled",
        root=str(args.corpus),
        split="all",
        size=SIZE,
        crops=4,
        scale=(0.5, 1.0),
        seed=0,
    )
    out: dict[str, Any] = {
        "probe": {},
        "finetune": {},
        "data": {
            "images": len(data.train),
            "photos": len(np.unique(data.train.items)),
            "classes": data.train.classes,
            "majority": float(np.bincount(data.train.labels).max() / len(data.train.labels)),
        },
    }
    encoders = {label: str(args.runs / label / "encoder.pt") for label, _, _ in METHODS}
    encoders |= {
        "random": "random",
        "random-split": "random:split-brain",
        "efficientnet-lite0": "efficientnet-lite0",
        "colouriser-default": "colouriser:default",
    }
    for label, source in encoders.items():
        torch.manual_seed(0)
        enc = load_encoder(source, width=WIDTH, stem="stl10")
        scores = probe_protocol(enc, data, k=FOLDS, seed=0)
        out["probe"][label] = {"dim": enc.out_dim, **_scores(scores)}
        print("probe", label, {k: round(v.mean, 3) for k, v in scores.items()}, flush=True)

    def make(source: str) -> Any:
        def build() -> Any:
            torch.manual_seed(0)
            return load_encoder(source, width=WIDTH, stem="stl10")

        return build

    runs = [
        ("scratch", "random", "all", 0),
        ("top:random", "random", "top", 0),
        ("top:split-brain-classification", encoders["split-brain-classification"], "top", 0),
        ("top:split-brain", encoders["split-brain"], "top", 0),
        (
            "differential:split-brain-classification",
            encoders["split-brain-classification"],
            "differential",
            0,
        ),
        ("differential:split-brain", encoders["split-brain"], "differential", 0),
        ("scratch:effnet", "random-effnet", "all", 0),
        *(
            (f"freeze{k}:colouriser-default", "colouriser:default", "freeze", k)
            for k in range(1, 6)
        ),
    ]
    for label, source, mode, k in runs:
        if source == "random-effnet":
            continue  # no random EfficientNet loader; the ResNet scratch row is the baseline
        res = finetune_protocol(
            make(source),
            data,
            mode=mode,
            freeze_blocks=k,
            steps=args.ft_steps,
            batch_size=FT_BATCH,
            k=FOLDS,
            max_folds=args.ft_folds,
            seed=0,
        )
        out["finetune"][label] = {
            "test": res["test"].as_dict(),
            "train": res["train"].as_dict(),
            "budget": res["budget"],
        }
        print("finetune", label, round(res["test"].mean, 3), res["budget"][0], flush=True)
    out["evaluation_cpu_seconds"] = round(time.process_time() - start_cpu, 1)
    out["pretrain"] = {
        label: read_encoder_metadata(args.runs / label / "encoder.pt") for label, _, _ in METHODS
    }
    (args.runs / "scores.json").write_text(json.dumps(out, indent=1) + "\n")
    return out


def _pm(d: dict[str, Any]) -> str:
    return f"{100 * d['mean']:.1f} ± {100 * d['std']:.1f}"


def write_page(args: argparse.Namespace, s: dict[str, Any]) -> None:
    probe_key = f"{FOLDS}-fold"
    random = s["probe"]["random"][probe_key]
    random_split = s["probe"]["random-split"][probe_key]
    pre = s["pretrain"]
    lines: list[str] = []
    add = lines.append
    beats = {}
    for label, _, _ in METHODS:
        base = (
            random_split
            if "split" in label or label in ("contrast-channels", "combined")
            else random
        )
        mine = s["probe"][label][probe_key]
        # "beats" only when the means differ by more than the two spreads together
        diff = mine["mean"] - base["mean"]
        beats[label] = (
            "yes"
            if diff > mine["std"] + base["std"]
            else ("no (worse)" if -diff > mine["std"] + base["std"] else "no (within spread)")
        )
    winners = [k for k, v in beats.items() if v == "yes"]
    worse = [k for k, v in beats.items() if v == "no (worse)"]
    add("# Learning from colour: self-supervised pretext methods at this machine's scale")
    add("")
    verdict = (
        f"{len(winners)} of {len(METHODS)} pretext methods beat random initialisation on the "
        f"linear probe by more than the fold spread ({', '.join(winners)})"
        if winners
        else "**no pretext method beats random initialisation** on the linear probe by more "
        "than the fold spread"
    )
    if worse:
        verdict += f"; **worse than random initialisation: {', '.join(worse)}**"
    add(
        f"**A tiny run, not a reproduction.** Each method was pretrained for "
        f"{args.cpu_minutes:g} CPU-minutes on 64 px crops of the offline corpus "
        f"({pre[METHODS[0][0]]['train_images']} photos of its train split) "
        "instead of 5-20 epochs of STL-10's 100,000 images. At this budget "
        + verdict
        + " (table 1, last column). ImageNet-pretrained EfficientNet-Lite0 is the upper "
        "reference."
    )
    add("")
    ft = s["finetune"]
    scratch = ft["scratch"]["test"]["mean"]
    frozen = [ft[f"freeze{k}:colouriser-default"]["test"]["mean"] for k in range(1, 6)]
    order = (
        "test accuracy rises as more blocks are frozen, the opposite of seed 003's finding"
        if all(b >= a for a, b in itertools.pairwise(frozen))
        else "the order of the frozen-block rows is not seed 003's"
        if frozen[0] < max(frozen)
        else "freezing only the first block is best, as in seed 003"
    )
    add(
        f"Fine-tuning ran only {args.ft_steps} steps per fold: too few for trainable layers. "
        f"Supervised training from scratch reaches {100 * scratch:.1f} %, "
        + ("below" if scratch < random["mean"] else "above")
        + f" the linear probe of the untrained network ({100 * random['mean']:.1f} %), "
        f"and in table 3 {order}. Read tables 2 and 3 as a check that the modes run, not as "
        "a comparison of them."
    )
    add("")
    add(
        "Seed 000 is the PhD thesis on deep learning and colour (chapter 3: self-supervised "
        "learning from colour); seed 003 is the paper on the edge- and saliency-guided "
        "colourisation GAN (section 8: its encoder reused for CIFAR-10 classification). "
        "The commands: `tinct ssl pretrain | probe | finetune` (README)."
    )
    add("")
    add(
        f"Command: `python benchmarks/ssl_results.py --corpus {args.corpus} "
        f"--runs {args.runs} --cpu-minutes {args.cpu_minutes:g} --threads {args.threads} "
        f"--out {args.out}` (stages pretrain, evaluate, page; a rerun skips the "
        "methods already pretrained); run here under `flock /work/cpu.lock`, one job at a time "
        "on the shared 2 cores. Every number of this page, with each run's config and budget: "
        f"[{args.out.with_suffix('.json').name}]({args.out.with_suffix('.json').name})."
    )
    add("")
    add("## Setup (what produced these numbers)")
    add("")
    add(
        f"- Pretraining: `configs/ssl/<method>.yaml` with the corpus train split "
        f"(`data.kind=corpus`), random resized crops of {SIZE} px (scale 0.5-1, flips), "
        f"ResNet-18 of width {WIDTH} (half the standard width: 256-d features; the split-brain "
        f"halves are width {WIDTH // 2} each), STL-10 stem, batch {BATCH}, Adam 1e-3, "
        f"stopped at {args.cpu_minutes:g} CPU-minutes (process time, {args.threads} threads)."
    )
    add(
        f"- Labelled data: `corpus-labelled` (all splits: {s['data']['photos']} photos, "
        f"{len(s['data']['classes'])} classes: {', '.join(s['data']['classes'])}), 4 random "
        f"crops per photo (scale 0.5-1) at {SIZE} px = {s['data']['images']} images; "
        f"{FOLDS}-fold cross-validation by photo (stratified; all crops of a photo in one fold). "
        "Its photos are among the pretraining photos (unlabelled), as STL-10's are not; its "
        "categories are small and uneven (see docs/datasets.md), so chance is not 10 %."
    )
    add(
        "- Linear probe: frozen pooled features, standardised, scikit-learn logistic "
        "regression (C = 1); mean ± standard deviation over the 5 folds."
    )
    add(
        f"- Fine-tuning: classifier MLP (512 hidden, dropout 0.5) on the encoder; Adam; "
        f"{args.ft_steps} steps of batch {FT_BATCH} per fold, the first {args.ft_folds} of "
        f"the {FOLDS} folds; mean ± standard deviation over those folds."
    )
    add(
        f"- Host: {platform.machine()}, torch {torch.__version__}, 2 cores shared with other "
        f"jobs. Evaluation CPU time: {s['evaluation_cpu_seconds'] / 60:.1f} min."
    )
    add("")
    add("## 1. Linear probe (shaped like seed 000 table 3.2)")
    add("")
    add(
        "| method | learning type | features | pretraining budget (steps / images seen / "
        "CPU min / wall min) | probe accuracy % (5-fold) | seed 000, STL-10 1000 / 5000 labels "
        "| beats random init? |"
    )
    add("|---|---|---|---|---|---|---|")
    for label, _, kind in METHODS:
        m = pre[label]
        seed = SEED_TABLE_32.get(label)
        seed_txt = f"{seed[0]} / {seed[1]}" if seed else "-"
        add(
            f"| {label} | {kind} | {s['probe'][label]['dim']} | {m['steps']} / "
            f"{m['images_seen']:,} / {m['cpu_seconds'] / 60:.1f} / {m['wall_seconds'] / 60:.1f} "
            f"| {_pm(s['probe'][label][probe_key])} | {seed_txt} | {beats[label]} |"
        )
    for label, name, note in [
        ("random", "random init, ResNet-18 (RGB)", "baseline of cross-channel, SimCLR"),
        (
            "random-split",
            "random init, split-brain ResNet-18 (L / ab halves)",
            "baseline of the split-brain methods",
        ),
        (
            "colouriser-default",
            "the default colouriser's encoder (grey input)",
            "ImageNet EfficientNet-Lite0, then trained to colourise",
        ),
        (
            "efficientnet-lite0",
            "EfficientNet-Lite0, ImageNet-pretrained",
            "supervised upper reference",
        ),
    ]:
        add(
            f"| {name} | {note} | {s['probe'][label]['dim']} | none | "
            f"{_pm(s['probe'][label][probe_key])} | - | - |"
        )
    add(
        f"| majority class (always guess the largest category) | chance level | - | none | "
        f"{100 * s['data']['majority']:.1f} | - | - |"
    )
    add("")
    add(
        '"Beats random init": the probe mean exceeds that of the random-init encoder of the '
        "same architecture by more than the two standard deviations together."
    )
    add("")
    add("## 2. Fine-tuning (shaped like seed 000 table 3.1)")
    add("")
    add(
        "| method | start | test accuracy % | train accuracy % | budget per fold (steps / "
        "images / CPU s) |"
    )
    add("|---|---|---|---|---|")
    rows31 = [
        ("fully supervised: random init + dropout 0.5 (lr 1e-2)", "scratch"),
        ("freeze body, train top layers (1e-2)", "top:random"),
        ("freeze body, train top layers (1e-2)", "top:split-brain-classification"),
        ("freeze body, train top layers (1e-2)", "top:split-brain"),
        (
            "differential learning rates (1e-2 top, 1e-3 rest)",
            "differential:split-brain-classification",
        ),
        ("differential learning rates (1e-2 top, 1e-3 rest)", "differential:split-brain"),
    ]
    for name, key in rows31:
        r = s["finetune"][key]
        start = key.split(":", 1)[1] if ":" in key else "random"
        b = r["budget"][0]
        add(
            f"| {name} | {start} | {_pm(r['test'])} | {_pm(r['train'])} | "
            f"{b['steps']} / {b['images_seen']:,} / {b['cpu_seconds']:.0f} |"
        )
    add("")
    add(
        "Seed 000 table 3.1 (STL-10, 1000 labels): supervised 53.59 ± 0.7, freeze + top "
        "(rebalanced classification) 51.87 ± 0.56, differential 54.78 ± 0.58 (classification) "
        "and 53.66 ± 0.64 (regression); 400 epochs each."
    )
    add("")
    add("## 3. Freezing the first k blocks (shaped like seed 003 table 1)")
    add("")
    add(
        "Start: the encoder of the bundled default colouriser (EfficientNet-Lite0, ImageNet "
        "weights then trained for colourisation), its five blocks = stem + stage 1 and stages "
        '2-5; the unfrozen blocks at 1e-3, the classifier at 1e-2. "Trained from scratch" is '
        "the random-init ResNet-18 row of table 2."
    )
    add("")
    add(
        "| weights frozen till | train accuracy % | test accuracy % | budget per fold "
        "(steps / images / CPU s) |"
    )
    add("|---|---|---|---|")
    for k in range(1, 6):
        r = s["finetune"][f"freeze{k}:colouriser-default"]
        b = r["budget"][0]
        add(
            f"| block {k} | {_pm(r['train'])} | {_pm(r['test'])} | {b['steps']} / "
            f"{b['images_seen']:,} / {b['cpu_seconds']:.0f} |"
        )
    r = s["finetune"]["scratch"]
    add(f"| (trained from scratch, ResNet-18) | {_pm(r['train'])} | {_pm(r['test'])} | - |")
    add("")
    add(
        "Seed 003 table 1 (CIFAR-10, 8000 training images): test 56.47 (block 1), 55.42 "
        "(block 2), 55.12 (scratch), 51.33, 48.11, 47.56 (blocks 3-5)."
    )
    add("")
    add("## What was not run")
    add("")
    add(
        "- STL-10 and CIFAR-10 are not available offline: the configs point at them "
        "(`configs/ssl/*.yaml`, `configs/ssl/cifar10-simclr.yaml`) and `tinct ssl probe "
        "--data stl10` runs the 10-fold protocol, but no STL-10 numbers were measured here."
    )
    add(
        "- The full-width (512-d) ResNet-18 at 96 px and the seed's epoch budgets; 400-epoch "
        "fine-tuning; fine-tuning on all 5 folds; the guided GAN's encoder (no such model "
        "is bundled yet)."
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(args.out)
    # The measured numbers beside the page, so it can be regenerated (--stage page --runs
    # pointing at a folder holding this file as scores.json) and read by other tools.
    data = args.out.with_suffix(".json")
    tmp = data.with_name(f".{data.name}.tmp")
    tmp.write_text(json.dumps(s, indent=1) + "\n")
    tmp.replace(data)
    print(f"wrote {args.out}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, default=Path("corpus"))
    p.add_argument("--runs", type=Path, default=Path("runs/ssl-results"))
    p.add_argument("--out", type=Path, default=Path("docs/results/ssl.md"))
    p.add_argument("--cpu-minutes", type=float, default=3.0, help="pretraining budget per method")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--ft-steps", type=int, default=FT_STEPS, help="fine-tuning steps per fold")
    p.add_argument("--ft-folds", type=int, default=FT_FOLDS, help="fine-tuning folds run")
    p.add_argument("--stage", choices=("all", "pretrain", "evaluate", "page"), default="all")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.stage in ("all", "pretrain"):
        pretrain_all(args)
    scores_path = args.runs / "scores.json"
    if args.stage in ("all", "evaluate"):
        scores = evaluate_all(args)
    elif args.stage == "page":
        scores = json.loads(scores_path.read_text())
    else:
        return 0
    write_page(args, scores)
    return 0


if __name__ == "__main__":
    sys.exit(main())
