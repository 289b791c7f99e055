"""Image-quality metrics on tensors: per image, and of ab distributions (seed 004's KL/JS).

:mod:`~tinct.eval.metrics.pixel` has the per-image metrics (PSNR, ΔE76, ΔE2000, RMSE, SSIM,
colourfulness and its gap); :mod:`~tinct.eval.metrics.bleeding` the colour-bleeding
score (chroma contrast lost across the ground truth's lightness edges);
:mod:`~tinct.eval.metrics.distribution` the metrics of ab over
a data set (a/b histograms with their KL and Jensen–Shannon divergences after seed 004, and
the AuC of the cumulative ab-error curve after Zhang et al. 2016). This package is the part
of ``eval`` that ``train`` and ``losses`` may use (ARCHITECTURE.md); its public names are
re-exported here, so ``from tinct.eval.metrics import psnr`` works as it did when it was one
module (:mod:`tinct.eval.runner` imports so).
"""

from __future__ import annotations

from tinct.eval.metrics.bleeding import (
    BLEED_CANNY_THRESHOLDS,
    BLEED_MAX_DISTANCE,
    colour_bleeding,
)
from tinct.eval.metrics.distribution import (
    AB_HIST_BINS,
    AB_HIST_EDGES,
    AUC_MAX_ERROR,
    AbErrorAuc,
    AbHistogram,
    ab_error_auc,
    ab_grid_bins,
    ab_histogram,
    histogram_divergences,
)
from tinct.eval.metrics.pixel import (
    SSIM_KERNEL_SIZE,
    SSIM_SIGMA,
    colourfulness,
    colourfulness_gap,
    delta_e_cie76,
    delta_e_ciede2000,
    psnr,
    rmse_ab,
    rmse_rgb,
    ssim,
)

__all__ = [
    "AB_HIST_BINS",
    "AB_HIST_EDGES",
    "AUC_MAX_ERROR",
    "BLEED_CANNY_THRESHOLDS",
    "BLEED_MAX_DISTANCE",
    "SSIM_KERNEL_SIZE",
    "SSIM_SIGMA",
    "AbErrorAuc",
    "AbHistogram",
    "ab_error_auc",
    "ab_grid_bins",
    "ab_histogram",
    "colour_bleeding",
    "colourfulness",
    "colourfulness_gap",
    "delta_e_cie76",
    "delta_e_ciede2000",
    "histogram_divergences",
    "psnr",
    "rmse_ab",
    "rmse_rgb",
    "ssim",
]
