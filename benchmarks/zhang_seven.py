"""Seed 002's seven experimental models (section 4.3), trained at one CPU size with one
budget each, evaluated next to greyscale, into ``docs/results/zhang-seven.md``.

Seed 002 is the student report reproducing Zhang et al. 2016 ("Colorful Image
Colorization") on ImageNet vehicles. Its seven models differ in loss and prior: Euclidean
(L2 regression), unbalanced one-hot, unbalanced (soft-encoded), rebalanced, rebalanced
smoothed, rebalanced with the dataset's own prior ("ours"), and simplified (the "ours"
loss on a smaller network). Here each runs its config in ``configs/zhang/`` with these
changes, so all fit a 2-core CPU: every network is the CPU-sized one (``zhang-cpu``; the
Euclidean model's ``variant=cpu``), except ``simplified``, which keeps its own network
(15.4 M parameters, about 7x slower per step) and therefore gets fewer steps; each run
has ``--steps`` steps (simplified: ``--simplified-steps``) of the config's batch and crops.

Stages (each skips what exists, so an interrupted run resumes): ``train`` (one model at
a time), ``evaluate`` (all models and the two baselines on the corpus test split, 256 px),
``page`` (the table, shaped like seed 002's figure 6 as bar charts, and the text).

    python benchmarks/zhang_seven.py --runs runs/zhang-seven --root corpus \\
        --out docs/results/zhang-seven.md
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
MODELS = [  # (name on the page, config, overrides of the network)
    ("Euclidean", "euclidean", ["model.kwargs.variant=cpu"]),
    ("unbalanced one-hot", "unbalanced-onehot", ["model.name=zhang-cpu"]),
    ("unbalanced", "unbalanced", ["model.name=zhang-cpu"]),
    ("rebalanced", "rebalanced", ["model.name=zhang-cpu"]),
    ("rebalanced smoothed", "rebalanced-smoothed", ["model.name=zhang-cpu"]),
    ("rebalanced ours", "rebalanced-ours", ["model.name=zhang-cpu"]),
    ("simplified", "simplified", []),
]
COLUMNS = [
    ("rmse_ab", "RMSE ab ↓", 2),
    ("rmse_rgb", "RMSE RGB ↓", 2),
    ("psnr", "PSNR ↑", 2),
    ("ssim", "SSIM ↑", 4),
    ("ciede2000", "ΔE00 ↓", 2),
    ("auc", "AuC ↑", 4),
    ("auc_rebalanced", "AuC rebal. ↑", 4),
    ("colourfulness_ratio", "colourfulness / truth", 3),
]


def train(args: argparse.Namespace) -> None:
    for _, config, overrides in MODELS:
        out = args.runs / config
        if (out / "model.pt").is_file():
            continue
        steps = args.simplified_steps if config == "simplified" else args.steps
        sets = [
            *overrides,
            f"trainer.max_steps={steps}",
            f"trainer.val_every_steps={steps}",
            f"trainer.checkpoint_every_steps={steps}",
            f"data.root={args.root}",
            "trainer.max_time=null",
        ]
        cmd = [
            sys.executable,
            "-m",
            "tinct",
            "train",
            str(ROOT / "configs/zhang" / f"{config}.yaml"),
            "-q",
            "--output-dir",
            str(out),
        ]
        for s in sets:
            cmd += ["--set", s]
        start = time.process_time()
        t0 = time.perf_counter()
        usage0 = _children_cpu()
        subprocess.run(cmd, check=True)
        cpu = _children_cpu() - usage0
        (out / "budget.json").write_text(
            json.dumps(
                {
                    "steps": steps,
                    "cpu_seconds": cpu,
                    "wall_seconds": time.perf_counter() - t0,
                    "command": " ".join(cmd),
                },
                indent=1,
            )
        )
        del start
        print(f"{config}: {steps} steps, {cpu / 60:.1f} CPU-min", flush=True)


def _children_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def evaluate_models(args: argparse.Namespace) -> dict:
    from tinct.eval.config import EvalConfig, ModelSpec
    from tinct.eval.report import write_report
    from tinct.eval.runner import evaluate

    specs = [ModelSpec("greyscale", "greyscale"), ModelSpec("mean-chroma", "mean-chroma")]
    specs += [ModelSpec(name, str(args.runs / config / "model.pt")) for name, config, _ in MODELS]
    config = EvalConfig(target="corpus", split="test", root=args.root, features=False)
    out = args.out.parent / "zhang-seven"
    result = evaluate(config, specs, out_dir=out, progress=True)
    write_report(result, out, command="python benchmarks/zhang_seven.py " + " ".join(sys.argv[1:]))
    return result.summary


def page(args: argparse.Namespace, summary: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tinct.models import load_metadata

    names = ["greyscale", "mean-chroma"] + [name for name, _, _ in MODELS]
    budget = {}
    for name, config, _ in MODELS:
        b = json.loads((args.runs / config / "budget.json").read_text())
        meta = load_metadata(args.runs / config / "model.pt")
        cfg = meta["config"]
        batch, crop = cfg["trainer"]["batch_size"], cfg["data"]["image_size"]
        budget[name] = (
            f"{cfg['model']['name']}, {b['steps']} x {batch} = "
            f"{b['steps'] * batch:,} crops of {crop} px, {b['cpu_seconds'] / 60:.1f} CPU-min"
        )
    grey = summary["greyscale"]
    better = [n for n in names[2:] if summary[n]["ciede2000"] < grey["ciede2000"]]
    lines = [
        "# Seed 002's seven models at CPU size",
        "",
        (
            f"**A tiny CPU run, not a reproduction.** Of the seven models, "
            f"{len(better)} beat the greyscale input on CIEDE2000 ({', '.join(better) or 'none'}; "
            f"greyscale {grey['ciede2000']:.2f})."
            if better
            else "**A tiny CPU run, not a reproduction. None of the seven models beats "
            f"the greyscale input on CIEDE2000** (greyscale {grey['ciede2000']:.2f})."
        ),
        "",
        'Seed 002 is the student report that reproduces Zhang et al. 2016 ("Colorful Image '
        'Colorization") on ImageNet vehicle classes; its section 4.3 trains seven '
        "experimental models for 100 epochs (about 6,300 steps of batch 32) each and compares "
        "them in its figure 6. Here every model trains on the offline photo corpus's train "
        "split with its config in `configs/zhang/` and the budget in the table, one job at a "
        "time on a 2-core CPU; the test split (38 photos, 256x256) is evaluated once.",
        "",
        "Command: `python benchmarks/zhang_seven.py " + " ".join(sys.argv[1:]) + "` "
        "(every metric and plot of the evaluation: "
        "[zhang-seven/results.md](zhang-seven/results.md)).",
        "",
        "| model | budget | " + " | ".join(c[1] for c in COLUMNS) + " |",
        "|---|---|" + "---|" * len(COLUMNS),
    ]
    for n in names:
        row = summary[n]
        lines.append(
            f"| {n} | {budget.get(n, 'baseline')} | "
            + " | ".join(f"{row[k]:.{d}f}" for k, _, d in COLUMNS)
            + " |"
        )
    fig, axes = plt.subplots(1, 4, figsize=(16, 4))
    for ax, (key, title, _) in zip(axes, COLUMNS[:4], strict=True):
        vals = [summary[n][key] for n in names[2:]]
        ax.bar(range(len(vals)), vals, color="tab:blue")
        ax.axhline(grey[key], color="black", linestyle="--", label="greyscale")
        ax.set_xticks(range(len(vals)), names[2:], rotation=60, ha="right", fontsize=8)
        ax.set_title(title)
        ax.legend(fontsize=8)
    fig.tight_layout()
    plot = args.out.parent / "zhang-seven" / "figure6.png"
    fig.savefig(plot, dpi=90)
    lines += [
        "",
        "Shaped like seed 002's figure 6 (its four metrics, one bar per model; the "
        "dashed line is greyscale):",
        "",
        "![seed 002 figure 6 at CPU size](zhang-seven/figure6.png)",
        "",
    ]
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(args.out)
    print(f"wrote {args.out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=Path, default=Path("runs/zhang-seven"))
    parser.add_argument("--root", default="corpus")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--simplified-steps", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path("docs/results/zhang-seven.md"))
    parser.add_argument("--stage", choices=["all", "train", "page"], default="all")
    args = parser.parse_args()
    if args.stage in ("all", "train"):
        train(args)
    if args.stage in ("all", "page"):
        summary = evaluate_models(args)
        page(args, summary)


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
