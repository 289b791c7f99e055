"""Classification losses over ab bins (Zhang et al. 2016 eqs. 2-3; seed 002 sections 3.2-3.3,
seed 000 eqs. 4.1-4.2).

A model predicts logits ``(B, Q, H, W)`` over the Q ab bins of :mod:`tinct.color.quantize`;
the target is a distribution over the same bins built from ground-truth ab: soft-encoded
(5 nearest bins, Gaussian sigma 5) or one-hot. Rebalancing weights each pixel by the
weight of its most likely target bin (:func:`tinct.color.rebalancing_weights`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from tinct.color.quantize import one_hot_encode, soft_encode

__all__ = [
    "CLASSIFICATION_LOSSES",
    "ClassificationLossKind",
    "classification_loss",
    "classification_target",
    "multinomial_cross_entropy",
    "rebalancing_pixel_weights",
]


@dataclass(frozen=True)
class ClassificationLossKind:
    """How a classification loss builds its target from ground-truth ab.

    Attributes:
        soft: soft-encode the target (:func:`tinct.color.soft_encode`) rather than one-hot.
        rebalanced: weight each pixel by the class-rebalancing weight of its target bin.
    """

    soft: bool
    rebalanced: bool


#: Name -> target recipe; configs pick a loss by name.
CLASSIFICATION_LOSSES: dict[str, ClassificationLossKind] = {
    "rebalanced": ClassificationLossKind(soft=True, rebalanced=True),
    "unbalanced": ClassificationLossKind(soft=True, rebalanced=False),
    "one-hot": ClassificationLossKind(soft=False, rebalanced=False),
}


def _check_distributions(logits: Tensor, target_dist: Tensor, name: str) -> None:
    if logits.ndim != 4 or logits.shape != target_dist.shape:
        raise ValueError(
            f"{name} expects logits and target_dist of the same shape (B, Q, H, W), got "
            f"logits {tuple(logits.shape)} and target_dist {tuple(target_dist.shape)}"
        )


def multinomial_cross_entropy(
    logits: Tensor, target_dist: Tensor, *, pixel_weights: Tensor | None = None
) -> Tensor:
    """Multinomial cross-entropy with per-pixel weights (Zhang eq. 2; seed 000 eq. 4.1).

    ``L = -(1/N) sum_pixels v(pixel) sum_q Z_q log softmax(logits)_q`` over all N pixels
    of all images. Zhang sums over the pixels; the mean makes the loss independent of image
    size and batch size. With rebalancing weights (``E_p~[w] = 1``) the mean weight over a
    data set is about 1, so the weighted and unweighted losses have the same scale.
    Computed in float32 (logits may be bf16).

    Args:
        logits: ``(B, Q, H, W)`` unnormalised scores.
        target_dist: ``(B, Q, H, W)`` target distributions Z (each pixel sums to 1), same
            shape as ``logits``.
        pixel_weights: ``(B, H, W)`` weights v, or None for all ones.

    Returns:
        Scalar loss (float32).
    """
    _check_distributions(logits, target_dist, "multinomial_cross_entropy")
    log_probs = F.log_softmax(logits.float(), dim=1)
    # A logit of -inf gives log p = -inf; clamping keeps 0 * log p at 0 where Z is 0.
    log_probs = log_probs.clamp(min=torch.finfo(log_probs.dtype).min)
    per_pixel = -(target_dist.float() * log_probs).sum(dim=1)
    if pixel_weights is not None:
        if pixel_weights.shape != per_pixel.shape:
            raise ValueError(
                f"multinomial_cross_entropy expects pixel_weights of shape (B, H, W) = "
                f"{tuple(per_pixel.shape)}, got {tuple(pixel_weights.shape)}"
            )
        per_pixel = per_pixel * pixel_weights.float()
    return per_pixel.mean()


def rebalancing_pixel_weights(target_dist: Tensor, weights: Tensor) -> Tensor:
    """Per-pixel weights ``v = w[argmax_q Z]`` (Zhang eq. 3; seed 000 eq. 4.2).

    Args:
        target_dist: ``(B, Q, H, W)`` target distributions Z.
        weights: ``(Q,)`` class weights w (:func:`tinct.color.rebalancing_weights`).

    Returns:
        ``(B, H, W)`` weights in the dtype of ``weights``.
    """
    if target_dist.ndim != 4 or weights.shape != (target_dist.shape[1],):
        raise ValueError(
            f"rebalancing_pixel_weights expects target_dist (B, Q, H, W) and weights (Q,), "
            f"got {tuple(target_dist.shape)} and {tuple(weights.shape)}"
        )
    return weights.to(target_dist.device)[target_dist.argmax(dim=1)]


def classification_target(
    kind: str,
    ab_target: Tensor,
    bins: Tensor,
    *,
    weights: Tensor | None = None,
    neighbours: int = 5,
    sigma: float = 5.0,
) -> tuple[Tensor, Tensor | None]:
    """Target distributions and pixel weights of loss ``kind`` for ground-truth ab.

    Args:
        kind: a name in :data:`CLASSIFICATION_LOSSES`.
        ab_target: ``(B, 2, H, W)`` ground-truth ab (no gradient is taken).
        bins: ``(Q, 2)`` bin centres.
        weights: ``(Q,)`` rebalancing weights; required by ``"rebalanced"``, ignored by the
            other kinds.
        neighbours, sigma: soft-encoding parameters (:func:`tinct.color.soft_encode`).

    Returns:
        ``(target_dist (B, Q, H, W), pixel_weights (B, H, W) or None)``.
    """
    try:
        recipe = CLASSIFICATION_LOSSES[kind]
    except KeyError:
        raise ValueError(
            f"unknown classification loss {kind!r}; choose one of {sorted(CLASSIFICATION_LOSSES)}"
        ) from None
    if recipe.rebalanced and weights is None:
        raise ValueError(f"classification loss {kind!r} needs rebalancing weights (weights=)")
    with torch.no_grad():
        if recipe.soft:
            target = soft_encode(ab_target, bins, neighbours=neighbours, sigma=sigma)
        else:
            target = one_hot_encode(ab_target, bins)
        pixel_weights = (
            rebalancing_pixel_weights(target, weights)
            if recipe.rebalanced and weights is not None
            else None
        )
    return target, pixel_weights


def classification_loss(
    kind: str,
    logits: Tensor,
    ab_target: Tensor,
    bins: Tensor,
    *,
    weights: Tensor | None = None,
    neighbours: int = 5,
    sigma: float = 5.0,
) -> Tensor:
    """Cross-entropy of ``logits`` against a target built from ground-truth ab.

    Kinds (:data:`CLASSIFICATION_LOSSES`): ``"rebalanced"`` (soft-encoded target, pixels
    weighted by ``weights``: Zhang's loss), ``"unbalanced"`` (soft-encoded, unweighted),
    ``"one-hot"`` (nearest bin only, unweighted: plain cross-entropy).

    ``ab_target`` must already be at the logits' resolution: a network that predicts at
    1/4 resolution needs its ground truth downsampled by the caller (e.g. by taking every
    4th pixel, as Zhang's code does, or ``F.interpolate(ab, size, mode="area")``, which
    averages colours across edges).

    Args:
        kind: a name in :data:`CLASSIFICATION_LOSSES`.
        logits: ``(B, Q, H, W)`` unnormalised scores.
        ab_target: ``(B, 2, H, W)`` ground-truth ab, same B, H, W as ``logits``.
        bins: ``(Q, 2)`` bin centres.
        weights: ``(Q,)`` rebalancing weights (``"rebalanced"`` only).
        neighbours, sigma: soft-encoding parameters (Zhang: 5 and 5).

    Returns:
        Scalar loss (mean over pixels, see :func:`multinomial_cross_entropy`).
    """
    if (
        logits.ndim != 4
        or ab_target.ndim != 4
        or logits.shape[0] != ab_target.shape[0]
        or logits.shape[2:] != ab_target.shape[2:]
    ):
        raise ValueError(
            f"classification_loss expects logits (B, Q, H, W) and ab_target (B, 2, H, W) at "
            f"the same resolution, got logits {tuple(logits.shape)} and ab_target "
            f"{tuple(ab_target.shape)}"
        )
    if logits.shape[1] != bins.shape[0]:
        raise ValueError(
            f"classification_loss: logits {tuple(logits.shape)} have {logits.shape[1]} classes "
            f"but bins {tuple(bins.shape)} have {bins.shape[0]}"
        )
    target, pixel_weights = classification_target(
        kind, ab_target, bins, weights=weights, neighbours=neighbours, sigma=sigma
    )
    return multinomial_cross_entropy(logits, target, pixel_weights=pixel_weights)
