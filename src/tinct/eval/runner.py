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

Work goes in chunks; after each one the resume state (:mod:`tinct.eval.state`) is saved
under ``out/state.pt``, so an interrupted run continues where it stopped; :func:`evaluate`
removes it when the evaluation is complete.  The configuration, model specs and result
are :mod:`tinct.eval.config`; ground truths, baselines, colourisers and per-image
metrics :mod:`tinct.eval.truth`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from tinct.color import rgb_to_lab
from tinct.data.base import ColourDataset
from tinct.eval.config import (
    SWEEP_GRID_IMAGES,
    EvalConfig,
    EvalResult,
    ModelSpec,
)
from tinct.eval.features import (
    FeatureStats,
    LiteClassifier,
    fd_lite,
    load_inception_features,
    top1_agreement,
)
from tinct.eval.metrics import AbHistogram, colourfulness, histogram_divergences
from tinct.eval.state import (
    STATE_FILE,
    EvalStateError,
    ModelState,
    _first_line,
    _new_state,
    _restore,
    _save_atomic,
    load_state,
)
from tinct.eval.truth import (
    IMAGE_METRICS,
    Colourise,
    _iter_truths,
    _mean_ab,
    _model_info,
    build_colouriser,
    image_metrics,
)

log = logging.getLogger(__name__)


def _order(n: int, limit: int | None, seed: int) -> list[int]:
    if limit is None or limit >= n:
        return list(range(n))
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(n, size=limit, replace=False).tolist())


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
