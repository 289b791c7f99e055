"""Decoding bin distributions to ab: mode, mean, annealed mean (seed 002 section 3.1).

Colourisation as classification (Zhang, Isola & Efros 2016; seed 000 section 4.4.1): a
predicted distribution over the ab bins of :mod:`tinct.color.quantize` is decoded back to ab
by its mode, mean or annealed mean (:func:`annealed_mean`, Zhang eq. 5 / seed 000 eq. 4.4,
T = 0.38).

Units: a and b are CIELAB (D65) values, about -110..110; bins are ``(Q, 2)`` float32 tensors
of bin-centre (a, b) pairs, row q being class q. Logits are ``(B, Q, H, W)``, decoded ab
``(B, 2, H, W)``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from tinct.color._checks import check_bins

__all__ = [
    "DEFAULT_TEMPERATURE",
    "annealed_mean",
    "decode_mean",
    "decode_mode",
]

#: Zhang et al.'s annealed-mean temperature (sec. 2.3; seed 002 section 3.1).
DEFAULT_TEMPERATURE = 0.38


def _check_logits(logits: object, bins: Tensor, name: str) -> Tensor:
    if not isinstance(logits, Tensor):
        raise TypeError(f"{name} expects logits as a torch.Tensor, got {type(logits).__name__}")
    if logits.ndim != 4 or logits.shape[1] != bins.shape[0]:
        raise ValueError(
            f"{name} expects logits of shape (B, Q, H, W) with Q = {bins.shape[0]} bins, "
            f"got shape {tuple(logits.shape)}"
        )
    return logits


def _expectation(probabilities: Tensor, bins: Tensor) -> Tensor:
    centres = bins.detach().to(probabilities.device, torch.float32)
    return torch.einsum("bqhw,qc->bchw", probabilities, centres)


def decode_mode(logits: Tensor, bins: Tensor) -> Tensor:
    """ab of the most probable bin of each pixel (Zhang's "mode"; seed 002 section 3.1).

    Args:
        logits: ``(B, Q, H, W)`` unnormalised scores (or log-probabilities).
        bins: ``(Q, 2)`` bin centres.

    Returns:
        ``(B, 2, H, W)`` float32 ab.
    """
    check_bins(bins, "decode_mode")
    _check_logits(logits, bins, "decode_mode")
    centres = bins.detach().to(logits.device, torch.float32)
    return centres[logits.argmax(dim=1)].permute(0, 3, 1, 2).contiguous()


def decode_mean(logits: Tensor, bins: Tensor) -> Tensor:
    """Expected ab under ``softmax(logits)`` (Zhang's "mean"; desaturated, spatially smooth).

    Args:
        logits: ``(B, Q, H, W)`` unnormalised scores (upcast to float32).
        bins: ``(Q, 2)`` bin centres.

    Returns:
        ``(B, 2, H, W)`` float32 ab; differentiable in ``logits``.
    """
    check_bins(bins, "decode_mean")
    _check_logits(logits, bins, "decode_mean")
    return _expectation(torch.softmax(logits.float(), dim=1), bins)


def annealed_mean(logits: Tensor, bins: Tensor, temperature: float = DEFAULT_TEMPERATURE) -> Tensor:
    """Annealed-mean decoding (Zhang eq. 5; seed 000 eq. 4.4; seed 002 section 3.1).

    The softmax probabilities z are sharpened to
    ``f_T(z) = exp(log z / T) / sum_q exp(log z_q / T)`` and their mean ab is taken. Since
    ``exp(log softmax(x) / T) ∝ softmax(x / T)``, this computes ``softmax(logits / T)`` in
    float32, which never takes the log of 0. ``T = 1`` is :func:`decode_mean`; as T -> 0 it
    tends to :func:`decode_mode`, which ``temperature <= 0`` returns exactly.

    Args:
        logits: ``(B, Q, H, W)`` unnormalised scores (any float dtype; upcast to float32).
            For probabilities z, pass ``z.log()``.
        bins: ``(Q, 2)`` bin centres.
        temperature: T (Zhang: 0.38, :data:`DEFAULT_TEMPERATURE`).

    Returns:
        ``(B, 2, H, W)`` float32 ab.
    """
    check_bins(bins, "annealed_mean")
    _check_logits(logits, bins, "annealed_mean")
    if temperature <= 0:
        return decode_mode(logits, bins)
    return _expectation(torch.softmax(logits.float() / temperature, dim=1), bins)
