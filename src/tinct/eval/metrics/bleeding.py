"""Colour bleeding: chroma contrast lost across the ground truth's strong lightness edges.

Colourisation models often let the chroma of one region run over an object boundary
(a red shirt tinting the wall next to it), or smear two regions' colours into one
across it. Pixel-error metrics hardly see this: the affected band is thin. This
metric looks only at the ground truth's strong lightness edges and asks how much of
the ground truth's chroma *contrast* across each edge the colourisation kept, from
right at the edge (the chroma step) out to :data:`BLEED_MAX_DISTANCE` pixels on each
side (how far chroma leaks over). Definitions and limits: ``docs/evaluation.md``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from tinct.eval.metrics._checks import check_pair

__all__ = ["BLEED_CANNY_THRESHOLDS", "BLEED_MAX_DISTANCE", "colour_bleeding"]

#: Offsets k = 1..this (pixels, along the edge normal) at which both sides are compared.
BLEED_MAX_DISTANCE = 8
#: Canny hysteresis thresholds (low, high) on the L2 Sobel gradient of the ground truth's
#: L* scaled to 0..255 (grey level ``round(2.55 L)``). A 3x3 Sobel answers a sharp step
#: of h grey levels with 4h, so the high threshold 100 keeps steps of about 25 grey
#: levels (10 L* units) and the low one 50 continues them down to about 5 L* units.
BLEED_CANNY_THRESHOLDS = (50.0, 100.0)


def _edges_and_normals(lightness: np.ndarray, thresholds: tuple[float, float]) -> np.ndarray:
    """``(n, 4)`` rows ``(y, x, ny, nx)``: edge pixels of L* ``(H, W)`` (float64, 0..100)
    and their unit gradient directions."""
    import cv2

    from tinct.data.guidance import canny_edges

    grey = torch.from_numpy(np.clip(lightness / 100.0, 0.0, 1.0)).float()
    edges = canny_edges(grey.expand(3, *grey.shape), thresholds=thresholds)[0].numpy() > 0
    gx = cv2.Sobel(lightness, cv2.CV_64F, 1, 0, ksize=3, borderType=cv2.BORDER_REPLICATE)
    gy = cv2.Sobel(lightness, cv2.CV_64F, 0, 1, ksize=3, borderType=cv2.BORDER_REPLICATE)
    ys, xs = np.nonzero(edges)
    norm = np.hypot(gx[ys, xs], gy[ys, xs])
    keep = norm > 0
    ys, xs, norm = ys[keep], xs[keep], norm[keep]
    return np.stack([ys, xs, gy[ys, xs] / norm, gx[ys, xs] / norm], axis=1).astype(np.float64)


def _sample(ab: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``ab`` ``(2, H, W)`` at the points ``(y, x)`` (inside), ``(2, n)``."""
    h, w = ab.shape[-2:]
    y0 = np.clip(np.floor(y).astype(np.int64), 0, h - 2)
    x0 = np.clip(np.floor(x).astype(np.int64), 0, w - 2)
    fy, fx = y - y0, x - x0
    top = ab[:, y0, x0] * (1 - fx) + ab[:, y0, x0 + 1] * fx
    bottom = ab[:, y0 + 1, x0] * (1 - fx) + ab[:, y0 + 1, x0 + 1] * fx
    return np.asarray(top * (1 - fy) + bottom * fy)


def _bleeding_one(
    pred: np.ndarray, true: np.ndarray, max_distance: int, thresholds: tuple[float, float]
) -> float:
    h, w = true.shape[-2:]
    if h < 2 or w < 2:
        return 0.0
    edges = _edges_and_normals(true[0], thresholds)
    lost: list[np.ndarray] = []
    for k in range(1, max_distance + 1):
        y, x, ny, nx = edges.T
        ya, xa, yb, xb = y + k * ny, x + k * nx, y - k * ny, x - k * nx
        inside = (
            (np.minimum(ya, yb) >= 0)
            & (np.maximum(ya, yb) <= h - 1)
            & (np.minimum(xa, xb) >= 0)
            & (np.maximum(xa, xb) <= w - 1)
        )
        if not inside.any():
            continue
        ya, xa, yb, xb = ya[inside], xa[inside], yb[inside], xb[inside]
        contrast_true = np.linalg.norm(
            _sample(true[1:], ya, xa) - _sample(true[1:], yb, xb), axis=0
        )
        contrast_pred = np.linalg.norm(
            _sample(pred[1:], ya, xa) - _sample(pred[1:], yb, xb), axis=0
        )
        lost.append(np.maximum(contrast_true - contrast_pred, 0.0))
    if not lost:
        return 0.0
    return float(np.concatenate(lost).mean())


def colour_bleeding(
    lab_prediction: Tensor,
    lab_target: Tensor,
    *,
    max_distance: int = BLEED_MAX_DISTANCE,
    thresholds: tuple[float, float] = BLEED_CANNY_THRESHOLDS,
) -> Tensor:
    """Colour-bleeding score per image, Lab ``(*, 3, H, W)`` -> ``(*)``, in ab units; 0 is
    no bleeding, lower is better.

    Edges E are the Canny edges (:func:`tinct.data.guidance.canny_edges`, fixed
    ``thresholds``, :data:`BLEED_CANNY_THRESHOLDS`) of the *ground truth's* L*, so the
    same pixels are examined for every colourisation of an image. At each edge pixel p
    with unit normal n (the direction of the Sobel gradient of the true L*), for each
    offset k = 1..K (``max_distance``), the chroma contrast across the edge is

        c(ab, p, k) = || ab(p + k n) - ab(p - k n) ||₂      (bilinear samples)

    and the score is the mean contrast the prediction lost, over all pairs (p, k)
    whose two samples lie inside the image:

        B = mean_{p ∈ E, k} max(0, c(ab_true, p, k) - c(ab_pred, p, k)).

    k = 1 measures the chroma step right at the edge; larger k how far chroma leaks
    over it (a region's chroma running s pixels past the edge erases the contrast at
    every k < s). The ground truth scores exactly 0, and so does any prediction that
    keeps every cross-edge contrast (a constant ab offset of the whole image, a hue
    rotation, or extra contrast are not bleeding; ΔE and the AuC see those). A
    prediction with constant chroma (greyscale, mean-chroma) loses all of it and scores
    the mean true contrast. An image without strong edges (e.g. uniform) has nothing to
    bleed across and scores 0.
    """
    check_pair(lab_prediction, lab_target)
    if max_distance < 1:
        raise ValueError(f"max_distance must be at least 1, got {max_distance}")
    leading = lab_prediction.shape[:-3]
    height, width = lab_prediction.shape[-2:]
    pred = lab_prediction.detach().cpu().double().reshape(-1, 3, height, width).numpy()
    true = lab_target.detach().cpu().double().reshape(-1, 3, height, width).numpy()
    scores = [
        _bleeding_one(p, t, max_distance, thresholds) for p, t in zip(pred, true, strict=True)
    ]
    return torch.tensor(scores, dtype=torch.float32).reshape(leading)
