"""Train and measure the guided colourisers of seeds 003 and 004 -> docs/results/guided.md.

Stages (each skips what exists, so an interrupted run resumes where it stopped):

- ``voc``: ``tinct data build-voc-standin CORPUS VOC`` (the VOC-format stand-in the two
  segmentation-guided models train on: the corpus's train and val photos with
  foreground/background masks from GrabCut seeded by saliency; its test photos are left
  out, so every model below is measured on photos none of them saw);
- ``train``: every model with the same budget, one job at a time:
  ``tinct train configs/guided/<name>.yaml`` into ``runs/guided-<name>/``. The configs
  hold the budget (``trainer.max_cpu_minutes: 20``, 2 threads, data loading included);
  ``--cpu-minutes N`` states another one for all five;
- ``page``: evaluates each ``runs/guided-<name>/model.pt`` with ``tinct evaluate`` on the
  corpus test split, next to the greyscale input, the mean-chroma baseline and the
  unguided default model measured in the same run, and writes

  - ``docs/results/guided.md``: PSNR, SSIM, CIEDE2000, colourfulness and the colour-
    bleeding score of every model, with its budget (steps, crops seen, CPU minutes) and
    seed 003's published numbers; the segmentation-guided models' foreground IoU;
  - ``docs/results/guided/``: the full ``tinct evaluate`` reports (at the models' 64 px
    training size and at 256 px), a sample grid of the multi-path GAN's predicted
    saliency and edge maps next to the true ones, and the training curves.

Usage::

    python benchmarks/guided_results.py --runs runs --corpus corpus --voc voc-standin \\
        --out docs/results
"""

from __future__ import annotations

import argparse
import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from training_runs import run_info, train_run

CONFIGS = Path(__file__).parents[1] / "configs" / "guided"

#: name -> (label, what it is, trains on the VOC stand-in)
MODELS: dict[str, tuple[str, str, bool]] = {
    "multipath-gan": (
        "multi-path GAN",
        "seed 003's model: saliency + edge guided, EfficientNet-Lite0 path",
        False,
    ),
    "baseline-unet-gan": ("baseline 1: U-Net GAN", "seed 003 section 6.1", False),
    "baseline-zhang": ("baseline 2: classifier", "seed 003 section 6.2 (zhang-cpu, NAG)", False),
    "seg-shared": ("seg-guided, shared decoder", "seed 004 section 4.3", True),
    "seg-separate": ("seg-guided, separate decoders", "seed 004 section 4.3", True),
}


def _run_dir(runs: Path, name: str) -> Path:
    return runs / f"guided-{name}"


def _run(runs: Path, name: str) -> Path:
    """The model that ``tinct train configs/guided/<name>.yaml`` wrote at the end of its budget."""
    path = _run_dir(runs, name) / "model.pt"
    if not path.is_file():
        sys.exit(
            f"missing {path}: run the train stage (or `tinct train configs/guided/{name}.yaml`)"
        )
    return path


@functools.cache
def _run_info(runs: Path, name: str) -> dict[str, Any]:
    """:func:`run_info` of a finished run (read once per run: the page asks for it row by
    row)."""
    return run_info(_run(runs, name))


def build_voc(corpus: str, voc: Path) -> None:
    """Builds the VOC-format stand-in unless it exists."""
    if (voc / "VOCdevkit").is_dir():
        return
    cmd = [sys.executable, "-m", "tinct", "data", "build-voc-standin", corpus, str(voc), "-q"]
    subprocess.run(cmd, check=True)


def train(runs: Path, corpus: str, voc: Path, names: list[str], cpu_minutes: float | None) -> None:
    """Trains each config that has no finished run yet, one after the other."""
    for name in names:
        overrides = [f"data.root={voc if MODELS[name][2] else corpus}"]
        if cpu_minutes is not None:
            overrides.append(f"trainer.max_cpu_minutes={cpu_minutes}")
        train_run(CONFIGS / f"{name}.yaml", _run_dir(runs, name), overrides, name)


#: Evaluation sizes: the models' training size (seed 003's 64 px) and the default model's.
SIZES = (64, 256)
#: Thresholds tried on the predicted edge map for its best F1 (one for the whole set).
EDGE_THRESHOLDS = tuple(round(0.02 * k, 2) for k in range(1, 50))
#: Test photos in the sample grid of predicted and true maps.
GRID = 6


def _evaluate(
    sources: list[str], names: list[str], out: Path, *, corpus: str, size: int, command: str,
    title: str,
) -> dict[str, Any]:  # fmt: skip
    """``tinct evaluate`` of ``sources`` (and the two baselines) on the corpus test split."""
    from tinct.eval.config import EvalConfig, model_specs
    from tinct.eval.report import write_report
    from tinct.eval.runner import evaluate
    from tinct.eval.state import STATE_FILE

    config = EvalConfig(
        target="corpus", split="test", root=corpus, size=size, features=False, grid=6
    )
    result = evaluate(config, model_specs(sources, names), out_dir=out, progress=False)
    write_report(result, out, command=command, title=title)
    (out / STATE_FILE).unlink(missing_ok=True)  # complete: nothing left to resume
    return result.summary


def _test_photos(corpus: str) -> list[tuple[str, Any]]:
    """``(file name, (H, W, 3) uint8 array)`` of the corpus test photos, manifest order."""
    from tinct.data.corpus import corpus_files
    from tinct.io.image import read_image_numpy

    return [(path.name, read_image_numpy(path)) for path in corpus_files(corpus, "test")]


def _pearson(x: Any, y: Any) -> float:
    import numpy as np

    x, y = x.ravel() - x.mean(), y.ravel() - y.mean()
    denom = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum()) / denom if denom > 0 else float("nan")


def aux_study(model_file: Path, photos: list[tuple[str, Any]], size: int) -> dict[str, Any]:
    """How well the multi-path GAN's saliency and edge channels match the maps it was
    trained to predict (spectral-residual saliency, median-rule Canny edges of the
    ``size`` px ground truth), over the test photos; with a trivial predictor of each for
    reference (the set's mean saliency everywhere; every pixel an edge). Also returns the
    first :data:`GRID` photos' maps and colourisations for the figure."""
    import numpy as np

    from tinct.data.guidance import canny_edges, spectral_residual_saliency
    from tinct.eval.truth import prepare_truth
    from tinct.models import load_model
    from tinct.pipeline import ColourisePipeline

    pipe = ColourisePipeline(load_model(model_file), precision="fp32")
    sal_pred: list[Any] = []
    sal_true: list[Any] = []
    edge_pred: list[Any] = []
    edge_true: list[Any] = []
    grid: list[dict[str, Any]] = []
    for _, rgb in photos:
        truth = prepare_truth(rgb, size)
        colour, maps = pipe.colourise_with_aux(truth)
        sp = maps["saliency"][0].float().numpy() / 255.0
        ep = maps["edges"][0].float().numpy() / 255.0
        st = spectral_residual_saliency(truth)[0].numpy()
        et = canny_edges(truth)[0].numpy()
        sal_pred.append(sp)
        sal_true.append(st)
        edge_pred.append(ep)
        edge_true.append(et)
        if len(grid) < GRID:
            grid.append({"truth": truth, "colour": colour, "sal": (sp, st), "edges": (ep, et)})

    sal_p, sal_t = np.stack(sal_pred), np.stack(sal_true)
    e_soft, e_t = np.stack(edge_pred), np.stack(edge_true) > 0.5
    e_p = e_soft >= 0.5

    def f1(pred: Any, true: Any) -> float:
        tp = float((pred & true).sum())
        return 2 * tp / max(1.0, float(pred.sum()) + float(true.sum()))

    density = float(e_t.mean())
    return {
        "images": len(photos),
        "saliency_mae": float(np.abs(sal_p - sal_t).mean()),
        "saliency_mae_constant": float(np.abs(sal_t.mean() - sal_t).mean()),
        "saliency_pearson": float(
            np.mean([_pearson(p, t) for p, t in zip(sal_p, sal_t, strict=True)])
        ),
        "edges_f1": f1(e_p, e_t),
        # The best single threshold over the whole set (the "ODS" F1 of edge detection).
        "edges_f1_best": max((f1(e_soft >= t, e_t), t) for t in EDGE_THRESHOLDS),
        "edges_precision": float((e_p & e_t).sum()) / max(1.0, float(e_p.sum())),
        "edges_recall": float((e_p & e_t).sum()) / max(1.0, float(e_t.sum())),
        "edges_f1_all": 2 * density / (1 + density),
        "edge_density": density,
        "grid": grid,
    }


def seg_study(model_file: Path, photos: list[tuple[str, Any]], size: int) -> dict[str, Any]:
    """Foreground/background agreement of a segmentation-guided model's predicted
    segmentation with the stand-in's masks, made for the test photos by the stand-in's
    own method (GrabCut seeded by saliency, at its 192 px short side, void border
    ignored); with the all-background prediction for reference."""
    import cv2
    import numpy as np
    import torch

    from tinct.color import rgb_to_lab
    from tinct.data.voc import VOID
    from tinct.data.voc_standin import salient_object_mask
    from tinct.eval.truth import prepare_truth
    from tinct.models import SegGuidedColouriser, load_model

    model = load_model(model_file)
    assert isinstance(model, SegGuidedColouriser)
    hits = labelled = fg_true = fg_pred = inter = 0
    masks: list[tuple[Any, Any]] = []
    for _, rgb in photos:
        big = prepare_truth(rgb, 192).permute(1, 2, 0).numpy()
        mask, _ = salient_object_mask(big)
        mask = cv2.resize(mask, (size, size), interpolation=cv2.INTER_NEAREST)
        small = cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)
        rgb_t = torch.from_numpy(small).permute(2, 0, 1).float().div(255.0)[None]
        with torch.inference_mode():
            seg = model.segment(model(rgb_to_lab(rgb_t)[:, :1]))[0].numpy()
        valid = mask != VOID
        hits += int((seg[valid] == mask[valid]).sum())
        labelled += int(valid.sum())
        fg_t, fg_p = (mask == 1) & valid, (seg == 1) & valid
        fg_true += int(fg_t.sum())
        fg_pred += int(fg_p.sum())
        inter += int((fg_t & fg_p).sum())
        if len(masks) < GRID:
            masks.append((seg.astype(np.uint8), mask))
    union = fg_true + fg_pred - inter
    return {
        "accuracy": hits / max(1, labelled),
        "accuracy_background": 1.0 - fg_true / max(1, labelled),
        "foreground_iou": inter / max(1, union),
        "foreground_share_true": fg_true / max(1, labelled),
        "foreground_share_pred": fg_pred / max(1, labelled),
        "masks": masks,
    }


def _maps_figure(aux: dict[str, Any], seg: dict[str, Any], path: Path) -> None:
    """Rows: test photos; columns: grey input, the multi-path GAN's colourisation, the
    truth, its predicted saliency and edges next to the true ones, and the shared-decoder
    model's predicted segmentation next to the stand-in's mask."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    columns = ["grey input", "multi-path GAN", "truth", "saliency: predicted", "saliency: true",
               "edges: predicted", "edges: true", "segmentation: predicted",
               "stand-in mask"]  # fmt: skip
    rows = aux["grid"]
    fig, axes = plt.subplots(len(rows), len(columns), figsize=(1.6 * len(columns), 1.6 * len(rows)))
    for r, (cell, (predicted, mask)) in enumerate(zip(rows, seg["masks"], strict=False)):
        truth = cell["truth"].permute(1, 2, 0).numpy()
        grey = truth.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        mask_shown = np.where(mask == 255, 0.5, mask.astype(np.float32))
        images = [grey, cell["colour"].permute(1, 2, 0).numpy(), truth, *cell["sal"],
                  *cell["edges"], predicted, mask_shown]  # fmt: skip
        for c, image in enumerate(images):
            ax = axes[r, c]
            ax.imshow(image, cmap=None if image.ndim == 3 else "gray", vmin=0,
                      vmax=255 if c == 0 else 1)  # fmt: skip
            ax.set_xticks([]), ax.set_yticks([])
            if r == 0:
                ax.set_title(columns[c], fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _curves_figure(runs: Path, names: list[str], path: Path) -> None:
    """The training losses every run logged (``train/*loss*``), one panel per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tinct.train.callbacks import read_metrics

    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.2))
    for ax, name in zip(axes.flat, names, strict=True):
        metrics = read_metrics(_run_dir(runs, name) / "logs" / "version_0" / "metrics.csv")
        last = _run_info(runs, name)["steps"]
        for key in sorted(k for k in metrics if k.startswith("train/") and "loss" in k):
            points = [(s, v) for s, v in metrics[key] if s <= last and v > 0]
            if points:
                steps, values = zip(*points, strict=True)
                ax.plot(steps, values, label=key.removeprefix("train/"), lw=1)
        ax.set_yscale("log")
        ax.set_title(MODELS[name][0], fontsize=9)
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def page(args: argparse.Namespace, names: list[str]) -> None:
    """Evaluates the finished runs and writes ``guided.md`` (see the module)."""
    command = "python benchmarks/guided_results.py " + " ".join(sys.argv[1:])
    detail = args.out / "guided"
    sources = ["default", *(str(_run(args.runs, n)) for n in names)]
    labels = ["default", *names]
    summaries = {}
    for size in SIZES:
        summaries[size] = _evaluate(
            sources, labels, detail / f"eval-{size}px", corpus=args.corpus, size=size,
            command=command, title=f"Guided colourisation: corpus test split at {size} px",
        )  # fmt: skip
    photos = _test_photos(args.corpus)
    size = _run_info(args.runs, "multipath-gan")["size"]
    aux = aux_study(_run(args.runs, "multipath-gan"), photos, size)
    segs = {n: seg_study(_run(args.runs, n), photos, size) for n in names if MODELS[n][2]}
    _maps_figure(aux, segs["seg-shared"], detail / "maps.png")
    _curves_figure(args.runs, names, detail / "curves.png")
    lines = _markdown(args, command, names, summaries, aux, segs)
    tmp = args.out / "guided.md.tmp"
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(args.out / "guided.md")
    studies = {
        "aux": {k: v for k, v in aux.items() if k != "grid"},
        "seg": {n: {k: v for k, v in s.items() if k != "masks"} for n, s in segs.items()},
    }
    (detail / "summary.json").write_text(
        json.dumps({"eval": {str(k): v for k, v in summaries.items()}, **studies}, indent=1)
    )
    print(f"wrote {args.out / 'guided.md'}")


#: Published numbers: (PSNR, SSIM, on what), seed 003 section 7.1 and seed 004 table 5.
SEED_NUMBERS = {
    "multipath-gan": "PSNR 18.98 (Flickr30k test set)",
    "seg-shared": "PSNR 24.20, SSIM 1.11 (Pascal VOC test, 256 px)",
}


def _verdict(summary: dict[str, Any], names: list[str]) -> str:
    """Which trained models beat the greyscale input on CIEDE2000 and on PSNR."""
    grey = summary["greyscale"]
    better = [MODELS[n][0] for n in names if summary[n]["ciede2000"] < grey["ciede2000"]]
    if not better:
        text = (
            f"**no trained guided model beats the greyscale input** on CIEDE2000 "
            f"({grey['ciede2000']:.2f})"
        )
    elif len(better) == len(names):
        text = (
            f"every trained model beats the greyscale input on CIEDE2000 ({grey['ciede2000']:.2f})"
        )
    else:
        text = (
            f"{'; '.join(better)} beat{'s' if len(better) == 1 else ''} the greyscale input on "
            f"CIEDE2000 ({grey['ciede2000']:.2f}); **the others are worse than greyscale**"
        )
    psnr_worse = [MODELS[n][0] for n in names if summary[n]["psnr"] < grey["psnr"]]
    if len(psnr_worse) == len(names):
        text += f"; every one is also below it on PSNR ({grey['psnr']:.2f} dB)"
    elif psnr_worse:
        text += (
            f"; on PSNR ({grey['psnr']:.2f} dB for greyscale) "
            f"{'; '.join(psnr_worse)} {'is' if len(psnr_worse) == 1 else 'are'} below it"
        )
    default = summary["default"]["ciede2000"]
    beat_default = [MODELS[n][0] for n in names if summary[n]["ciede2000"] < default]
    text += (
        f"; the unguided default model ({default:.2f}) is beaten by {'; '.join(beat_default)}"
        if beat_default
        else f"; none beats the unguided default model ({default:.2f})"
    )
    return text


def _budget(runs: Path, names: list[str]) -> str:
    infos = [_run_info(runs, n) for n in names]
    cpu = [i["cpu_seconds"] / 60 for i in infos]
    return (
        f"{min(cpu):.1f}-{max(cpu):.1f} CPU-minutes per model "
        f"({min(i['seconds'] for i in infos) / 60:.1f}-"
        f"{max(i['seconds'] for i in infos) / 60:.1f} wall-clock minutes), "
        f"{min(i['images'] for i in infos):,}-{max(i['images'] for i in infos):,} crops seen"
    )


def _quality_table(
    runs: Path, summary: dict[str, Any], names: list[str], budget: bool
) -> list[str]:
    head = "| model | PSNR ↑ | SSIM ↑ | ΔE00 ↓ | colourfulness | bleeding ↓ |"
    rule = "|---|---|---|---|---|---|"
    if budget:
        head += " steps x batch | crops seen | CPU-min | seed's number |"
        rule += "---|---|---|---|"
    lines = [head, rule]
    rows = [("greyscale", "greyscale"), ("mean-chroma", "mean-chroma"),
            ("default", "default (unguided, bundled)")]  # fmt: skip
    rows += [(n, MODELS[n][0]) for n in names]
    for key, label in rows:
        s = summary[key]
        line = (
            f"| {label} | {s['psnr']:.2f} | {s['ssim']:.4f} | {s['ciede2000']:.2f} | "
            f"{s['colourfulness']:.1f} | {s['bleeding']:.2f} |"
        )
        if budget:
            if key in MODELS:
                i = _run_info(runs, key)
                line += (
                    f" {i['steps']:,} x {i['batch']} | {i['images']:,} | "
                    f"{i['cpu_seconds'] / 60:.1f} | {SEED_NUMBERS.get(key, '–')} |"
                )
            else:
                line += " – | – | – | – |"
        lines.append(line)
    return lines


def _aux_reading(aux: dict[str, Any]) -> str:
    """What the map table says, in words."""
    sal = (
        "The saliency channel has learnt the map: closer than the constant predictor, "
        f"correlation {aux['saliency_pearson']:.2f}."
        if aux["saliency_mae"] < aux["saliency_mae_constant"]
        else "The saliency channel is no closer to the true map than a constant one."
    )
    best, threshold = aux["edges_f1_best"]
    if best <= aux["edges_f1_all"]:
        edges = (
            "**The edge channel has not learnt the edges at this budget**: even at its "
            "best threshold its F1 is below marking every pixel an edge; the map is trained "
            "only through the edge-weighted L1 term, at the seed's weight of 0.05."
        )
    elif aux["edges_f1"] <= aux["edges_f1_all"]:
        edges = (
            "The edge channel is soft (few pixels reach 0.5), but at its best threshold "
            f"({threshold:.2f}) it finds the edges better than marking every pixel one "
            f"(F1 {best:.3f} vs. {aux['edges_f1_all']:.3f})."
        )
    else:
        edges = "The edge channel beats marking every pixel an edge."
    return f"{sal} {edges}"


def _markdown(
    args: argparse.Namespace, command: str, names: list[str], summaries: dict[int, Any],
    aux: dict[str, Any], segs: dict[str, dict[str, Any]],
) -> list[str]:  # fmt: skip
    runs = args.runs
    small, large = SIZES
    s64 = summaries[small]
    truth = json.loads((args.out / "guided" / f"eval-{small}px" / "results.json").read_text())
    seen = max(_run_info(runs, n)["images"] for n in names)
    fewest = min(names, key=lambda n: _run_info(runs, n)["images"])
    lines = [
        "# Guided colourisation: seed 003's multi-path GAN and seed 004's "
        "segmentation-guided decoders",
        "",
        f"**A small CPU run, not a reproduction.** On the corpus test photos at {small} px: "
        f"{_verdict(s64, names)}. Every model here saw at most {seen:,} crops, where seed "
        "003 trained on 15,000 Flickr30k images for 100 epochs (1.5 M images) and seed 004 "
        "on 1,464 Pascal VOC images for 48 epochs; at this budget the numbers say whether "
        "the code trains and what it learns first, not how good the methods are.",
        "",
        '"Seed 00N" names tinct\'s five source documents (the README\'s "Train your own" '
        "says what each is): seed 003 is a report on an edge- and saliency-map guided "
        "multi-path GAN for colourisation (Jerripothula and Agarwal, IIIT Delhi, 2021), "
        "seed 004 a master's thesis from BBC R&D whose section 4.3 adds segmentation to a "
        "U-Net colouriser.",
        "",
        f"Command: `{command}` (builds the VOC-format stand-in if missing, trains each "
        "`configs/guided/<name>.yaml` with `tinct train` unless its run exists, then "
        "evaluates; the configs hold the budget).",
        "",
        "**Budget.** Every model trained for the same CPU time, `trainer.max_cpu_minutes` "
        f"= {_run_info(runs, names[0])['cpu_budget']} (user + system time of the training "
        "process, 2 threads, data loading included), one job at a time on the 2-core "
        f"machine: {_budget(runs, names)}. Equal CPU time, not equal steps: a model that "
        "costs more per step takes fewer of them (fewest crops seen: "
        f"{MODELS[fewest][0]}). The three colour models of seed 003 trained on random crops of "
        "the corpus's train photos; the two segmentation-guided models on the **VOC-format "
        "stand-in** (the same photos with foreground/background masks from GrabCut seeded "
        "by spectral-residual saliency, `tinct data build-voc-standin`; not Pascal VOC and "
        "not human labels). All are evaluated on the corpus's "
        f"{len(truth['images'])} test photos, which none "
        "of them saw, with `tinct evaluate` (the user-facing pipeline: the predicted chroma "
        "is recombined with the photo's own lightness), next to the greyscale input, the "
        "mean-chroma baseline (one constant colour, the test photos' own mean ab) and the "
        "unguided default model, all measured in the same run.",
        "",
        f"## Colour quality at {small} px (the models' training size, seed 003's)",
        "",
        *_quality_table(runs, s64, names, budget=True),
        "",
        f"Ground-truth colourfulness {truth['truth_colourfulness_mean']:.1f}. Bleeding: chroma "
        "contrast lost across the truth's strong lightness edges, in ab units "
        "(`tinct.eval.colour_bleeding`, defined in docs/evaluation.md; 0 for the truth). "
        "A model that adds little colour also bleeds little: read it next to "
        "colourfulness. The seeds' numbers were measured on other data at other sizes and "
        "budgets; they are there for scale, not for comparison"
        + (
            f" (seed 003's 18.98 dB is below what the greyscale input scores here, "
            f"{s64['greyscale']['psnr']:.2f} dB)"
            if s64["greyscale"]["psnr"] > 18.98
            else ""
        )
        + f". Full report: [eval-{small}px](guided/eval-{small}px/results.md).",
        "",
        f"## Colour quality at {large} px",
        "",
        "The same models through the pipeline on the test photos at "
        f"{large}x{large}: each model sees its own input size (64 px for the guided "
        "models, 128 px for baseline 1, 256 px for the default) and its chroma is "
        "up-sampled to the photo's lightness.",
        "",
        *_quality_table(runs, summaries[large], names, budget=False),
        "",
        f"Full report: [eval-{large}px](guided/eval-{large}px/results.md).",
        "",
        "## The multi-path GAN's saliency and edge channels",
        "",
        "Seed 003's generator predicts, besides RGB, the saliency map and the Canny edges "
        "of its input; its weighted losses use the true maps. How close the predicted "
        f"maps come to the true ones on the {aux['images']} test photos at {small} px "
        "(`tinct colourise --save-aux` writes them):",
        "",
        "| map | measure | multi-path GAN | trivial predictor |",
        "|---|---|---|---|",
        f"| saliency | mean absolute error ↓ | {aux['saliency_mae']:.3f} | "
        f"{aux['saliency_mae_constant']:.3f} (the set's mean saliency everywhere) |",
        f"| saliency | Pearson r per image ↑ | {aux['saliency_pearson']:.3f} | – (constant) |",
        f"| edges | F1 at the best threshold for the set ↑ | {aux['edges_f1_best'][0]:.3f} "
        f"(threshold {aux['edges_f1_best'][1]:.2f}) | {aux['edges_f1_all']:.3f} (every pixel "
        "an edge) |",
        f"| edges | F1 at 0.5 ↑ | {aux['edges_f1']:.3f} (precision "
        f"{aux['edges_precision']:.3f}, recall {aux['edges_recall']:.3f}) | "
        f"{aux['edges_f1_all']:.3f} (every pixel an edge; {100 * aux['edge_density']:.1f} % "
        "are) |",
        "",
        _aux_reading(aux),
        "",
        "Both true maps are computed from the grey image alone (spectral-residual "
        "saliency, median-rule Canny), so predicting them is not extra information: it "
        "makes the network's features carry where objects and outlines are, which is what "
        "the saliency- and edge-weighted L1 terms then use.",
        "",
        "## The segmentation-guided models' segmentation",
        "",
        "Foreground/background agreement of each model's predicted segmentation (the map "
        "that picks its chroma pair per pixel) with masks made for the test photos by the "
        "stand-in's own method, void border ignored:",
        "",
        "| model | pixel accuracy ↑ | foreground IoU ↑ | foreground share: predicted / stand-in |",
        "|---|---|---|---|",
    ]
    first = next(iter(segs.values()))
    lines.append(
        f"| all background (reference) | {first['accuracy_background']:.3f} | 0.000 | "
        f"0 % / {100 * first['foreground_share_true']:.0f} % |"
    )
    for name, seg in segs.items():
        lines.append(
            f"| {MODELS[name][0]} | {seg['accuracy']:.3f} | {seg['foreground_iou']:.3f} | "
            f"{100 * seg['foreground_share_pred']:.0f} % / "
            f"{100 * seg['foreground_share_true']:.0f} % |"
        )
    seg_sep = _run_info(runs, "seg-separate")
    lines += [
        "",
        "Shared decoder: one U-Net whose last layer gives a chroma pair per class and the "
        "class logits; the L1 loss compares, for each class present in the image, that "
        "class's chroma inside its mask (seed 004 section 5.2.2's suggested fix; "
        "`segmentation.all_classes: true` gives the all-classes loss the seed trained). "
        "Separate decoders: a segmentation decoder trained first "
        "(`segmentation.pretrain_steps`, here included in the budget), then both "
        f"decoders with both losses; it ran {seg_sep['steps']:,} steps in all.",
        "",
        "## Samples",
        "",
        "Rows: test photos. Columns: the grey input, the multi-path GAN's colourisation, "
        "the truth, its predicted saliency and edges next to the true maps, and the "
        "shared-decoder model's predicted segmentation next to the stand-in's mask (grey: "
        "void border).",
        "",
        "![maps](guided/maps.png)",
        "",
        "Colourisations of every model: [at 64 px](guided/eval-64px/samples.jpg), "
        f"[at {large} px](guided/eval-{large}px/samples.jpg).",
        "",
        "Training losses of every run:",
        "",
        "![curves](guided/curves.png)",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    parser.add_argument("--corpus", default="corpus", help="the photo corpus (data root)")
    parser.add_argument(
        "--voc", type=Path, default=Path("voc-standin"),
        help="the VOC-format stand-in (built from --corpus if missing)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("docs/results"))
    parser.add_argument(
        "--cpu-minutes", type=float, default=None,
        help="training budget of every model (default: the configs', 20)",
    )  # fmt: skip
    parser.add_argument("--stage", choices=["all", "voc", "train", "page"], default="all")
    args = parser.parse_args()
    names = list(MODELS)
    if args.stage in ("all", "voc", "train"):
        build_voc(args.corpus, args.voc)
    if args.stage in ("all", "train"):
        train(args.runs, args.corpus, args.voc, names, args.cpu_minutes)
    if args.stage in ("voc", "train"):
        return
    page(args, names)


if __name__ == "__main__":
    main()
