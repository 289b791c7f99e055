"""Losses: tensors in, scalar out. Each is named so configs can select it."""

from __future__ import annotations

from tinct.losses.classification import (
    CLASSIFICATION_LOSSES,
    ClassificationLossKind,
    classification_loss,
    classification_target,
    multinomial_cross_entropy,
    rebalancing_pixel_weights,
)
from tinct.losses.contrastive import NTXentLoss, nt_xent
from tinct.losses.guided import map_weighted_l1
from tinct.losses.kl import gaussian_kl, latent_kl
from tinct.losses.regression import REGRESSION_LOSSES, regression_loss
from tinct.losses.segmentation import class_chroma_loss, segmentation_loss

__all__ = [
    "CLASSIFICATION_LOSSES",
    "REGRESSION_LOSSES",
    "ClassificationLossKind",
    "NTXentLoss",
    "class_chroma_loss",
    "classification_loss",
    "classification_target",
    "gaussian_kl",
    "latent_kl",
    "map_weighted_l1",
    "multinomial_cross_entropy",
    "nt_xent",
    "rebalancing_pixel_weights",
    "regression_loss",
    "segmentation_loss",
]
