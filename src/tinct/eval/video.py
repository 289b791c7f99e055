"""Flicker metrics of colourised videos: warp error and colour distribution consistency.

- :func:`warp_error`: mean chroma change between consecutive frames after motion
  compensation (Lai et al. 2018, "Learning Blind Video Temporal Consistency", E_warp,
  here on the a*b* chroma only, in CIELAB units): the previous frame's ab is warped to
  the current one along Farneback flow (not the stabiliser's DIS flow) computed on a
  *guide* (the ground truth, or the frames' lightness, which colourisation keeps), and
  compared where the flow is trustworthy: forward-backward consistent (Sundaram et al.
  2010's occlusion test) and inside the frame. Frame pairs across a scene cut are left out.
- :func:`cdc`: colour distribution consistency (Liu et al. 2021, "Temporally Consistent
  Video Colorization with Deep Feature Propagation and Self-regularization Learning"):
  Jensen-Shannon divergence (base 2, 0..1) of per-channel a*, b* histograms between
  frames 1, 2 and 4 apart, averaged over channels, pairs and the three gaps.

Lower is steadier for both. :func:`flicker_report` measures a pipeline with and without
stabilisation next to the true colour video.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from tinct.pipeline import ColourisePipeline
from tinct.pipeline.temporal import farneback_flow, histogram_distance, warp
from tinct.pipeline.video import FrameColouriser

#: Frame gaps of CDC (Liu et al. 2021).
CDC_GAPS = (1, 2, 4)
#: Histogram bins per a*/b* channel over [-128, 128) for CDC.
CDC_BINS = 64
#: Lightness-histogram distance above which two consecutive frames count as a cut.
CUT_DISTANCE = 0.35


def _check(frames: Sequence[np.ndarray], name: str = "frames") -> None:
    for frame in frames:
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"{name} must be (H, W, 3) uint8 RGB, got {frame.shape} {frame.dtype}")


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` uint8 sRGB -> float32 CIELAB ``(H, W, 3)`` (L 0..100, ab ~ +-110)."""
    import cv2

    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def _grey(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def consistent_flow_mask(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Pixels of the current frame whose flow to the previous frame (``backward``)
    and back (``forward``, previous -> current) agree, and that stay inside the frame
    (Sundaram et al. 2010: ``|b + f(x + b)|^2 < 0.01 (|b|^2 + |f(x + b)|^2) + 0.5``)."""
    forward_back, inside = warp(forward, backward)
    total = backward + forward_back
    bound = 0.01 * (np.square(backward).sum(-1) + np.square(forward_back).sum(-1)) + 0.5
    return (np.square(total).sum(-1) < bound) & inside


def warp_error(
    frames: Sequence[np.ndarray],
    guide: Sequence[np.ndarray] | None = None,
    *,
    cut_distance: float = CUT_DISTANCE,
) -> float:
    """Mean ab distance (CIELAB units) between each frame and its motion-compensated
    predecessor, over consistent-flow pixels, averaged over frame pairs.

    ``frames``: ``(H, W, 3)`` uint8 RGB, in order. ``guide``: frames of the same size
    the flow is computed on (the ground truth; default ``frames``). Pairs whose guide
    lightness histograms differ by more than ``cut_distance`` (a cut) are skipped;
    ``nan`` when no pair is left.
    """
    _check(frames)
    guide = frames if guide is None else guide
    if len(guide) != len(frames):
        raise ValueError(f"got {len(guide)} guide frames for {len(frames)} frames")
    _check(guide, "guide")
    errors = []
    previous_ab = None
    previous_grey = None
    for frame, reference in zip(frames, guide, strict=True):
        ab = np.ascontiguousarray(rgb_to_lab(frame)[..., 1:])
        grey = _grey(reference)
        if (
            previous_ab is not None
            and previous_grey is not None
            and histogram_distance(previous_grey, grey) <= cut_distance
        ):
            backward = farneback_flow(grey, previous_grey)
            forward = farneback_flow(previous_grey, grey)
            mask = consistent_flow_mask(backward, forward)
            if mask.any():
                warped, _ = warp(previous_ab, backward)
                distance = np.sqrt(np.square(ab - warped).sum(-1))
                errors.append(float(distance[mask].mean()))
        previous_ab, previous_grey = ab, grey
    return float(np.mean(errors)) if errors else float("nan")


def _ab_histograms(frame: np.ndarray, bins: int) -> np.ndarray:
    ab = rgb_to_lab(frame)[..., 1:].reshape(-1, 2)
    hists = [np.histogram(ab[:, c], bins=bins, range=(-128.0, 128.0))[0] for c in range(2)]
    out = np.asarray(hists, dtype=np.float64) + 1e-12
    return out / out.sum(axis=1, keepdims=True)


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence (base 2, in [0, 1]) of two normalised histograms."""
    m = 0.5 * (p + q)
    kl_pm = float(np.sum(p * np.log2(p / m)))
    kl_qm = float(np.sum(q * np.log2(q / m)))
    return 0.5 * (kl_pm + kl_qm)


def cdc(
    frames: Sequence[np.ndarray], *, gaps: Sequence[int] = CDC_GAPS, bins: int = CDC_BINS
) -> float:
    """Colour distribution consistency: mean Jensen-Shannon divergence of the a*, b*
    histograms of frames ``gap`` apart, averaged over both channels, all pairs and
    ``gaps`` (those longer than the video are left out; ``nan`` when none is left)."""
    _check(frames)
    hists = [_ab_histograms(f, bins) for f in frames]
    per_gap = []
    for gap in gaps:
        pairs = [
            np.mean([js_divergence(hists[t][c], hists[t + gap][c]) for c in range(2)])
            for t in range(len(hists) - gap)
        ]
        if pairs:
            per_gap.append(float(np.mean(pairs)))
    return float(np.mean(per_gap)) if per_gap else float("nan")


@dataclass(frozen=True)
class FlickerScores:
    """Warp error (ab units) and CDC (JS divergence) of one video; lower is steadier."""

    warp_error: float
    cdc: float


def flicker_scores(
    frames: Sequence[np.ndarray], guide: Sequence[np.ndarray] | None = None
) -> FlickerScores:
    """:func:`warp_error` (flow on ``guide``, default ``frames``) and :func:`cdc`."""
    return FlickerScores(warp_error(frames, guide), cdc(frames))


def flicker_report(
    truth: Sequence[np.ndarray], pipeline: ColourisePipeline, *, batch: int = 4
) -> dict[str, dict[str, float]]:
    """Flicker of ``pipeline`` on the true colour frames ``truth`` (colourised from their
    lightness) without and with stabilisation, and of ``truth`` itself, all with flow
    on the truth: ``{"truth" | "unstabilised" | "stabilised": {"warp_error", "cdc"}}``."""
    _check(truth, "truth")
    report = {"truth": asdict(flicker_scores(truth))}
    for name, stabilise in (("unstabilised", False), ("stabilised", True)):
        colouriser = FrameColouriser(pipeline, stabilise=stabilise, batch=batch)
        coloured = list(colouriser(truth))
        report[name] = asdict(flicker_scores(coloured, truth))
    return report
