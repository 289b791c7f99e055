"""Losses: tensors in, scalar out. Each is named so configs can select it."""

from __future__ import annotations

from tinct.losses.regression import REGRESSION_LOSSES, regression_loss

__all__ = ["REGRESSION_LOSSES", "regression_loss"]
