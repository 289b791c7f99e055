"""What an evaluation is given and gives back: EvalConfig, ModelSpec, EvalResult."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor

#: Names of the baselines every evaluation includes.
BASELINES = ("greyscale", "mean-chroma")

#: Outputs per temperature shown in the sweep's grid.
SWEEP_GRID_IMAGES = 4
#: Temperatures of the default sweep (those of Zhang et al. 2016, figure 3, without 0).
SWEEP_TEMPERATURES = (1.0, 0.77, 0.58, 0.38, 0.29, 0.14)


@dataclass(frozen=True)
class EvalConfig:
    """What to evaluate on and how; everything that changes the numbers.

    Attributes:
        target: a known dataset name or a folder of images.
        split: the dataset's split (``None``: its default; a folder: all images).
        root: data root for dataset names.
        size: ground-truth side in pixels (short side resized, centre crop).
        limit: evaluate a seeded random subset of this many images (``None``: all).
        seed: seed of that subset and of any sampling model.
        precision: network precision of the pipeline ("auto", "fp32", "bf16").
        features: compute FD-Lite and top-1 agreement (EfficientNet-Lite0).
        inception: the user's TorchScript Inception-v3 (NVlabs' ``inception-2015-12-05.pt``)
            for the standard FID; ``None``: no FID.
        grid: how many images the sample grid shows.
        chunk: images per saved step.
    """

    target: str
    split: str | None = None
    root: str | None = None
    size: int = 256
    limit: int | None = None
    seed: int = 0
    precision: str = "auto"
    features: bool = True
    inception: str | None = None
    grid: int = 6
    chunk: int = 50

    def fingerprint(self, models: Sequence[ModelSpec]) -> str:
        keys = {k: v for k, v in asdict(self).items() if k not in ("grid", "chunk")}
        keys["models"] = [(m.name, m.source) for m in models]
        return hashlib.sha256(json.dumps(keys, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ModelSpec:
    """A model to evaluate: display ``name`` and ``source`` (a bundled name, a model
    file or checkpoint, or one of :data:`BASELINES`)."""

    name: str
    source: str

    @property
    def is_baseline(self) -> bool:
        return self.source in BASELINES


def model_specs(sources: Sequence[str], names: Sequence[str] | None = None) -> list[ModelSpec]:
    """Specs for ``sources`` (plus the baselines, first), with unique display names."""
    if names is not None and len(names) != len(sources):
        raise ValueError(f"{len(names)} names given for {len(sources)} models")
    specs = [ModelSpec(b, b) for b in BASELINES]
    for i, source in enumerate(sources):
        if source in BASELINES:
            continue
        name = names[i] if names is not None else _display_name(source)
        if any(s.name == name for s in specs):
            raise ValueError(f"two models are named {name!r}; give --names")
        specs.append(ModelSpec(name, source))
    return specs


def _display_name(source: str) -> str:
    path = Path(source)
    if path.suffix in (".pt", ".ckpt"):
        # runs/foo/model.pt -> foo; runs/foo/checkpoints/last.ckpt -> foo/last
        if path.stem in ("model", "last", "best") and path.parent.name:
            parent = path.parent.parent if path.parent.name == "checkpoints" else path.parent
            return parent.name if path.stem == "model" else f"{parent.name}/{path.stem}"
        return path.stem
    return source


@dataclass
class EvalResult:
    """The outcome of :func:`~tinct.eval.runner.evaluate`: per-image rows and whole-set
    numbers per model."""

    config: EvalConfig
    models: list[ModelSpec]
    dataset_name: str
    images: list[str]
    skipped: list[tuple[str, str]]
    truth_colourfulness: list[float]
    truth_hist: Tensor
    per_image: dict[str, list[dict[str, Any]]]
    summary: dict[str, dict[str, float]]
    hists: dict[str, Tensor]
    auc_curves: dict[str, Tensor]
    grid_truth: list[Tensor]
    grids: dict[str, list[Tensor]]
    model_info: dict[str, dict[str, Any]]
    sweeps: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    sweep_grids: dict[str, list[list[Tensor]]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "config": asdict(self.config),
            "dataset": self.dataset_name,
            "models": [asdict(m) for m in self.models],
            "model_info": self.model_info,
            "images": self.images,
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "truth_colourfulness_mean": float(np.mean(self.truth_colourfulness))
            if self.truth_colourfulness
            else math.nan,
            "summary": self.summary,
            "per_image": self.per_image,
            "temperature_sweeps": self.sweeps,
        }
