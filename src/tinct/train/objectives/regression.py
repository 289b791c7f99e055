"""Regression on chroma (seed 004 section 4.1.1; seed 001's YUV CNN): a pixel-wise loss
between predicted and true normalised chroma."""

from __future__ import annotations

from torch import Tensor

from tinct.color import normalize_chroma
from tinct.data.sample import Sample
from tinct.losses import regression_loss
from tinct.models import Colouriser
from tinct.train.objectives.base import Objective, downsample_ab, register_objective
from tinct.train.sections import TrainConfig


@register_objective("regression")
class RegressionObjective(Objective):
    """``loss.name`` (l1, l2, smooth_l1...) on normalised chroma. Networks predicting at
    a lower resolution (zhang-euclidean: 1/4) are trained against the ground truth
    downsampled to theirs, as the classification family is."""

    def __init__(self, model: Colouriser, config: TrainConfig) -> None:
        super().__init__(model, config)
        self.loss_fn = regression_loss(config.loss.name)

    def loss(self, model: Colouriser, batch: Sample) -> tuple[Tensor, dict[str, Tensor]]:
        pred = model(batch.l).chroma_norm
        if pred is None:
            raise ValueError("supervised regression training needs a chroma_norm output")
        truth = downsample_ab(batch.chroma, (pred.shape[-2], pred.shape[-1]))
        return self.loss_fn(pred, normalize_chroma(truth, self.space)), {}
