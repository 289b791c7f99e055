"""Evaluate several colourisers on the same images in one run (``tinct evaluate``).

Each image of the dataset or folder is resized (area filter) so its short side is
``size`` and centre-cropped to ``size x size``: that is the ground truth. Every model
colourises it through the user-facing pipeline, which sees only its lightness. Two
baselines always run beside the models:

- ``greyscale``: the photo's own lightness with a = b = 0;
- ``mean-chroma``: the lightness with one constant ab everywhere, the mean ab of the
  evaluated ground truth (the best constant colouring in squared ab error; an oracle
  that no model is given).

Per image: PSNR, RMSE (RGB 0-255 and ab), SSIM, mean CIEDE2000 and CIE76, colourfulness
and its gap to the truth, and the AuC of the cumulative ab-error curve. Over the set:
KL and JS divergences of the a and b histograms, the plain and class-rebalanced AuC,
FD-Lite and the top-1 agreement of EfficientNet-Lite0 (see :mod:`tinct.eval.features`).

Work goes in chunks; after each one the resume state is saved (atomically: a temporary
file, then a rename) under ``out/state.pt``, so an interrupted run continues where it
stopped; :func:`evaluate` removes it when the evaluation is complete.  The state holds
only what resuming needs -- the per-image metric rows, the running histograms and
error tables, the features for FD-Lite/FID (see :class:`FeatureBank`) -- and no image:
a resumed run recomputes its few sample-grid images.  It is read with
``torch.load(weights_only=True)`` (tensors, numbers, strings and plain containers
only, so a planted file cannot run code), and a state that cannot be used raises
:class:`EvalStateError` naming the file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import pickle
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from tinct.color import rgb_to_lab
from tinct.color.u8 import lab_to_srgb8, srgb8_to_lab_lightness
from tinct.data.base import ColourDataset, DatasetError
from tinct.eval.cost import train_seconds_from_logs
from tinct.eval.features import (
    FeatureStats,
    LiteClassifier,
    fd_lite,
    load_inception_features,
    top1_agreement,
)
from tinct.eval.metrics import (
    AbErrorAuc,
    AbHistogram,
    ab_error_auc,
    colourfulness,
    delta_e_cie76,
    delta_e_ciede2000,
    histogram_divergences,
    psnr,
    rmse_ab,
    rmse_rgb,
    ssim,
)
from tinct.io import ImageReadError, atomic_path
from tinct.io.resize import centre_crop, resize_short_side
from tinct.models import Colouriser, load_metadata, load_model
from tinct.pipeline import ColourisePipeline

log = logging.getLogger(__name__)

#: Names of the baselines every evaluation includes.
BASELINES = ("greyscale", "mean-chroma")

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
}

STATE_FILE = "state.pt"
#: ``format`` and ``version`` of the resume state (version 1, before them, held images
#: and full covariance accumulators).
STATE_FORMAT = "tinct-evaluation-state"
STATE_VERSION = 2

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
    }
    return row, lab_out


class EvalStateError(ValueError):
    """The resume state file of an evaluation cannot be used: unreadable, truncated,
    not a tinct evaluation state, saved by another version, or from a different
    evaluation.  ``str()`` is one line naming the file and what to do.

    Attributes:
        path: the state file.
        reason: what is wrong with it, in words.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(
            f"{os.fspath(path)}: {reason}; delete it to start the evaluation afresh, "
            "or use another output folder"
        )

    def __reduce__(self) -> tuple[type[EvalStateError], tuple[Path, str]]:
        return (type(self), (self.path, self.reason))


class FeatureBank:
    """Feature vectors of one model's outputs (or of the ground truth), for FD-Lite/FID.

    Keeps the vectors themselves (``(n, D)``, their own dtype, float32 from the
    networks) while they take less room than the running statistics (mean and a
    ``D x D`` float64 scatter: 13 MB for D = 1280) -- that is, up to ``2 D`` vectors --
    and switches to a :class:`~tinct.eval.features.FeatureStats` accumulator beyond.
    So a resume state is small for small evaluations and never larger than the
    statistics for large ones, and :meth:`stats` is the same whether or not a run was
    interrupted (the vectors are accumulated in one batch, in the same chunks).
    """

    def __init__(self) -> None:
        self._rows: list[Tensor] = []
        self._n = 0
        self._stats: FeatureStats | None = None

    @property
    def n(self) -> int:
        """Number of feature vectors added."""
        return self._stats.n if self._stats is not None else self._n

    def update(self, features: Tensor) -> None:
        """Add ``(N, D)`` feature vectors (any device)."""
        if features.dim() != 2:
            raise ValueError(f"features must be (N, D), got shape {tuple(features.shape)}")
        rows = features.detach().to("cpu").clone()
        if self._stats is not None:
            self._stats.update(rows)
            return
        self._rows.append(rows)
        self._n += rows.shape[0]
        if self._n > 2 * rows.shape[1]:  # the vectors now outweigh the statistics
            self._stats = self._accumulate()
            self._rows, self._n = [], 0

    def _accumulate(self) -> FeatureStats:
        stats = FeatureStats()
        stats.update(torch.cat(self._rows))
        return stats

    def stats(self) -> FeatureStats | None:
        """Mean and covariance of everything added; ``None`` if nothing was."""
        if self._stats is not None:
            return self._stats
        return self._accumulate() if self._rows else None

    def state_dict(self) -> dict[str, Any]:
        """``{"rows": (n, D) tensor}`` or ``{"stats": FeatureStats.state_dict()}``."""
        if self._stats is not None:
            return {"stats": self._stats.state_dict()}
        if not self._rows:
            return {"rows": torch.zeros(0, 0)}
        return {"rows": torch.cat(self._rows)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> FeatureBank:
        bank = cls()
        if "stats" in state:
            bank._stats = FeatureStats()
            bank._stats.load_state_dict(state["stats"])
            return bank
        rows = state["rows"]
        if not isinstance(rows, Tensor) or rows.dim() != 2:
            raise ValueError("feature rows must be a 2-d tensor")
        if rows.shape[0] > 0:
            bank._rows, bank._n = [rows], rows.shape[0]
        return bank


def _pack_counts(state: dict[str, Any]) -> dict[str, Any]:
    """An :class:`AbErrorAuc` state with its mostly-zero count table stored sparsely:
    ``counts`` -> ``shape``, ``index`` (flat indices of non-zero cells) and ``values``
    (int64 tensors)."""
    counts = torch.as_tensor(state["counts"], dtype=torch.int64)
    flat = counts.flatten()
    index = flat.nonzero().flatten()
    packed = {k: v for k, v in state.items() if k != "counts"}
    packed.update(shape=list(counts.shape), index=index, values=flat[index])
    return packed


def _unpack_counts(packed: dict[str, Any]) -> dict[str, Any]:
    shape = [int(v) for v in packed["shape"]]
    flat = torch.zeros(math.prod(shape), dtype=torch.int64)
    flat[torch.as_tensor(packed["index"], dtype=torch.int64)] = torch.as_tensor(
        packed["values"], dtype=torch.int64
    )
    state = {k: v for k, v in packed.items() if k not in ("shape", "index", "values")}
    state["counts"] = flat.view(shape)
    return state


@dataclass
class ModelState:
    """Everything accumulated for one model so far.

    :meth:`state_dict` (saved after every chunk) holds all but :attr:`grid`: the
    sample-grid images are not saved, a resumed run recomputes them.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    hist: AbHistogram = field(default_factory=AbHistogram)
    auc: AbErrorAuc = field(default_factory=AbErrorAuc)
    features: FeatureBank = field(default_factory=FeatureBank)
    inception: FeatureBank = field(default_factory=FeatureBank)
    seconds: float = 0.0
    grid: list[Tensor] = field(default_factory=list)

    def state_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "hist": self.hist.state_dict(),
            "auc": _pack_counts(self.auc.state_dict()),
            "features": self.features.state_dict(),
            "inception": self.inception.state_dict(),
            "seconds": self.seconds,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ModelState:
        rows = state["rows"]
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ValueError("per-image rows must be a list of dicts")
        out = cls(rows=rows, seconds=float(state["seconds"]))
        out.hist.load_state_dict(state["hist"])
        out.auc.load_state_dict(_unpack_counts(state["auc"]))
        out.features = FeatureBank.from_state(state["features"])
        out.inception = FeatureBank.from_state(state["inception"])
        return out


@dataclass
class EvalResult:
    """The outcome of :func:`evaluate`: per-image rows and whole-set numbers per model."""

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


def _save_atomic(obj: Any, path: Path) -> None:
    """``torch.save(obj)`` into ``path`` through a temporary file and a rename, so an
    interruption never leaves a half-written state."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    line = lines[0] if lines else type(err).__name__
    return line if len(line) <= 160 else line[:157] + "..."


def load_state(path: str | os.PathLike[str], fingerprint: str | None = None) -> dict[str, Any]:
    """Read an evaluation's resume state (``out/state.pt``) safely.

    The file is read with ``torch.load(weights_only=True)``: only tensors, numbers,
    strings and plain containers are rebuilt, anything else is refused before it is
    created, so a planted file cannot run code.

    Args:
        path: the state file.
        fingerprint: :meth:`EvalConfig.fingerprint` of the evaluation about to run;
            ``None`` skips that check.

    Returns:
        The state dict (``format``, ``version``, ``fingerprint``, ``done``, ``mean_ab``,
        ``skipped``, ``images``, ``truth``, ``models``), not yet checked in depth.

    Raises:
        EvalStateError: the file is unreadable or truncated, holds other objects, is
            not a tinct evaluation state, was saved by another version, or belongs to
            a different evaluation.
    """
    if not os.path.isfile(path):
        raise EvalStateError(path, "not a regular file")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise EvalStateError(
            path,
            "not a tinct evaluation state: it holds objects other than tensors, numbers, "
            "strings and containers (refused without running them)",
        ) from None
    except Exception as err:  # truncated or garbled: zip, pickle or tensor data
        raise EvalStateError(
            path, f"unreadable or truncated ({type(err).__name__}: {_first_line(err)})"
        ) from None
    if not isinstance(saved, dict):
        raise EvalStateError(path, "not a tinct evaluation state")
    if saved.get("format") != STATE_FORMAT:
        if "fingerprint" in saved and "done" in saved:
            raise EvalStateError(path, "saved by an older version of tinct")
        raise EvalStateError(path, "not a tinct evaluation state")
    if saved.get("version") != STATE_VERSION:
        raise EvalStateError(
            path, f"saved by another version of tinct (state version {saved.get('version')!r})"
        )
    if fingerprint is not None and saved.get("fingerprint") != fingerprint:
        raise EvalStateError(
            path, "belongs to a different evaluation (other data, size, models or seed)"
        )
    return saved


def _new_state(
    fingerprint: str,
    mean_ab: list[float],
    skipped: list[tuple[str, str]],
    models: Sequence[ModelSpec],
) -> dict[str, Any]:
    return {
        "format": STATE_FORMAT,
        "version": STATE_VERSION,
        "fingerprint": fingerprint,
        "done": 0,
        "mean_ab": [float(v) for v in mean_ab],
        "skipped": [(str(p), str(r)) for p, r in skipped],
        "images": [],
        "truth": {
            "colourfulness": [],
            "hist": AbHistogram().state_dict(),
            "features": FeatureBank().state_dict(),
            "inception": FeatureBank().state_dict(),
        },
        "models": {m.name: ModelState().state_dict() for m in models},
    }


@dataclass
class _Progress:
    """The in-memory form of a resume state."""

    done: int
    mean_ab: list[float]
    skipped: list[tuple[str, str]]
    truth_hist: AbHistogram
    truth_features: FeatureBank
    truth_inception: FeatureBank
    models: dict[str, ModelState]


def _restore(state: dict[str, Any], models: Sequence[ModelSpec], total: int) -> _Progress:
    """Rebuild the accumulators from a state; ``ValueError``/``KeyError``/``TypeError``
    on anything inconsistent."""
    done = state["done"]
    if isinstance(done, bool) or not isinstance(done, int) or not 0 <= done <= total:
        raise ValueError(f"'done' is {done!r}, not a count of at most {total} images")
    mean_ab = [float(v) for v in state["mean_ab"]]
    if len(mean_ab) != 2:
        raise ValueError("'mean_ab' must hold two numbers")
    skipped = [(str(p), str(r)) for p, r in state["skipped"]]
    truth = state["truth"]
    if not isinstance(truth["colourfulness"], list) or not isinstance(state["images"], list):
        raise TypeError("'images' and 'colourfulness' must be lists")
    truth_hist = AbHistogram()
    truth_hist.load_state_dict(truth["hist"])
    saved_models = state["models"]
    if set(saved_models) != {m.name for m in models}:
        raise ValueError("its models are not those of this evaluation")
    return _Progress(
        done=done,
        mean_ab=mean_ab,
        skipped=skipped,
        truth_hist=truth_hist,
        truth_features=FeatureBank.from_state(truth["features"]),
        truth_inception=FeatureBank.from_state(truth["inception"]),
        models={m.name: ModelState.from_state(saved_models[m.name]) for m in models},
    )


def _order(n: int, limit: int | None, seed: int) -> list[int]:
    if limit is None or limit >= n:
        return list(range(n))
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(n, size=limit, replace=False).tolist())


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


def evaluate(
    config: EvalConfig,
    models: Sequence[ModelSpec],
    *,
    out_dir: str | os.PathLike[str] | None = None,
    dataset: ColourDataset | None = None,
    dataset_name: str | None = None,
    progress: bool = True,
    sweep_temperatures: Sequence[float] = (),
    sweep_images: int | None = None,
    keep_state: bool = False,
) -> EvalResult:
    """Run every model of ``models`` over the evaluation images; see the module doc.

    With ``out_dir`` the resume state is saved (atomically) after every chunk in
    ``out_dir/state.pt`` and a run with the same config resumes from it; when the
    evaluation is complete (the sweeps too) the file is removed, unless
    ``keep_state`` (for callers that do more work before they are done, such as
    :func:`tinct.eval.benchmark.benchmark`).  A state file that cannot be used --
    unreadable, truncated, foreign, from another tinct version or from a different
    evaluation -- is never overwritten: :class:`EvalStateError` (a ``ValueError``)
    names it, and deleting it starts afresh.  ``dataset`` overrides opening
    ``config.target``.  ``sweep_temperatures`` evaluates models that decode with a
    temperature at each of those temperatures on the same images (the first
    ``sweep_images`` of them when given), so the row of the model's own temperature
    repeats its main-table numbers.

    Raises:
        EvalStateError: the state file in ``out_dir`` cannot be used.
        ValueError: no images, or none readable.
    """
    from tqdm import tqdm

    from tinct.data.registry import open_target

    torch.manual_seed(config.seed)
    if dataset is None:
        dataset, name = open_target(config.target, config.split, config.root)
        dataset_name = dataset_name or name
    dataset_name = dataset_name or config.target
    if len(dataset) == 0:
        raise ValueError(f"{dataset_name}: no images to evaluate")
    fingerprint = config.fingerprint(models)
    order = _order(len(dataset), config.limit, config.seed)
    state_path = Path(out_dir) / STATE_FILE if out_dir is not None else None
    state: dict[str, Any] | None = None
    if state_path is not None:
        state_path.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(state_path):
            state = load_state(state_path, fingerprint)
    resumed = state is not None
    if state is None:
        mean_ab, skipped0 = _mean_ab(dataset, order, config.size, progress)
        state = _new_state(fingerprint, mean_ab, skipped0, models)
    try:
        restored = _restore(state, models, len(order))
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as err:
        assert state_path is not None  # a fresh state is always consistent
        raise EvalStateError(
            state_path, f"corrupt evaluation state ({type(err).__name__}: {_first_line(err)})"
        ) from None
    if resumed:
        log.info("resuming: %d images done", restored.done)
    skipped = restored.skipped
    skipped_paths = {p for p, _ in skipped}
    truth_hist = restored.truth_hist
    truth_features, truth_inception = restored.truth_features, restored.truth_inception
    model_states = restored.models

    classifier = LiteClassifier() if config.features else None
    inception = load_inception_features(config.inception) if config.inception else None
    runners: dict[str, Colourise] = {}
    infos: dict[str, dict[str, Any]] = {}
    for spec in models:
        fn, model = build_colouriser(spec, precision=config.precision, mean_ab=restored.mean_ab)
        runners[spec.name] = fn
        infos[spec.name] = _model_info(spec, model, restored.mean_ab)

    # The sample grid is collected on the way in a fresh run; a resumed run, whose first
    # images were done before, recomputes it at the end (images are not saved).
    grid_truth: list[Tensor] = []
    grid_size = 0 if resumed else config.grid
    remaining = order[state["done"] :]
    bar = tqdm(
        total=len(order), initial=state["done"], desc="evaluate", disable=not progress, unit="img"
    )
    for start in range(0, len(remaining), config.chunk):
        chunk_indices = remaining[start : start + config.chunk]
        truths = [
            t
            for t in _iter_truths(dataset, chunk_indices, config.size, [])
            if t[2] not in skipped_paths
        ]
        if truths:
            features, inception_features = _evaluate_chunk(
                truths, runners, model_states, truth_hist, state, classifier, inception,
                grid_truth, grid_size,
            )  # fmt: skip
            if features is not None:
                truth_features.update(features)
            if inception_features is not None:
                truth_inception.update(inception_features)
        state["done"] += len(chunk_indices)
        state["truth"]["hist"] = truth_hist.state_dict()
        state["truth"]["features"] = truth_features.state_dict()
        state["truth"]["inception"] = truth_inception.state_dict()
        state["models"] = {n: s.state_dict() for n, s in model_states.items()}
        if state_path is not None:
            _save_atomic(state, state_path)
        bar.update(len(chunk_indices))
    bar.close()
    if resumed and config.grid > 0:
        grid_truth = _rebuild_grid(dataset, order, config, runners, model_states, skipped_paths)

    result = _summarise(
        config, list(models), dataset_name, state, skipped, truth_hist, truth_features.stats(),
        truth_inception.stats(), model_states, infos, grid_truth,
    )  # fmt: skip
    if sweep_temperatures:
        _temperature_sweeps(
            result, dataset, order, sweep_temperatures, sweep_images, config, skipped_paths
        )
    if state_path is not None and not keep_state:
        state_path.unlink(missing_ok=True)  # complete: nothing left to resume
    return result


def _rebuild_grid(
    dataset: ColourDataset,
    order: Sequence[int],
    config: EvalConfig,
    runners: dict[str, Colourise],
    model_states: dict[str, ModelState],
    skipped_paths: set[str],
) -> list[Tensor]:
    """The sample grid of a resumed run: the first ``config.grid`` evaluated images and
    every model's output for them (models that sample may show other samples than an
    uninterrupted run would have).  Returns the ground truths; sets each model's grid."""
    truths: list[Tensor] = []
    for index in order:
        if len(truths) >= config.grid:
            break
        for _, truth, name in _iter_truths(dataset, [index], config.size, []):
            if name not in skipped_paths:
                truths.append(truth)
    for name, run in runners.items():
        model_states[name].grid = [run(t).clone() for t in truths]
    return truths


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


def _evaluate_chunk(
    truths: list[tuple[int, Tensor, str]],
    runners: dict[str, Colourise],
    model_states: dict[str, ModelState],
    truth_hist: AbHistogram,
    state: dict[str, Any],
    classifier: LiteClassifier | None,
    inception: Callable[[Tensor], Tensor] | None,
    grid_truth: list[Tensor],
    grid: int,
) -> tuple[Tensor | None, Tensor | None]:
    """Colourise and measure one chunk with every model; returns the ground truth's
    EfficientNet-Lite0 and Inception features (``None`` where not computed).  The first
    ``grid`` ground truths go to ``grid_truth`` and each model's outputs for them to its
    :attr:`ModelState.grid`."""
    truth_batch = torch.stack([t for _, t, _ in truths])
    truth_float = truth_batch.float() / 255.0
    lab_true = rgb_to_lab(truth_float)
    truth_hist.update(lab_true)
    truth_m = colourfulness(truth_float).tolist()
    state["truth"]["colourfulness"].extend(truth_m)
    state["images"].extend(name for _, _, name in truths)
    grid_room = grid - len(grid_truth)
    if grid_room > 0:
        grid_truth.extend(truth_batch[:grid_room].clone().unbind(0))
    truth_features = truth_logits = None
    if classifier is not None:
        truth_features, truth_logits = classifier(truth_float)
    truth_inception = inception(truth_float) if inception is not None else None
    for name, run in runners.items():
        ms = model_states[name]
        outputs = []
        for (index, truth8, image_name), lab_t, m_true in zip(
            truths, lab_true, truth_m, strict=True
        ):
            start = time.perf_counter()
            out8 = run(truth8)
            ms.seconds += time.perf_counter() - start
            metrics, lab_out = image_metrics(out8, truth8, lab_t)
            metrics["colourfulness_gap"] = metrics["colourfulness"] - m_true
            row: dict[str, Any] = {"image": image_name, "index": index, **metrics}
            ms.hist.update(lab_out)
            ms.auc.update(lab_out, lab_t)
            ms.rows.append(row)
            outputs.append(out8)
        if grid_room > 0:
            ms.grid.extend(o.clone() for o in outputs[:grid_room])
        if classifier is not None and truth_logits is not None:
            out_float = torch.stack(outputs).float() / 255.0
            feats, logits = classifier(out_float)
            ms.features.update(feats)
            agree = top1_agreement(logits, truth_logits).float().tolist()
            for row, a in zip(ms.rows[-len(outputs) :], agree, strict=True):
                row["top1_agreement"] = a
        if inception is not None:
            ms.inception.update(inception(torch.stack(outputs).float() / 255.0))
    return truth_features, truth_inception


def _summarise(
    config: EvalConfig,
    models: list[ModelSpec],
    dataset_name: str,
    state: dict[str, Any],
    skipped: list[tuple[str, str]],
    truth_hist: AbHistogram,
    truth_features: FeatureStats | None,
    truth_inception: FeatureStats | None,
    model_states: dict[str, ModelState],
    infos: dict[str, dict[str, Any]],
    grid_truth: list[Tensor],
) -> EvalResult:
    summary: dict[str, dict[str, float]] = {}
    per_image: dict[str, list[dict[str, Any]]] = {}
    for spec in models:
        ms = model_states[spec.name]
        rows = ms.rows
        per_image[spec.name] = rows
        if not rows:
            raise ValueError(f"{dataset_name}: every image was unreadable; nothing to evaluate")
        means = {k: float(np.mean([r[k] for r in rows])) for k in IMAGE_METRICS}
        means["psnr"] = float(np.mean([min(r["psnr"], 100.0) for r in rows]))
        divergences = histogram_divergences(truth_hist.counts, ms.hist.counts)
        means.update({k: float(v) for k, v in divergences.items()})
        means["auc"] = ms.auc.auc()
        means["auc_rebalanced"] = ms.auc.auc_rebalanced()
        means["colourfulness_ratio"] = means["colourfulness"] / max(
            float(np.mean(state["truth"]["colourfulness"])), 1e-9
        )
        features, inception = ms.features.stats(), ms.inception.stats()
        if truth_features is not None and features is not None:
            means["fd_lite"] = fd_lite(features, truth_features)
            means["top1_agreement"] = float(np.mean([r["top1_agreement"] for r in rows]))
        if truth_inception is not None and inception is not None:
            means["fid"] = fd_lite(inception, truth_inception)  # the same Fréchet distance
        means["seconds_per_image"] = ms.seconds / len(rows)
        summary[spec.name] = means
    return EvalResult(
        config=config,
        models=models,
        dataset_name=dataset_name,
        images=list(state["images"]),
        skipped=skipped,
        truth_colourfulness=list(state["truth"]["colourfulness"]),
        truth_hist=truth_hist.counts,
        per_image=per_image,
        summary=summary,
        hists={n: s.hist.counts for n, s in model_states.items()},
        auc_curves={n: s.auc.curve() for n, s in model_states.items()},
        grid_truth=grid_truth,
        grids={n: s.grid for n, s in model_states.items()},
        model_info=infos,
    )


def _temperature_sweeps(
    result: EvalResult,
    dataset: ColourDataset,
    order: Sequence[int],
    temperatures: Sequence[float],
    n_images: int | None,
    config: EvalConfig,
    skipped_paths: set[str],
) -> None:
    """For each model that decodes with a temperature: mean colourfulness, RMSE ab,
    RMSE RGB and CIEDE2000 over the evaluated images (the first ``n_images`` when given)
    at every temperature, and a grid of the first :data:`SWEEP_GRID_IMAGES` outputs."""
    sweepable = [m for m in result.models if result.model_info[m.name].get("supports_temperature")]
    if not sweepable:
        log.warning("no model in this run decodes with a temperature; no sweep")
        return
    chosen = order if n_images is None else order[: n_images * 2]
    truths = [
        t for t in _iter_truths(dataset, chosen, config.size, []) if t[2] not in skipped_paths
    ][:n_images]
    for spec in sweepable:
        rows: list[dict[str, float]] = []
        grid: list[list[Tensor]] = []
        for temperature in temperatures:
            run, _ = build_colouriser(
                spec,
                precision=config.precision,
                mean_ab=(0.0, 0.0),
                temperature=temperature,
            )
            outs: list[Tensor] = []
            metrics = []
            for _, truth8, _ in truths:
                out = run(truth8)
                metrics.append(image_metrics(out, truth8, rgb_to_lab(truth8.float() / 255.0))[0])
                if len(outs) < SWEEP_GRID_IMAGES:
                    outs.append(out)
            rows.append(
                {
                    "temperature": float(temperature),
                    "images": float(len(truths)),
                    **{
                        k: float(np.mean([m[k] for m in metrics]))
                        for k in ("colourfulness", "rmse_ab", "rmse_rgb", "ciede2000")
                    },
                }
            )
            grid.append(outs)
        result.sweeps[spec.name] = rows
        result.sweep_grids[spec.name] = grid
