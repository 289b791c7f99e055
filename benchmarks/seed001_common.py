"""Shared helpers of the seed 001 scripts (seed001_studies.py, seed001_eval.py).

Builds the offline CIFAR-format data sets the runs read, runs ``tinct train`` configs
with overrides (a finished run with the same resolved config is reused, so an
interrupted script resumes) and reads the CSV logs back.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tinct.color import (
    lab_to_rgb,
    lightness_chroma_to_rgb,
    normalize_chroma,
    rgb_to_lab,
    rgb_to_lightness_chroma,
)
from tinct.data.cifar import CIFAR10, random_crops_32, write_cifar10_format
from tinct.data.registry import open_dataset
from tinct.data.sample import collate_samples
from tinct.data.shapes import SHAPES, render_shapes
from tinct.models import load_metadata, load_model
from tinct.train import resolve_config, train
from tinct.train.config import dump_config, load_yaml

#: Crops of each corpus photo in the CIFAR-format stand-in.
CORPUS_CROPS = 16


def build_corpus_cifar(work: Path, corpus: Path, crops: int = CORPUS_CROPS) -> Path:
    """The labelled photo corpus as a CIFAR-10-format folder: ``crops`` random 32x32
    crops of each train photo (train batches) and of each test photo (test batch),
    10 source categories as classes. Written once under ``work``."""
    folder = work / "cifar-corpus" / "cifar-10-batches-py"
    if (folder / "test_batch").is_file():
        return folder.parent
    splits: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    classes: list[str] = []
    for split in ("train", "test"):
        dataset = open_dataset("corpus-labelled", corpus, split)
        classes = list(dataset.classes)
        splits[split] = random_crops_32(dataset, crops, seed=1 if split == "train" else 2)
    write_cifar10_format(folder, splits, classes)
    return folder.parent


def build_shapes_cifar(work: Path, n_train: int = 5000, n_test: int = 500) -> Path:
    """Shape Set rendered at 32x32 in CIFAR-10 format (classes circle/square/triangle,
    the dominant shape), from the train (seed 0) and test (seed 2) splits of
    ``tinct.data.registry.SHAPE_SPLITS``. Written once under ``work``."""
    folder = work / "cifar-shapes" / "cifar-10-batches-py"
    if (folder / "test_batch").is_file():
        return folder.parent
    splits = {}
    for split, seed, n in (("train", 0, n_train), ("test", 2, n_test)):
        items = [render_shapes((seed, i), 32) for i in range(n)]
        images = np.stack([rgb for rgb, _, _ in items])
        labels = np.array([label for _, _, label in items], dtype=np.int64)
        splits[split] = (images, labels)
    write_cifar10_format(folder, splits, SHAPES)
    return folder.parent


@dataclass
class Run:
    """A finished training run: its folder, exported model, resolved config and logs."""

    out_dir: Path
    model: Path
    config: dict[str, Any]
    metrics: dict[str, list[tuple[int, float]]]
    train_seconds: float
    steps: int


def read_metrics(out_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """``{column: [(step, value), ...]}`` from a run's Lightning CSV log."""
    series: dict[str, list[tuple[int, float]]] = {}
    with (out_dir / "logs" / "version_0" / "metrics.csv").open() as fh:
        for row in csv.DictReader(fh):
            for key, value in row.items():
                if key in ("step", "epoch") or value in ("", None):
                    continue
                series.setdefault(key, []).append((int(row["step"]), float(value)))
    return series


def run_config(config_file: Path, overrides: list[str], out_dir: Path) -> Run:
    """Train ``config_file`` with ``overrides`` into ``out_dir`` (reused when a finished
    run with the same resolved config is there)."""
    config = resolve_config(config_file, [*overrides, f"output_dir={out_dir}"])
    done = out_dir / "run.json"
    same = (out_dir / "config.yaml").is_file() and load_yaml(
        (out_dir / "config.yaml").read_text()
    ) == config
    if not (done.is_file() and same):
        if out_dir.exists():
            shutil.rmtree(out_dir)
        meta = load_metadata(train(config, progress=False))
        done.write_text(
            json.dumps(
                {"train_seconds": meta.get("train_seconds"), "steps": meta.get("global_step")}
            )
        )
        dump_config(config, out_dir / "config.yaml")
    info = json.loads(done.read_text())
    return Run(
        out_dir=out_dir,
        model=out_dir / "model.pt",
        config=config,
        metrics=read_metrics(out_dir),
        train_seconds=float(info["train_seconds"] or math.nan),
        steps=int(info["steps"] or 0),
    )


def last(series: list[tuple[int, float]]) -> float:
    """The last value of a logged series (NaN when empty)."""
    return series[-1][1] if series else math.nan


def fmt_seconds(seconds: float) -> str:
    """``73.2`` -> ``"1 min 13 s"`` (the seed's tables give minutes and seconds)."""
    if not math.isfinite(seconds):
        return "n/a"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


# ---------------------------------------------------------------- baselines
# The two baselines of ``tinct evaluate`` (tinct.eval.runner), for the 32x32 YUV pages.


def greyscale_rgb(rgb: torch.Tensor) -> torch.Tensor:
    """The greyscale baseline: the image's own Y with U = V = 0, RGB ``(B, 3, h, w)``."""
    y, _ = rgb_to_lightness_chroma(rgb, "yuv")
    return lightness_chroma_to_rgb(y, torch.zeros_like(rgb[:, :2]), "yuv").clamp(0, 1)


def mean_chroma_rgb(rgb: torch.Tensor) -> torch.Tensor:
    """The mean-chroma baseline as ``tinct evaluate`` defines it: each image's CIE L*
    with one constant a*b* everywhere, the mean a*b* of all of ``rgb`` (the evaluated
    ground truth: an oracle no model is given)."""
    lab = rgb_to_lab(rgb)
    mean_ab = lab[:, 1:].mean(dim=(0, 2, 3), keepdim=True)
    return lab_to_rgb(torch.cat([lab[:, :1], mean_ab.expand_as(lab[:, 1:])], dim=1)).clamp(0, 1)


def uv_mse(rgb: torch.Tensor, truth: torch.Tensor) -> float:
    """MSE of normalised UV (U/0.436, V/0.615) between a colourisation and the truth,
    both RGB in [0, 1]: the quantity the YUV models are trained on."""
    uv = normalize_chroma(rgb_to_lightness_chroma(rgb, "yuv")[1], "yuv")
    uv_true = normalize_chroma(rgb_to_lightness_chroma(truth, "yuv")[1], "yuv")
    return float(torch.mean((uv - uv_true) ** 2))


def val_uv_baselines(root: Path, classes: list[str] | None = None) -> dict[str, float]:
    """What the validation MSE of normalised UV would be for the greyscale baseline
    (U = V = 0) and for the mean-chroma one in UV (one constant UV, the mean of the
    validation crops: the best constant), on the CIFAR-format ``root``'s test crops."""
    dataset = CIFAR10(root, "test", classes=classes, space="yuv", progress=False)
    chroma = collate_samples([dataset[i] for i in range(len(dataset))]).chroma
    uv = normalize_chroma(chroma, "yuv")
    mean = uv.mean(dim=(0, 2, 3), keepdim=True)
    return {
        "greyscale": float(torch.mean(uv**2)),
        "mean-chroma": float(torch.mean((uv - mean) ** 2)),
    }


@torch.inference_mode()
def sample_uv_mse(model_file: Path, root: Path, classes: list[str] | None = None) -> float:
    """MSE of normalised UV of a CVAE's colourisations of the CIFAR-format ``root``'s test
    crops, one sample each from the conditional encoder (generator seed 0): what the
    model gives without seeing the colours, unlike its logged validation MSE."""
    model = load_model(model_file).eval()
    dataset = CIFAR10(root, "test", classes=classes, space="yuv", progress=False)
    batch = collate_samples([dataset[i] for i in range(len(dataset))])
    output = model.sample(batch.l, generator=torch.Generator().manual_seed(0))
    if output.chroma_norm is None:
        raise ValueError(f"{model_file}: the model gives no chroma")
    truth = normalize_chroma(batch.chroma, "yuv")
    return float(torch.mean((output.chroma_norm.float() - truth) ** 2))


def beating(scores: dict[str, float], baseline: float) -> list[str]:
    """Names in ``scores`` (lower is better) strictly below ``baseline``."""
    return [name for name, value in scores.items() if math.isfinite(value) and value < baseline]


def names_or_none(names: list[str]) -> str:
    """``"a, b and c"``, or ``"none"``."""
    if not names:
        return "none"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
