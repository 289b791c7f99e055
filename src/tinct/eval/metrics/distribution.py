"""Metrics of ab distributions: histograms with KL/JS divergences (seed 004), ab-error AuC.

Units: Lab in CIE units (L 0..100, a and b about -128..127); images are ``(*, 3, H, W)``.
The a and b histograms and their KL and Jensen–Shannon divergences are seed 004's
comparison of colour distributions ("logarithmic colour histogram"); the AuC of the
cumulative ab-error curve, plain and class-rebalanced, is Zhang et al. 2016's (sec. 3.1).
The accumulators (:class:`AbHistogram`, :class:`AbErrorAuc`) stream over a data set and
merge. Per-image metrics (PSNR, ΔE, RMSE, SSIM, colourfulness) are in
:mod:`tinct.eval.metrics.pixel`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from tinct.eval.metrics._checks import check_pair

__all__ = [
    "AB_HIST_BINS",
    "AB_HIST_EDGES",
    "AUC_MAX_ERROR",
    "AbErrorAuc",
    "AbHistogram",
    "ab_error_auc",
    "ab_grid_bins",
    "ab_histogram",
    "histogram_divergences",
]


def _check_lab(lab: Tensor) -> None:
    if lab.ndim < 3 or lab.shape[-3] != 3:
        raise ValueError(f"expected Lab images of shape (*, 3, H, W), got {tuple(lab.shape)}")


# --- ab histograms (seed 004) -------------------------------------------------

AB_HIST_BINS = 128
AB_HIST_EDGES: Tensor = torch.linspace(-128.0, 128.0, AB_HIST_BINS + 1, dtype=torch.float64)
"""Bin edges shared by the a and b histograms: 2-unit bins from -128 to 128 (Lab units)."""


def _hist_1d(values: Tensor) -> Tensor:
    values = values.reshape(-1).double()
    values = values[~torch.isnan(values)]
    idx = torch.floor((values + 128.0) / 2.0).clamp(0, AB_HIST_BINS - 1).long()
    return torch.bincount(idx, minlength=AB_HIST_BINS).double()


def ab_histogram(lab: Tensor) -> Tensor:
    """Counts of a and b over all pixels of all images in Lab ``(*, 3, H, W)``.

    Returns float64 ``(2, 128)`` on ``lab``'s device: row 0 counts a, row 1
    counts b, in the bins of :data:`AB_HIST_EDGES` (``[e_i, e_{i+1})``, the last
    bin closed as in ``numpy.histogram``). Values below -128 or above 128 are
    counted in the end bins; NaN values are skipped.
    """
    _check_lab(lab)
    return torch.stack([_hist_1d(lab[..., 1, :, :]), _hist_1d(lab[..., 2, :, :])])


class AbHistogram:
    """Streaming :func:`ab_histogram` over a data set (counts kept in float64 on the CPU).

    ``state_dict()`` holds plain lists, so it can be saved with ``json`` or
    ``torch.save``; two accumulators over disjoint data merge into the
    accumulator over both.
    """

    def __init__(self) -> None:
        self._counts = torch.zeros(2, AB_HIST_BINS, dtype=torch.float64)

    def update(self, lab: Tensor) -> None:
        """Add the a and b values of Lab images ``(*, 3, H, W)``."""
        self._counts += ab_histogram(lab).cpu()

    @property
    def counts(self) -> Tensor:
        """A copy of the ``(2, 128)`` float64 counts (row 0: a, row 1: b)."""
        return self._counts.clone()

    def merge(self, other: AbHistogram) -> AbHistogram:
        """Add ``other``'s counts into this accumulator; returns ``self``."""
        self._counts += other._counts
        return self

    def all_reduce(self) -> AbHistogram:
        """Sum the counts of every rank of the initialised ``torch.distributed`` process
        group into each (a no-op without one); returns ``self``. The counts are whole
        numbers in float64, so the sum is exact: every rank then holds the histogram of
        the whole data set, as one process counting it all would."""
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            dist.all_reduce(self._counts, op=dist.ReduceOp.SUM)
        return self

    def state_dict(self) -> dict[str, Any]:
        return {"edges": AB_HIST_EDGES.tolist(), "counts": self._counts.tolist()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        counts = torch.as_tensor(state["counts"], dtype=torch.float64)
        if counts.shape != (2, AB_HIST_BINS):
            raise ValueError(
                f"expected counts of shape (2, {AB_HIST_BINS}), got {tuple(counts.shape)}"
            )
        if "edges" in state and not torch.equal(
            torch.as_tensor(state["edges"], dtype=torch.float64), AB_HIST_EDGES
        ):
            raise ValueError("state was saved with different histogram bin edges")
        self._counts = counts.clone()


def _distributions(counts: Tensor, name: str, log_scale: bool) -> Tensor:
    counts = torch.as_tensor(counts).detach().to("cpu", torch.float64)
    if counts.ndim != 2 or counts.shape[0] != 2:
        raise ValueError(f"{name}: expected counts of shape (2, bins), got {tuple(counts.shape)}")
    if bool((counts < 0).any()) or not bool(torch.isfinite(counts).all()):
        raise ValueError(f"{name}: counts must be finite and non-negative")
    weights = torch.log1p(counts) if log_scale else counts
    total = weights.sum(dim=1, keepdim=True)
    if bool((total == 0).any()):
        raise ValueError(f"{name}: empty histogram")
    return weights / total


def _kl(p: Tensor, q: Tensor) -> Tensor:
    """KL(p || q) per row in nats, with 0 log 0 = 0."""
    return (torch.special.xlogy(p, p) - torch.special.xlogy(p, q)).sum(dim=-1)


def histogram_divergences(
    counts_p: Tensor, counts_q: Tensor, *, log_scale: bool = True, eps: float = 1e-10
) -> dict[str, float]:
    """KL and Jensen–Shannon divergences between a/b histograms, in nats (seed 004).

    ``counts_p`` are the ground-truth and ``counts_q`` the prediction counts,
    each ``(2, bins)`` (row 0: a, row 1: b), e.g. :attr:`AbHistogram.counts`.
    With ``log_scale`` (the "logarithmic colour histogram") each count c becomes
    ``log(1 + c)`` before the rows are normalised to distributions; otherwise
    the counts are normalised as they are.

    * ``kl_a``, ``kl_b``: KL(p || q) = Σ p log(p / q). Both distributions are
      smoothed first (``eps`` added to every bin, then renormalised) so that a
      bin empty in the prediction but not in the truth gives a large finite
      value instead of inf; identical histograms give 0.
    * ``js_a``, ``js_b``: JS(p, q) = ½ KL(p || m) + ½ KL(q || m) with
      ``m = (p + q) / 2``, on the unsmoothed distributions; in [0, ln 2]. This
      is the *square* of scipy's ``jensenshannon`` distance.
    * ``kl``, ``js``: the means over a and b.
    """
    p = _distributions(counts_p, "counts_p", log_scale)
    q = _distributions(counts_q, "counts_q", log_scale)
    if p.shape != q.shape:
        raise ValueError(f"shapes differ: {tuple(p.shape)} vs {tuple(q.shape)}")
    p_s = (p + eps) / (p + eps).sum(dim=1, keepdim=True)
    q_s = (q + eps) / (q + eps).sum(dim=1, keepdim=True)
    kl = _kl(p_s, q_s).clamp(min=0.0)
    m = (p + q) / 2
    js = (0.5 * _kl(p, m) + 0.5 * _kl(q, m)).clamp(min=0.0)
    kl_a, kl_b = float(kl[0]), float(kl[1])
    js_a, js_b = float(js[0]), float(js[1])
    return {
        "kl_a": kl_a,
        "kl_b": kl_b,
        "kl": (kl_a + kl_b) / 2,
        "js_a": js_a,
        "js_b": js_b,
        "js": (js_a + js_b) / 2,
    }


# --- AuC of the cumulative ab-error curve (Zhang et al. 2016) -----------------

AUC_MAX_ERROR = 150


def ab_grid_bins(ab: Tensor, grid: float = 10, extent: float = 110) -> Tensor:
    """Colour class of each pixel on a quantised ab grid, ``(*, 2, H, W)`` -> long ``(*, H, W)``.

    Per channel ``i = floor((v + extent) / grid)`` clamped to ``[0, n - 1]`` with
    ``n = ceil(2 * extent / grid)`` (22 for the defaults, cells 10 Lab units wide
    covering -110..110); the class is ``i_a * n + i_b`` in ``[0, n²)``.
    """
    if ab.ndim < 3 or ab.shape[-3] != 2:
        raise ValueError(f"expected ab of shape (*, 2, H, W), got {tuple(ab.shape)}")
    if grid <= 0 or extent <= 0:
        raise ValueError(f"grid and extent must be positive, got {grid} and {extent}")
    n = math.ceil(2 * extent / grid)
    idx = torch.floor((ab.double() + extent) / grid).clamp(0, n - 1).long()
    return idx[..., 0, :, :] * n + idx[..., 1, :, :]


def _ab_error_buckets(lab_prediction: Tensor, lab_target: Tensor, max_error: int) -> Tensor:
    """``ceil`` of the Euclidean ab error per pixel, clamped to ``max_error + 1``; ``(*, H, W)``.

    Bucket b holds errors in ``(b - 1, b]`` (bucket 0: exactly 0), so an error
    is within threshold t exactly when its bucket is <= t. NaN errors land in
    the "over max_error" bucket.
    """
    diff = lab_prediction[..., 1:3, :, :].double() - lab_target[..., 1:3, :, :].double()
    error = torch.sqrt(diff[..., 0, :, :] ** 2 + diff[..., 1, :, :] ** 2)
    error = torch.nan_to_num(error, nan=math.inf)
    return torch.ceil(error).clamp(max=max_error + 1).long()


def ab_error_auc(
    lab_prediction: Tensor, lab_target: Tensor, *, max_error: int = AUC_MAX_ERROR
) -> Tensor:
    """Per-image AuC of the cumulative ab-error curve (Zhang et al. 2016, sec. 3.1), in [0, 1].

    Lab ``(*, 3, H, W)`` -> ``(*)``. For thresholds t = 0, 1, ..., ``max_error``
    (151 thresholds by default) the curve is the fraction of pixels whose
    Euclidean ab error ``||ab_pred - ab_true||_2`` is <= t (an error of exactly
    t counts); the AuC is the *mean of the curve over those thresholds*, i.e.
    ``Σ_t curve(t) / 151``. A perfect prediction gives 1.0; a constant error of
    50 gives 101/151. (The trapezoidal integral over [0, 150] divided by 150
    differs from this by less than 1/300.) Pixels are weighted equally; see
    :class:`AbErrorAuc` for the data-set-level and class-rebalanced values.
    """
    check_pair(lab_prediction, lab_target)
    buckets = _ab_error_buckets(lab_prediction, lab_target, max_error)
    # A pixel in bucket b is within every threshold t in b..max_error.
    within = (max_error + 1 - buckets).double() / (max_error + 1)
    return within.mean(dim=(-2, -1)).float()


class AbErrorAuc:
    """Streaming AuC of the cumulative ab-error curve, plain and class-rebalanced.

    Holds an int64 table ``(num_classes, max_error + 2)``: for each colour class
    of the *ground truth* (:func:`ab_grid_bins`, 22 x 22 = 484 classes by
    default) the number of pixels in each error bucket ``ceil(error)`` (0 ..
    ``max_error``, and ``max_error + 1`` for "over max_error").

    * :meth:`curve` ``(max_error + 1,)``: fraction of pixels with error <= t for
      t = 0 .. max_error; :meth:`auc` is its mean (same convention as
      :func:`ab_error_auc`; pooled over all pixels, so large images weigh more
      than the mean of per-image values would give them).
    * ``curve(rebalanced=True)`` / :meth:`auc_rebalanced`: each pixel weighted by
      the inverse frequency of its ground-truth colour class over all data seen
      (Zhang et al.: "re-weighting the pixels inversely by color class
      probability"), which equals the mean over the classes present of the
      per-class curves.

    ``state_dict()`` holds plain lists (JSON- and ``torch.save``-able);
    :meth:`merge` adds another accumulator's table.
    """

    def __init__(
        self, *, grid: float = 10, extent: float = 110, max_error: int = AUC_MAX_ERROR
    ) -> None:
        if max_error < 0:
            raise ValueError(f"max_error must be >= 0, got {max_error}")
        self.grid = grid
        self.extent = extent
        self.max_error = int(max_error)
        side = math.ceil(2 * extent / grid)
        self.num_classes = side * side
        self._counts = torch.zeros(self.num_classes, self.max_error + 2, dtype=torch.int64)

    @property
    def counts(self) -> Tensor:
        """A copy of the ``(num_classes, max_error + 2)`` int64 count table."""
        return self._counts.clone()

    @property
    def num_pixels(self) -> int:
        return int(self._counts.sum())

    def update(self, lab_prediction: Tensor, lab_target: Tensor) -> None:
        """Add the pixels of Lab images ``(*, 3, H, W)`` (prediction, ground truth)."""
        check_pair(lab_prediction, lab_target)
        buckets = _ab_error_buckets(lab_prediction, lab_target, self.max_error)
        classes = ab_grid_bins(lab_target[..., 1:3, :, :], self.grid, self.extent)
        width = self.max_error + 2
        flat = (classes * width + buckets).reshape(-1)
        table = torch.bincount(flat, minlength=self.num_classes * width)
        self._counts += table.view(self.num_classes, width).cpu()

    def curve(self, *, rebalanced: bool = False) -> Tensor:
        """Cumulative error curve, float64 ``(max_error + 1,)``: entry t is the fraction <= t."""
        per_class = self._counts
        totals = per_class.sum(dim=1)
        if int(totals.sum()) == 0:
            raise ValueError("no pixels accumulated")
        thresholds = self.max_error + 1
        if rebalanced:
            present = per_class[totals > 0]
            cumulative = present.cumsum(dim=1)[:, :thresholds].double()
            return (cumulative / totals[totals > 0, None].double()).mean(dim=0)
        pooled = per_class.sum(dim=0)
        return pooled.cumsum(dim=0)[:thresholds].double() / pooled.sum().double()

    def auc(self) -> float:
        """Mean of :meth:`curve` over the thresholds 0..max_error, in [0, 1]."""
        return float(self.curve().mean())

    def auc_rebalanced(self) -> float:
        """Mean of ``curve(rebalanced=True)``, in [0, 1]."""
        return float(self.curve(rebalanced=True).mean())

    def _config(self) -> dict[str, Any]:
        return {"grid": self.grid, "extent": self.extent, "max_error": self.max_error}

    def merge(self, other: AbErrorAuc) -> AbErrorAuc:
        """Add ``other``'s table into this accumulator; returns ``self``."""
        if other._config() != self._config():
            raise ValueError(f"cannot merge {other._config()} into {self._config()}")
        self._counts += other._counts
        return self

    def state_dict(self) -> dict[str, Any]:
        return {**self._config(), "counts": self._counts.tolist()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        config = {key: state[key] for key in ("grid", "extent", "max_error")}
        if config != self._config():
            raise ValueError(f"state has {config}, accumulator has {self._config()}")
        counts = torch.as_tensor(state["counts"], dtype=torch.int64)
        if counts.shape != self._counts.shape:
            raise ValueError(
                f"expected counts of shape {tuple(self._counts.shape)}, got {tuple(counts.shape)}"
            )
        self._counts = counts.clone()
