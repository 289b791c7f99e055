"""Image-quality metrics on tensors, batched over leading dimensions.

Units: RGB in [0, 1] unless stated; Lab in CIE units (L 0..100, a and b about
-128..127). Images are ``(*, 3, H, W)``; per-image results have the leading
shape ``(*)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor


def psnr(prediction: Tensor, target: Tensor, *, data_range: float = 1.0) -> Tensor:
    """Peak signal-to-noise ratio in dB per image, over the last three dims ``(C, H, W)``.

    Identical images give ``inf``.
    """
    if prediction.shape != target.shape:
        raise ValueError(f"shapes differ: {tuple(prediction.shape)} vs {tuple(target.shape)}")
    mse = ((prediction.double() - target.double()) ** 2).mean(dim=(-3, -2, -1))
    return (10 * torch.log10(data_range**2 / mse)).float()


def delta_e_cie76(lab1: Tensor, lab2: Tensor) -> Tensor:
    """CIE76 colour difference: Euclidean distance in Lab, per pixel ``(*, H, W)``."""
    return torch.linalg.vector_norm(lab1 - lab2, dim=-3)


def delta_e_ciede2000(lab1: Tensor, lab2: Tensor) -> Tensor:
    """CIEDE2000 colour difference per pixel (Sharma, Wu & Dalal 2005), ``(*, 3, H, W)`` ->
    ``(*, H, W)``, with kL = kC = kH = 1."""
    lab1, lab2 = lab1.double(), lab2.double()
    l1, a1, b1 = lab1.unbind(-3)
    l2, a2, b2 = lab2.unbind(-3)
    c1 = torch.hypot(a1, b1)
    c2 = torch.hypot(a2, b2)
    c_mean7 = ((c1 + c2) / 2) ** 7
    g = 0.5 * (1 - torch.sqrt(c_mean7 / (c_mean7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = torch.hypot(a1p, b1), torch.hypot(a2p, b2)
    h1p = torch.atan2(b1, a1p) % (2 * math.pi)
    h2p = torch.atan2(b2, a2p) % (2 * math.pi)
    zero = (c1p * c2p) == 0
    dl = l2 - l1
    dc = c2p - c1p
    dh = h2p - h1p
    dh = torch.where(dh > math.pi, dh - 2 * math.pi, dh)
    dh = torch.where(dh < -math.pi, dh + 2 * math.pi, dh)
    dh = torch.where(zero, torch.zeros_like(dh), dh)
    dhh = 2 * torch.sqrt(c1p * c2p) * torch.sin(dh / 2)
    l_mean = (l1 + l2) / 2
    c_mean = (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_mean = torch.where(
        (h1p - h2p).abs() <= math.pi,
        h_sum / 2,
        torch.where(h_sum < 2 * math.pi, (h_sum + 2 * math.pi) / 2, (h_sum - 2 * math.pi) / 2),
    )
    h_mean = torch.where(zero, h_sum, h_mean)
    t = (
        1
        - 0.17 * torch.cos(h_mean - math.radians(30))
        + 0.24 * torch.cos(2 * h_mean)
        + 0.32 * torch.cos(3 * h_mean + math.radians(6))
        - 0.20 * torch.cos(4 * h_mean - math.radians(63))
    )
    d_theta = math.radians(30) * torch.exp(-(((torch.rad2deg(h_mean) - 275) / 25) ** 2))
    c_mean7p = c_mean**7
    r_c = 2 * torch.sqrt(c_mean7p / (c_mean7p + 25.0**7))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / torch.sqrt(20 + (l_mean - 50) ** 2)
    s_c = 1 + 0.045 * c_mean
    s_h = 1 + 0.015 * c_mean * t
    r_t = -torch.sin(2 * d_theta) * r_c
    de = torch.sqrt(
        (dl / s_l) ** 2 + (dc / s_c) ** 2 + (dhh / s_h) ** 2 + r_t * (dc / s_c) * (dhh / s_h)
    )
    return de.float()


def colourfulness(rgb: Tensor) -> Tensor:
    """Colourfulness M of Hasler & Süsstrunk (2003) per image, RGB ``(*, 3, H, W)`` in [0, 1].

    ``rg = R - G``, ``yb = (R + G) / 2 - B`` on 0..255 values;
    ``M = sqrt(std_rg² + std_yb²) + 0.3 sqrt(mean_rg² + mean_yb²)`` with the
    signed opponent channels, as in the paper (several repositories take their
    absolute values first, which inflates M for images with mixed hues).
    A greyscale image has M = 0.
    """
    rgb255 = rgb.double() * 255
    r, g, b = rgb255.unbind(-3)
    rg = r - g
    yb = 0.5 * (r + g) - b
    dims = (-2, -1)
    std = torch.sqrt(rg.var(dim=dims, correction=0) + yb.var(dim=dims, correction=0))
    mean = torch.sqrt(rg.mean(dim=dims) ** 2 + yb.mean(dim=dims) ** 2)
    return (std + 0.3 * mean).float()


def _check_pair(prediction: Tensor, target: Tensor, *, channels: int = 3) -> None:
    """Raise ValueError unless both are ``(*, channels, H, W)`` of the same shape."""
    if prediction.shape != target.shape:
        raise ValueError(f"shapes differ: {tuple(prediction.shape)} vs {tuple(target.shape)}")
    if prediction.ndim < 3 or prediction.shape[-3] != channels:
        raise ValueError(
            f"expected images of shape (*, {channels}, H, W), got {tuple(prediction.shape)}"
        )


def _check_lab(lab: Tensor) -> None:
    if lab.ndim < 3 or lab.shape[-3] != 3:
        raise ValueError(f"expected Lab images of shape (*, 3, H, W), got {tuple(lab.shape)}")


def rmse_rgb(prediction: Tensor, target: Tensor) -> Tensor:
    """Root-mean-square error per image over R, G, B and all pixels, in 0..255 units.

    Inputs are RGB ``(*, 3, H, W)`` in [0, 1]; the result ``(*)`` is
    ``255 * sqrt(mean((prediction - target)²))``. Identical images give 0.
    """
    _check_pair(prediction, target)
    mse = ((prediction.double() - target.double()) ** 2).mean(dim=(-3, -2, -1))
    return (255.0 * torch.sqrt(mse)).float()


def rmse_ab(lab_prediction: Tensor, lab_target: Tensor) -> Tensor:
    """Root-mean-square error per image over the a and b channels, in CIE Lab units.

    Inputs are Lab ``(*, 3, H, W)``; L is ignored. The mean runs over both
    channels and all pixels, so this is ``sqrt(mean(Δa² + Δb²) / 2)``; the
    Euclidean ab error per pixel has RMS ``sqrt(2)`` times this. Result ``(*)``.
    """
    _check_pair(lab_prediction, lab_target)
    diff = lab_prediction[..., 1:3, :, :].double() - lab_target[..., 1:3, :, :].double()
    return torch.sqrt((diff**2).mean(dim=(-3, -2, -1))).float()


SSIM_KERNEL_SIZE = 11
SSIM_SIGMA = 1.5


def _gaussian_filter_valid(maps: Tensor) -> list[Tensor]:
    """Each ``(H, W)`` map of ``maps`` ``(5N, 1, H, W)`` (float64) filtered with the SSIM
    Gaussian window, interior pixels only; returned as five ``(N, 1, h, w)`` tensors."""
    import cv2

    x = torch.arange(SSIM_KERNEL_SIZE, dtype=torch.float64) - (SSIM_KERNEL_SIZE - 1) / 2
    window = torch.exp(-(x**2) / (2 * SSIM_SIGMA**2))
    kernel = (window / window.sum()).numpy()
    crop = (SSIM_KERNEL_SIZE - 1) // 2
    arrays = maps[:, 0].numpy()
    # OpenCV's separable filter: two 1-D passes, exact to float64 rounding, and about
    # 30x faster than torch's float64 convolution on CPU. The border it pads is cut off.
    out = np.stack(
        [cv2.sepFilter2D(a, -1, kernel, kernel, borderType=cv2.BORDER_REFLECT) for a in arrays]
    )[:, None, crop : arrays.shape[1] - crop, crop : arrays.shape[2] - crop]
    return list(torch.from_numpy(np.ascontiguousarray(out)).chunk(5))


def ssim(prediction: Tensor, target: Tensor, *, data_range: float = 1.0) -> Tensor:
    """Structural similarity (Wang et al. 2004) per image on RGB ``(*, 3, H, W)`` -> ``(*)``.

    Unitless, at most 1 (identical images give exactly 1). Gaussian window of
    11 taps with sigma 1.5, K1 = 0.01, K2 = 0.03, population (not sample)
    covariances; the SSIM map is computed per channel and averaged over channels
    and over the *valid* pixels only (the 5-pixel border, where the window would
    reach outside the image, is not part of the map). That is the convention of
    scikit-image's ``structural_similarity(..., gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, channel_axis=...)`` and of Wang et al.'s MATLAB
    code; torchmetrics averages the whole map including a border computed on
    reflect-padded images, which reads about 1e-3 apart, and its 2-D float64
    convolution took 0.44 s per 256x256 image on this 2-core CPU; the separable
    OpenCV filter used here takes about 15 ms. Computed in float64. ``H`` and ``W``
    must be at least 11.
    """
    _check_pair(prediction, target)
    height, width = prediction.shape[-2:]
    if min(height, width) < SSIM_KERNEL_SIZE:
        raise ValueError(
            f"SSIM needs images of at least {SSIM_KERNEL_SIZE}x{SSIM_KERNEL_SIZE} pixels, "
            f"got {tuple(prediction.shape)}"
        )
    leading = prediction.shape[:-3]
    x = prediction.double().reshape(-1, 1, height, width)
    y = target.double().reshape(-1, 1, height, width)
    mu_x, mu_y, xx, yy, xy = _gaussian_filter_valid(torch.cat([x, y, x * x, y * y, x * y]))
    var_x, var_y, cov = xx - mu_x**2, yy - mu_y**2, xy - mu_x * mu_y
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    )
    per_channel = ssim_map.mean(dim=(-3, -2, -1))
    return per_channel.view(-1, 3).mean(dim=1).reshape(leading).float()


def colourfulness_gap(prediction: Tensor, target: Tensor) -> Tensor:
    """Signed colourfulness difference ``M(prediction) - M(target)`` per image ``(*)``.

    M is :func:`colourfulness` (Hasler & Süsstrunk 2003, on 0..255 values) of
    RGB ``(*, 3, H, W)`` in [0, 1]. Negative means the prediction is less
    colourful than the ground truth (the usual failure of regression
    colourisation); identical images give 0.
    """
    _check_pair(prediction, target)
    return colourfulness(prediction) - colourfulness(target)


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
    _check_pair(lab_prediction, lab_target)
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
        _check_pair(lab_prediction, lab_target)
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
