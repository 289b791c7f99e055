"""Seed 001's evaluation (chapter 5) at this machine's scale -> ``docs/results/seed001.md``.

1. **Shape Set** (section 5.2): the YUV CNN and the CVAE trained on Shape Set (32x32,
   written in CIFAR-10 format); on the 500 test images, per shape class, whether the
   pixels inside the shape masks get the shape's hue (:func:`tinct.eval.shapes.
   shape_colour_assignment`), next to the ground truth and the greyscale and
   mean-chroma baselines.
2. **Per-class training** (section 5.3): every ``--models`` config trained on each of
   ``--classes`` of the labelled photo corpus in CIFAR-10 format (the offline stand-in
   for CIFAR-10 classes); RMSE of ab (CIE Lab) and colourfulness of the outputs on that
   class's test crops, and sample grids.
3. **Training time** (table 5.1): the per-class runs of the first class, side by side
   (the CNN, the CGAN and the CVAE by default), with the MSE of normalised UV of their
   colourisations next to the baselines'.
4. **Diversity vs. reconstruction weight W** (section 5.4.3, figure 5.6): ``cvae`` (and
   ``cvae-conv``) trained on the first class with several W; ``--samples`` samples of
   each test crop; mean pairwise ab distance per pixel and the spread of colourfulness
   (:mod:`tinct.eval.diversity`), and the ab RMSE of the samples.

Every quality table has the greyscale baseline (Y with U = V = 0) and, where it scores
colourisations, the mean-chroma one (``tinct evaluate``'s: CIE L* with the mean a*b* of
the evaluated truth, an oracle); the text says which trained models beat them. Every
run uses one CPU thread; runs go to ``--work`` and are reused when the script is run
again with the same settings.

Usage: python benchmarks/seed001_eval.py [--out docs/results] [--work runs/seed001]
           [--models configs/yuv-cnn.yaml,configs/gan/cgan-yuv.yaml,configs/cvae.yaml]
           [--classes monuments,fishes]
           [--weights 10,100,1000,10000,100000] [--epochs 20] [--shape-steps 600] [--samples 8]
           [--only shapes,classes,diversity]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from PIL import Image
from seed001_common import (
    Run,
    beating,
    build_corpus_cifar,
    build_shapes_cifar,
    fmt_seconds,
    greyscale_rgb,
    last,
    mean_chroma_rgb,
    names_or_none,
    run_config,
    uv_mse,
)

from tinct.color import lightness_chroma_to_rgb, rgb_to_lab, rgb_to_lightness_chroma
from tinct.data.cifar import CIFAR10
from tinct.data.sample import collate_samples
from tinct.data.shapes import SHAPES, render_shapes
from tinct.eval import (
    colourfulness,
    mean_diversity,
    rmse_ab,
    sample_diversity,
    shape_colour_assignment,
)
from tinct.models import Colouriser, load_model
from tinct.train import resolve_config

CNN, CGAN, CVAE, CVAE_CONV = (
    Path("configs/yuv-cnn.yaml"),
    Path("configs/gan/cgan-yuv.yaml"),
    Path("configs/cvae.yaml"),
    Path("configs/cvae-conv.yaml"),
)
BASELINES = ("greyscale", "mean-chroma")
ONE_THREAD = ["trainer.threads=1", "data.num_workers=0"]


def slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def model_label(config: Path) -> str:
    return config.stem


# ---------------------------------------------------------------- predictions


@torch.inference_mode()
def colourise_batch(
    model: Colouriser, rgb: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """RGB ``(B, 3, h, w)`` in [0, 1] -> the model's colourisation from its lightness."""
    lightness, _ = rgb_to_lightness_chroma(rgb, model.space)
    if generator is not None and model.supports_sampling:
        output = model.sample(lightness, generator=generator)
    else:
        output = model(lightness)
    chroma = model.decode(output)
    return lightness_chroma_to_rgb(lightness, chroma, model.space).clamp(0, 1)


def to_uint8(rgb: torch.Tensor) -> np.ndarray:
    return (rgb.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(1, 2, 0).numpy()


def grid_png(rows: list[list[torch.Tensor]], path: Path, scale: int = 4) -> None:
    """Rows of ``(3, h, w)`` images -> one PNG, each image enlarged ``scale`` times
    (nearest neighbour: the 32x32 pixels stay visible) with a 2-pixel white gap."""
    tiles = []
    for row in rows:
        cells = []
        for image in row:
            big = np.kron(to_uint8(image), np.ones((scale, scale, 1), dtype=np.uint8))
            cells += [big, np.full((big.shape[0], 2, 3), 255, np.uint8)]
        line = np.concatenate(cells[:-1], axis=1)
        tiles += [line, np.full((2, line.shape[1], 3), 255, np.uint8)]
    Image.fromarray(np.concatenate(tiles[:-1], axis=0)).save(path)


def fmt(value: float, digits: int = 3) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


# ---------------------------------------------------------------- 1. Shape Set


def shapes_section(args: argparse.Namespace, report: dict[str, Any]) -> list[str]:
    root = build_shapes_cifar(args.work)
    overrides = [
        f"data.root={root}",
        "data.classes=null",
        "data.max_val_images=500",
        f"trainer.max_steps={args.shape_steps}",
        f"trainer.val_every_steps={max(1, args.shape_steps // 6)}",
        f"trainer.checkpoint_every_steps={args.shape_steps}",
        *ONE_THREAD,
    ]
    runs = {
        "yuv-cnn": run_config(
            CNN, [*overrides, "trainer.batch_size=64", "name=shapes-yuv-cnn"],
            args.work / "shapes" / "yuv-cnn",
        ),
        "cvae": run_config(
            CVAE, [*overrides, "name=shapes-cvae"], args.work / "shapes" / "cvae"
        ),
    }  # fmt: skip
    items = [render_shapes((2, i), 32) for i in range(500)]  # the test split (seed 2)
    rgb = torch.from_numpy(np.stack([r for r, _, _ in items])).permute(0, 3, 1, 2).float() / 255
    masks = torch.from_numpy(np.stack([m for _, m, _ in items])).long()
    predictions = {
        "ground truth": rgb,
        "greyscale": greyscale_rgb(rgb),
        "mean-chroma": mean_chroma_rgb(rgb),
    }
    generator = torch.Generator().manual_seed(0)
    for name, run in runs.items():
        predictions[name] = colourise_batch(load_model(run.model), rgb, generator)
    table = [
        "| model | shape | true hue | mean hue (sat.-weighted) | hue error | coloured "
        "| assigned to own hue | confusion circle / square / triangle | mean saturation |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    report["shapes"] = {}
    assigned: dict[str, float] = {}
    for name, pred in predictions.items():
        stats = shape_colour_assignment(pred, masks)
        report["shapes"][name] = [s.as_dict() for s in stats]
        # Pixels of all three shapes that got their own shape's hue (uncoloured ones count
        # as wrong): the one number the reading compares.
        assigned[name] = sum(
            (s.coloured if math.isfinite(s.coloured) else 0.0)
            * (s.assigned if math.isfinite(s.assigned) else 0.0)
            for s in stats
        ) / len(stats)
        for s in stats:
            conf = " / ".join(fmt(s.confusion[k], 2) for k in SHAPES)
            table.append(
                f"| {name} | {s.shape} | {s.true_hue:.0f} | {fmt(s.mean_hue, 0)} "
                f"| {fmt(s.hue_error, 0)} | {fmt(s.coloured, 2)} | {fmt(s.assigned, 2)} "
                f"| {conf} | {fmt(s.mean_saturation, 2)} |"
            )
    grey = predictions["greyscale"]
    rows = [[grey[i], predictions["yuv-cnn"][i], predictions["cvae"][i], rgb[i]] for i in range(8)]
    grid_png(rows, args.out / "seed001_shapes.png")
    steps = {n: r.steps for n, r in runs.items()}
    models = {n: assigned[n] for n in runs}
    beats_mean = beating({n: -v for n, v in models.items()}, -assigned["mean-chroma"])
    reading = (
        "Share of shape pixels coloured with their own shape's hue (coloured x assigned, "
        "averaged over the three shapes): "
        + ", ".join(f"{n} {v:.2f}" for n, v in assigned.items())
        + f". Greyscale colours nothing (0.00); mean-chroma gives every shape the same hue. "
        f"Better than mean-chroma: {names_or_none(beats_mean)}."
    )
    report["shapes_own_hue_share"] = assigned
    return [
        "## 1. Shape Set: does the network learn shape -> colour? (seed section 5.2)",
        "",
        f"Trained on the 5,000 Shape Set training images at 32x32 (CIFAR-10 format, "
        f"`build_shapes_cifar`): `yuv-cnn` (configs/yuv-cnn.yaml: dropout 0.2, flip/shift/"
        f"rotation, Adam 1e-3, batch 64) for {steps['yuv-cnn']} steps, `cvae` "
        f"(configs/cvae.yaml, W = 1000, batch 32) for {steps['cvae']} steps. Measured on "
        "the 500 test images (split seed 2) inside each shape's mask: the circles should "
        "be blue (240 degrees), squares red (0) and triangles green (120). *coloured*: "
        "fraction of the shape's pixels with HSV saturation >= 0.15; *assigned to own "
        "hue*: of those, the fraction whose hue is nearest the shape's own of the three "
        "(chance 0.33); the confusion row gives all three fractions. The CVAE row is one "
        "sample per image (seed 0). Baselines: *greyscale* (Y with U = V = 0: no pixel is "
        "coloured, so no hue) and *mean-chroma* (CIE L* with the mean a*b* of the 500 test "
        "images everywhere: one hue for every shape, an oracle).",
        "",
        *table,
        "",
        reading,
        "",
        "![Shape Set: grey input | yuv-cnn | cvae | truth](seed001_shapes.png)",
        "",
        "Rows: grey input | yuv-cnn | cvae (one sample) | ground truth.",
        "",
    ]


# ---------------------------------------------------------------- 2./3. per class


def class_overrides(root: Path, cls: str, n_train: int, batch: int, epochs: int) -> list[str]:
    spe = max(1, n_train // batch)
    return [
        "data.kind=dataset",
        "data.name=cifar10",  # the CGAN's config reads Shape Set
        f"data.root={root}",
        f"data.classes=[{cls}]",
        "data.max_val_images=400",
        f"trainer.batch_size={batch}",
        f"trainer.max_steps={spe * epochs}",
        f"trainer.val_every_steps={spe}",
        f"trainer.checkpoint_every_steps={spe * epochs}",
        f"trainer.log_every_steps={max(1, spe // 2)}",
        *ONE_THREAD,
    ]


def config_batch(config: Path) -> int:
    return int(resolve_config(config)["trainer"]["batch_size"])


def class_runs(
    args: argparse.Namespace, root: Path, cls: str, configs: list[Path]
) -> dict[str, Run]:
    n_train = len(CIFAR10(root, "train", classes=[cls], progress=False))
    runs = {}
    for config in configs:
        # The seed's batches (512, 512, 32) at CPU scale: at most 64 so a class gets >= 10
        # steps per epoch.
        batch = min(64, config_batch(config))
        name = model_label(config)
        print(f"[classes] {name} on {cls}", file=sys.stderr, flush=True)
        runs[name] = run_config(
            config,
            [*class_overrides(root, cls, n_train, batch, args.epochs), f"name={name}-{cls}"],
            args.work / "classes" / cls / name,
        )
    return runs


def test_rgb(root: Path, cls: str) -> torch.Tensor:
    dataset = CIFAR10(root, "test", classes=[cls], space="yuv", progress=False)
    batch = collate_samples([dataset[i] for i in range(len(dataset))])
    return batch.rgb


def classes_section(
    args: argparse.Namespace, report: dict[str, Any], configs: list[Path]
) -> tuple[list[str], dict[str, Run]]:
    root = build_corpus_cifar(args.work, args.corpus)
    quality = [
        "| class | model | train images | steps | training time | ab RMSE (Lab) "
        "| MSE of normalised UV | colourfulness / truth |",
        "|---|---|---|---|---|---|---|---|",
    ]
    first_runs: dict[str, Run] = {}
    report["classes"] = {}
    images = []
    reading = []
    for cls in args.classes:
        runs = class_runs(args, root, cls, configs)
        if not first_runs:
            first_runs = runs
        rgb = test_rgb(root, cls)
        n_train = len(CIFAR10(root, "train", classes=[cls], progress=False))
        lab_truth = rgb_to_lab(rgb)
        m_truth = float(colourfulness(rgb).mean())
        outputs = {"greyscale": greyscale_rgb(rgb), "mean-chroma": mean_chroma_rgb(rgb)}
        generator = torch.Generator().manual_seed(0)
        for name, run in runs.items():
            outputs[name] = colourise_batch(load_model(run.model), rgb, generator)
        report["classes"][cls] = {}
        for name, out in outputs.items():
            rmse = float(rmse_ab(rgb_to_lab(out), lab_truth).mean())
            mse = uv_mse(out, rgb)
            ratio = float(colourfulness(out).mean()) / m_truth
            trained = runs.get(name)
            report["classes"][cls][name] = {
                "rmse_ab": rmse, "uv_mse": mse, "colourfulness_ratio": ratio,
            }  # fmt: skip
            quality.append(
                f"| {cls} | {name} | {n_train if trained else ''} "
                f"| {trained.steps if trained else ''} "
                f"| {fmt_seconds(trained.train_seconds) if trained else ''} | {rmse:.2f} "
                f"| {mse:.4f} | {ratio:.2f} |"
            )
        scores = {n: report["classes"][cls][n]["rmse_ab"] for n in runs}
        base = report["classes"][cls]
        reading.append(
            f"- {cls}: better than greyscale on ab RMSE ({base['greyscale']['rmse_ab']:.2f}): "
            f"{names_or_none(beating(scores, base['greyscale']['rmse_ab']))}; better than "
            f"mean-chroma ({base['mean-chroma']['rmse_ab']:.2f}): "
            f"{names_or_none(beating(scores, base['mean-chroma']['rmse_ab']))}."
        )
        shown = [k for k in outputs if k != "mean-chroma"]
        picks = torch.linspace(0, len(rgb) - 1, 8).round().long().tolist()
        rows = [[outputs[k][i] for k in shown] + [rgb[i]] for i in picks]
        png = f"seed001_class_{slug(cls)}.png"
        grid_png(rows, args.out / png)
        images.append((cls, png, " | ".join([*shown, "truth"])))
    lines = [
        "## 2. Per-class training (seed section 5.3)",
        "",
        "The seed trains every model on one CIFAR-10 class at a time. Offline stand-in: "
        "the labelled photo corpus (10 source categories) cut into 16 random 32x32 crops "
        "per photo and written in CIFAR-10 format (`build_corpus_cifar`, read by "
        "`tinct.data.CIFAR10` with `data.classes`); with internet, "
        "`data.root` pointing at real CIFAR-10 and `data.classes=[horse]` runs the same "
        f"configs. Each model: {args.epochs} epochs of its class's training crops, batch "
        "min(config, 64), its config's optimiser (Adam 1e-3; the CGAN Adam 2e-4, beta1 0.5, "
        "adversarial loss only), one CPU thread. Scored on the class's test crops (test "
        "photos): RMSE of ab in CIE Lab, MSE of normalised UV (U/0.436, V/0.615, what the "
        "CNN and the CVAE are trained on), and mean colourfulness (Hasler & Süsstrunk) "
        "over the ground truth's; the CVAE is one sample per image. Baselines: "
        "*greyscale* (Y with U = V = 0) and *mean-chroma* (CIE L* with the mean a*b* of the "
        "class's test crops everywhere, an oracle).",
        "",
        *quality,
        "",
        "Which trained models beat the baselines (lower ab RMSE):",
        "",
        *reading,
        "",
    ]
    for cls, png, header in images:
        lines += [f"![{cls}]({png})", "", f"{cls}, columns: {header}.", ""]
    return lines, first_runs


CURVE_KEYS = (
    ("train/loss", "--"),
    ("train/g_loss", "--"),
    ("train/d_loss", ":"),
    ("val/loss", "o-"),
)


def timing_section(
    args: argparse.Namespace, report: dict[str, Any], runs: dict[str, Run]
) -> list[str]:
    cls = args.classes[0]
    scores = report["classes"][cls]
    table = [
        "| model | epochs | steps | batch | training time | s per epoch | MSE of normalised "
        "UV (test crops) |",
        "|---|---|---|---|---|---|---|",
        *(f"| {name} | | | | | | {scores[name]['uv_mse']:.4f} |" for name in BASELINES),
    ]
    for name, run in runs.items():
        trainer = run.config["trainer"]
        table.append(
            f"| {name} | {args.epochs} | {run.steps} | {trainer['batch_size']} "
            f"| {fmt_seconds(run.train_seconds)} | {run.train_seconds / args.epochs:.1f} "
            f"| {scores[name]['uv_mse']:.4f} |"
        )
    fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs), 3.4))
    for ax, (name, run) in zip(np.atleast_1d(axes), runs.items(), strict=True):
        for key, style in CURVE_KEYS:
            series = run.metrics.get(key, [])
            if series:
                ax.plot(*zip(*series, strict=True), style, label=key, markersize=3)
        ax.set_title(name)
        ax.set_xlabel("step")
        ax.set_yscale("log")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out / "seed001_curves.png", dpi=100)
    plt.close(fig)
    mse = {n: scores[n]["uv_mse"] for n in runs}
    times = sorted(runs.items(), key=lambda item: item[1].train_seconds)
    order = " < ".join(f"{n} ({fmt_seconds(r.train_seconds)})" for n, r in times)
    return [
        f"## 3. Training time (seed table 5.1) on the `{cls}` class",
        "",
        "The per-class runs above, same epochs for every model (the seed trained each to "
        "its own stopping point: CNN 9 min 41 s, CGAN 29 min 54 s, CVAE 2 min 45 s on "
        "CIFAR-10 horses on a Colab GPU). Training time is Lightning's fit loop including "
        "one validation per epoch, one CPU thread on a 2-core machine shared with another "
        "run. The losses differ (the CNN's MSE, the CGAN's adversarial BCE with its "
        "discriminator's step, the CVAE's W * MSE + KL), so the last column scores what "
        "each model gives on the class's test crops: the MSE of normalised UV of its "
        "colourisation (the CVAE's: one sample from the conditional encoder), next to the "
        "baselines'.",
        "",
        *table,
        "",
        f"Training time here: {order} (the seed: CVAE < CNN < CGAN). Better than greyscale "
        f"({scores['greyscale']['uv_mse']:.4f}) on this MSE: "
        f"{names_or_none(beating(mse, scores['greyscale']['uv_mse']))}; better than "
        f"mean-chroma ({scores['mean-chroma']['uv_mse']:.4f}): "
        f"{names_or_none(beating(mse, scores['mean-chroma']['uv_mse']))}.",
        "",
        "![learning curves](seed001_curves.png)",
        "",
        "Curves: `train/loss` and `val/loss` (the CNN: MSE; the CVAE: W * MSE + KL); the "
        "CGAN logs `train/g_loss` and `train/d_loss` (BCE) and `val/loss` (L1 of normalised "
        "UV).",
        "",
    ]


# ---------------------------------------------------------------- 4. diversity


def diversity_section(args: argparse.Namespace, report: dict[str, Any]) -> list[str]:
    root = build_corpus_cifar(args.work, args.corpus)
    cls = args.classes[0]
    n_train = len(CIFAR10(root, "train", classes=[cls], progress=False))
    everything = test_rgb(root, cls)
    # Evenly spaced over the test crops: several test photos, not one photo's crops.
    picks = torch.linspace(0, len(everything) - 1, args.diversity_images).round().long()
    rgb = everything[picks.unique()]
    lab_truth = rgb_to_lab(rgb)
    table = [
        "| model | W | val MSE | val KL | pairwise ab distance | colourfulness std "
        "| colourfulness range | ab RMSE of samples |",
        "|---|---|---|---|---|---|---|---|",
    ]
    baseline_rmse = {
        name: float(rmse_ab(rgb_to_lab(out), lab_truth).mean())
        for name, out in (("greyscale", greyscale_rgb(rgb)), ("mean-chroma", mean_chroma_rgb(rgb)))
    }
    for name, value in baseline_rmse.items():
        table.append(f"| {name} | | | | 0.00 | 0.00 | 0.00 | {value:.2f} |")
    report["diversity_baselines"] = baseline_rmse
    report["diversity"] = []
    grid_rows: list[list[torch.Tensor]] = []
    variants = [(CVAE, w) for w in args.weights] + [(CVAE_CONV, w) for w in args.conv_weights]
    for config, weight in variants:
        name = model_label(config)
        print(f"[diversity] {name} W={weight:g}", file=sys.stderr, flush=True)
        batch = min(64, config_batch(config))
        run = run_config(
            config,
            [
                *class_overrides(root, cls, n_train, batch, args.epochs),
                f"loss.reconstruction_weight={weight}",
                f"name={name}-{cls}" if weight == 1000 else f"name={name}-{cls}-w{weight:g}",
            ],
            args.work / "classes" / cls / name
            if weight == 1000
            else args.work / "diversity" / cls / f"{name}-w{weight:g}",
        )
        model = load_model(run.model).eval()
        generator = torch.Generator().manual_seed(0)
        per_image = []
        errors = []
        samples_first = []
        shown = (0, len(rgb) // 2)  # two crops of different test photos for the grid
        for i in range(len(rgb)):
            batch_rgb = rgb[i : i + 1].expand(args.samples, -1, -1, -1)
            out = colourise_batch(model, batch_rgb, generator)
            per_image.append(sample_diversity(out))
            errors.append(
                float(rmse_ab(rgb_to_lab(out), lab_truth[i : i + 1].expand_as(out)).mean())
            )
            if i in shown:
                samples_first.append(out)
        div = mean_diversity(per_image)
        val_mse = last(run.metrics.get("val/mse", []))
        val_kl = last(run.metrics.get("val/kl", []))
        rmse = sum(errors) / len(errors)
        report["diversity"].append(
            {"model": name, "W": weight, "val_mse": val_mse, "val_kl": val_kl,
             "rmse_ab": rmse, **div.as_dict()}
        )  # fmt: skip
        table.append(
            f"| {name} | {weight:g} | {fmt(val_mse, 4)} | {fmt(val_kl, 2)} "
            f"| {div.pairwise_ab:.2f} | {div.colourfulness_std:.2f} "
            f"| {div.colourfulness_range:.2f} | {rmse:.2f} |"
        )
        for out, i in zip(samples_first, shown, strict=True):
            grid_rows.append([greyscale_rgb(rgb[i : i + 1])[0], *out[:6], rgb[i]])
    grid_png(grid_rows, args.out / "seed001_diversity.png")
    kwargs = resolve_config(CVAE)["model"]["kwargs"]
    cvae_note = f"layout {kwargs.get('layout', 'figure')}, latent {kwargs.get('latent_dim')}"
    reading = []
    for name in dict.fromkeys(d["model"] for d in report["diversity"]):
        rows = sorted((d for d in report["diversity"] if d["model"] == name), key=lambda d: d["W"])
        top = max(rows, key=lambda d: d["pairwise_ab"])
        values = [d["pairwise_ab"] for d in rows]
        over = ", ".join(f"{d['W']:g}" for d in rows)
        if all(a >= b for a, b in itertools.pairwise(values)):
            trend = f"falls as W grows over {over}, as the seed reports."
        elif all(a <= b for a, b in itertools.pairwise(values)):
            trend = f"grows with W over {over}, against the seed's observation."
        else:
            trend = f"is not monotonic in W over {over}."
        reading.append(
            f"- `{name}`: most diverse at W = {top['W']:g} (pairwise ab distance "
            f"{top['pairwise_ab']:.2f}); diversity {trend}"
        )
    for name, value in baseline_rmse.items():
        better = [
            f"{d['model']} W = {d['W']:g}" for d in report["diversity"] if d["rmse_ab"] < value
        ]
        reading.append(
            f"- Samples better than {name} on ab RMSE ({value:.2f}): {names_or_none(better)}."
        )
    return [
        "## 4. Diversity vs. reconstruction weight W (seed section 5.4.3, figure 5.6)",
        "",
        f"`cvae` ({cvae_note}) and `cvae-conv` trained on the `{cls}` class as in section 2 "
        f"({args.epochs} epochs) with loss W * MSE + KL for each W. For each of "
        f"{len(rgb)} test crops (evenly spaced over the class's test photos), "
        f"{args.samples} samples drawn from the conditional "
        "encoder (generator seed 0): *pairwise ab distance* is the mean Euclidean "
        "distance in the CIE ab plane between two samples of the same image, per pixel, "
        "over all pairs (0 = all samples identical); the colourfulness std and range are "
        "over the samples of one image; all averaged over the images. *ab RMSE of "
        "samples*: mean over samples of their ab RMSE to the truth. val MSE / KL: last "
        "validation values of the two loss terms (MSE of normalised UV through the "
        "training encoder; KL summed over latent dimensions). Baselines: greyscale and "
        "mean-chroma (as in section 2, on these crops; one output each, so no diversity).",
        "",
        *table,
        "",
        *reading,
        "",
        "![diversity](seed001_diversity.png)",
        "",
        "Rows (the models and W of the table, top down, two test crops each): grey input | "
        "six samples | truth.",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/results"))
    parser.add_argument("--work", type=Path, default=Path("runs/seed001"))
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--models", default=f"{CNN},{CGAN},{CVAE}", help="comma-separated configs")
    parser.add_argument("--classes", default="monuments,fishes")
    parser.add_argument("--weights", default="10,100,1000,10000,100000", help="W values of cvae")
    parser.add_argument("--conv-weights", default="100,1000", help="W values of cvae-conv")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--shape-steps", type=int, default=600)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--diversity-images", type=int, default=32)
    parser.add_argument("--only", default="shapes,classes,diversity")
    args = parser.parse_args(argv)
    configs = [Path(c) for c in args.models.split(",") if c]
    for config in configs:
        if not config.is_file():
            parser.error(f"--models: config file {config} does not exist")
    args.classes = [c for c in args.classes.split(",") if c]
    args.weights = [float(w) for w in args.weights.split(",") if w]
    args.conv_weights = [float(w) for w in args.conv_weights.split(",") if w]
    only = set(args.only.split(","))
    if only - {"shapes", "classes", "diversity"}:
        parser.error(f"--only: unknown parts {sorted(only - {'shapes', 'classes', 'diversity'})}")
    if args.samples < 2:
        parser.error(f"--samples must be >= 2 to measure diversity, got {args.samples}")
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    report: dict[str, Any] = {}
    sections: list[str] = []
    if "shapes" in only:
        sections += shapes_section(args, report)
    if "classes" in only:
        lines, first = classes_section(args, report, configs)
        sections += lines + timing_section(args, report, first)
    if "diversity" in only:
        sections += diversity_section(args, report)
    defaults = parser.parse_args([])
    flags = [
        f"--{key.replace('_', '-')} {value}"
        for key, value in vars(parser.parse_args(argv)).items()
        if key not in ("out", "work", "corpus") and value != getattr(defaults, key)
    ]
    command = " ".join(["python benchmarks/seed001_eval.py", *flags])
    header = [
        "# Seed 001's evaluation at CPU scale",
        "",
        f"Command: `{command}` (from the repository root, with tinct installed or "
        "`PYTHONPATH=src`; runs are cached under `runs/seed001` and reused).",
        "",
        "Scale: 32x32 images, every run on one CPU thread of a 2-core machine shared with "
        "another training run, minutes of training instead of the seed's Colab GPU hours; "
        "the numbers show what the models learn at this scale, not the seed's final "
        "quality. Numbers in `seed001.json`.",
        "",
    ]
    footer = [f"Wall time of this script: {fmt_seconds(time.perf_counter() - started)} "
              "(cached runs count as zero).", ""]  # fmt: skip
    (args.out / "seed001.md").write_text("\n".join(header + sections + footer))
    (args.out / "seed001.json").write_text(json.dumps(report, indent=1, default=float) + "\n")
    print(f"wrote {args.out / 'seed001.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
