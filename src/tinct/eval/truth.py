"""Ground truths, the colourisers (baselines and models) run on them, per-image metrics."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from tinct.color import rgb_to_lab
from tinct.color.u8 import lab_to_srgb8, srgb8_to_lab_lightness
from tinct.data.base import ColourDataset, DatasetError
from tinct.eval.config import ModelSpec
from tinct.eval.cost import train_seconds_from_logs
from tinct.eval.metrics import (
    ab_error_auc,
    colour_bleeding,
    colourfulness,
    delta_e_cie76,
    delta_e_ciede2000,
    psnr,
    rmse_ab,
    rmse_rgb,
    ssim,
)
from tinct.io import ImageReadError
from tinct.io.resize import centre_crop, resize_short_side
from tinct.models import Colouriser, load_metadata, load_model
from tinct.pipeline import ColourisePipeline

log = logging.getLogger(__name__)

#: Per-image metrics: key -> (column title, unit, True if higher is better).
IMAGE_METRICS: dict[str, tuple[str, str, bool]] = {
    "psnr": ("PSNR", "dB", True),
    "rmse_rgb": ("RMSE RGB", "0-255", False),
    "rmse_ab": ("RMSE ab", "Lab", False),
    "ssim": ("SSIM", "", True),
    "ciede2000": ("ΔE00", "CIEDE2000", False),
    "cie76": ("ΔE76", "CIE76", False),
    "colourfulness": ("colourfulness", "M", True),
    "colourfulness_gap": ("colourfulness gap", "M", True),
    "auc": ("AuC", "0-1", True),
    "bleeding": ("colour bleeding", "ab", False),
}


def prepare_truth(rgb: np.ndarray, size: int) -> Tensor:
    """Ground truth at ``size``: short side resized to ``size`` (area averaging down,
    bicubic up; :func:`tinct.io.resize.resize_short_side`), centre crop to a square;
    ``(3, size, size)`` uint8."""
    rgb = resize_short_side(rgb, size, shrink="area", enlarge="bicubic")
    crop = np.array(centre_crop(rgb, size))  # a writable copy
    return torch.from_numpy(crop).permute(2, 0, 1).contiguous()


def greyscale_baseline(truth8: Tensor) -> Tensor:
    """The image's own lightness with a = b = 0, as 8-bit RGB ``(3, H, W)``."""
    lightness = srgb8_to_lab_lightness(truth8)
    return lab_to_srgb8(lightness, lightness.new_zeros((2, *lightness.shape[-2:])))


def constant_chroma(truth8: Tensor, ab: Sequence[float]) -> Tensor:
    """The image's lightness with one constant ``ab`` everywhere, 8-bit RGB."""
    lightness = srgb8_to_lab_lightness(truth8)
    chroma = torch.tensor(list(ab), dtype=torch.float32).view(2, 1, 1)
    return lab_to_srgb8(lightness, chroma.expand(2, *lightness.shape[-2:]).contiguous())


Colourise = Callable[[Tensor], Tensor]


def build_colouriser(
    spec: ModelSpec, *, precision: str, mean_ab: Sequence[float], temperature: float | None = None
) -> tuple[Colourise, Colouriser | None]:
    """A function ``(3, H, W) uint8 -> (3, H, W) uint8`` for ``spec`` and its model
    (``None`` for baselines)."""
    if spec.source == "greyscale":
        return greyscale_baseline, None
    if spec.source == "mean-chroma":
        ab = tuple(mean_ab)
        return (lambda truth8: constant_chroma(truth8, ab)), None
    model = load_model(spec.source)
    pipeline = ColourisePipeline(model, precision=precision, temperature=temperature)
    return pipeline, model


def image_metrics(
    output8: Tensor, truth8: Tensor, lab_true: Tensor
) -> tuple[dict[str, float], Tensor]:
    """Per-image metrics of one colourisation (see :data:`IMAGE_METRICS`) and its Lab."""
    out = output8.float() / 255.0
    truth = truth8.float() / 255.0
    lab_out = rgb_to_lab(out)
    row = {
        "psnr": psnr(out, truth).item(),
        "rmse_rgb": rmse_rgb(out, truth).item(),
        "rmse_ab": rmse_ab(lab_out, lab_true).item(),
        "ssim": ssim(out[None], truth[None]).item(),
        "ciede2000": delta_e_ciede2000(lab_out, lab_true).mean().item(),
        "cie76": delta_e_cie76(lab_out, lab_true).mean().item(),
        "colourfulness": colourfulness(out).item(),
        "auc": ab_error_auc(lab_out, lab_true).item(),
        "bleeding": colour_bleeding(lab_out, lab_true).item(),
    }
    return row, lab_out


def _model_info(
    spec: ModelSpec, model: Colouriser | None, mean_ab: Sequence[float]
) -> dict[str, Any]:
    if model is None:
        what = (
            "lightness with a = b = 0"
            if spec.source == "greyscale"
            else f"lightness with constant ab = ({mean_ab[0]:.2f}, {mean_ab[1]:.2f}), the "
            "mean of the evaluated ground truth (oracle)"
        )
        baseline: dict[str, Any] = {
            "source": spec.source, "kind": "baseline", "description": what, "params": 0,
        }  # fmt: skip
        if spec.source == "mean-chroma":
            baseline["mean_ab"] = [float(v) for v in mean_ab]
        return baseline
    info: dict[str, Any] = {
        "source": spec.source,
        "kind": model.registry_name,
        "params": sum(p.numel() for p in model.parameters()),
        "input_size": model.input_size,
        "supports_temperature": model.supports_temperature,
    }
    try:
        meta = load_metadata(spec.source)
    except (FileNotFoundError, KeyError, ValueError):
        meta = {}
    for key in ("train_seconds", "global_step", "data"):
        if key in meta:
            info[key] = meta[key]
    if "train_seconds" not in info:
        run_dir = _run_dir(spec.source)
        logged = train_seconds_from_logs(run_dir) if run_dir is not None else None
        if logged is not None:
            info["train_seconds"] = logged
        elif "train_seconds_this_run" in meta:  # older model files
            info["train_seconds"] = meta["train_seconds_this_run"]
    return info


def _run_dir(source: str) -> Path | None:
    """The ``tinct train`` output folder a model file or checkpoint lies in, if any."""
    path = Path(source)
    for folder in (path.parent, path.parent.parent):
        if (folder / "logs" / "version_0" / "metrics.csv").is_file():
            return folder
    return None


def _load_truth(dataset: ColourDataset, index: int, size: int) -> tuple[Tensor, str]:
    item = dataset.load(index)
    name = str(item.path) if item.path is not None else f"#{index}"
    return prepare_truth(np.ascontiguousarray(item.rgb), size), name


def _iter_truths(
    dataset: ColourDataset, indices: Sequence[int], size: int, skipped: list[tuple[str, str]]
) -> list[tuple[int, Tensor, str]]:
    out = []
    for index in indices:
        try:
            truth, name = _load_truth(dataset, index, size)
        except (ImageReadError, DatasetError) as err:
            skipped.append((str(err.path), err.reason))
            log.warning("skipping %s: %s", err.path, err.reason)
            continue
        out.append((index, truth, name))
    return out


def _mean_ab(
    dataset: ColourDataset, order: Sequence[int], size: int, progress: bool
) -> tuple[list[float], list[tuple[str, str]]]:
    """Mean ab of the ground truth over the evaluated images (first pass)."""
    from tqdm import tqdm

    total = torch.zeros(2, dtype=torch.float64)
    pixels = 0
    skipped: list[tuple[str, str]] = []
    for index in tqdm(order, desc="mean chroma", disable=not progress, unit="img"):
        for _, truth, _ in _iter_truths(dataset, [index], size, skipped):
            lab = rgb_to_lab(truth.float() / 255.0)
            total += lab[1:].double().sum(dim=(-2, -1))
            pixels += lab.shape[-1] * lab.shape[-2]
    return (total / max(pixels, 1)).tolist(), skipped
