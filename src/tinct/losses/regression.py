"""Regression losses on normalised chroma (seed 004 section 4.1.1: L1; seed 001: MSE)."""

from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor

RegressionLoss = Callable[[Tensor, Tensor], Tensor]

#: Name -> loss(prediction, target), both ``(B, 2, H, W)`` normalised chroma.
REGRESSION_LOSSES: dict[str, RegressionLoss] = {
    "l1": F.l1_loss,
    "l2": F.mse_loss,
    "mse": F.mse_loss,
    "smooth_l1": F.smooth_l1_loss,
}


def regression_loss(name: str) -> RegressionLoss:
    """The regression loss called ``name`` (``l1``, ``l2``/``mse``, ``smooth_l1``)."""
    try:
        return REGRESSION_LOSSES[name]
    except KeyError:
        raise ValueError(
            f"unknown regression loss {name!r}; choose one of {sorted(REGRESSION_LOSSES)}"
        ) from None
