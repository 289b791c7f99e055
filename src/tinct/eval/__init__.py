"""Evaluation: the metrics of the seed documents, model cost, and the runner behind
``tinct evaluate`` / ``tinct benchmark`` with its reports.

Metrics (:mod:`tinct.eval.metrics`: per image in ``pixel``, of ab distributions in
``distribution``) and cost (:mod:`tinct.eval.cost`) are plain tensor functions; feature
metrics (:mod:`tinct.eval.features`) use the offline EfficientNet-Lite0.
:mod:`tinct.eval.runner` evaluates models on a dataset,
:mod:`tinct.eval.report` writes tables and plots, :mod:`tinct.eval.benchmark` adds speed
and memory, and :mod:`tinct.eval.results` keeps ``docs/results/`` and the README table.
:mod:`tinct.eval.diversity` measures how different several samples of one image are
(the CVAE); :mod:`tinct.eval.shapes` whether a model learnt Shape Set's shape -> colour.
"""

from __future__ import annotations

from tinct.eval.cost import (
    LatencyStats,
    count_flops,
    count_parameters,
    measure_latency,
    peak_rss_growth,
    peak_rss_mib,
    train_seconds_from_logs,
)
from tinct.eval.diversity import (
    SampleDiversity,
    mean_diversity,
    pairwise_ab_distance,
    sample_diversity,
)
from tinct.eval.features import (
    FD_LITE_NAME,
    TOP1_AGREEMENT_NAME,
    FeatureStats,
    InceptionFeatures,
    LiteClassifier,
    fd_lite,
    frechet_distance,
    load_inception_features,
    top1_agreement,
)
from tinct.eval.metrics.bleeding import colour_bleeding
from tinct.eval.metrics.distribution import (
    AB_HIST_EDGES,
    AbErrorAuc,
    AbHistogram,
    ab_error_auc,
    ab_grid_bins,
    ab_histogram,
    histogram_divergences,
)
from tinct.eval.metrics.pixel import (
    colourfulness,
    colourfulness_gap,
    delta_e_cie76,
    delta_e_ciede2000,
    psnr,
    rmse_ab,
    rmse_rgb,
    ssim,
)
from tinct.eval.shapes import ShapeColourStats, shape_colour_assignment
from tinct.eval.state import EvalStateError, load_state

__all__ = [
    "AB_HIST_EDGES",
    "FD_LITE_NAME",
    "TOP1_AGREEMENT_NAME",
    "AbErrorAuc",
    "AbHistogram",
    "EvalStateError",
    "FeatureStats",
    "InceptionFeatures",
    "LatencyStats",
    "LiteClassifier",
    "SampleDiversity",
    "ShapeColourStats",
    "ab_error_auc",
    "ab_grid_bins",
    "ab_histogram",
    "colour_bleeding",
    "colourfulness",
    "colourfulness_gap",
    "count_flops",
    "count_parameters",
    "delta_e_cie76",
    "delta_e_ciede2000",
    "fd_lite",
    "frechet_distance",
    "histogram_divergences",
    "load_inception_features",
    "load_state",
    "mean_diversity",
    "measure_latency",
    "pairwise_ab_distance",
    "peak_rss_growth",
    "peak_rss_mib",
    "psnr",
    "rmse_ab",
    "rmse_rgb",
    "sample_diversity",
    "shape_colour_assignment",
    "ssim",
    "top1_agreement",
    "train_seconds_from_logs",
]
