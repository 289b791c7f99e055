"""Hybrid training (``effnet-hybrid``): Zhang et al.'s rebalanced cross-entropy on the bin
logits plus a weighted regression loss on the second head, both at the network's output
resolution."""

from __future__ import annotations

from torch import Tensor

from tinct.color import normalize_chroma
from tinct.data.sample import Sample
from tinct.losses import classification_loss, regression_loss
from tinct.models import Colouriser
from tinct.train.objectives.base import downsample_ab, register_objective
from tinct.train.objectives.classification import ClassificationObjective, _bins
from tinct.train.sections import TrainConfig


@register_objective("hybrid")
class HybridObjective(ClassificationObjective):
    """``loss.name`` (rebalanced, unbalanced, one-hot) on ``extras["logits"]`` +
    ``loss.regression_weight`` x ``loss.regression`` (l1, ...) on ``chroma_norm``. The
    prior and rebalancing weights are set up as for the classification family; both terms
    are logged (``train/classification``, ``train/regression``)."""

    def __init__(self, model: Colouriser, config: TrainConfig) -> None:
        super().__init__(model, config)
        self.regression_fn = regression_loss(config.loss.regression)

    def loss(self, model: Colouriser, batch: Sample) -> tuple[Tensor, dict[str, Tensor]]:
        out = model(batch.l)
        logits, pred = out.extras["logits"], out.chroma_norm
        if pred is None:
            raise ValueError("hybrid training needs a model with a chroma_norm output")
        cfg = self.config.loss
        ab = downsample_ab(batch.chroma, (logits.shape[-2], logits.shape[-1]))
        cls = classification_loss(
            cfg.name,
            logits,
            ab,
            _bins(model, self.config.model.name),
            weights=self.class_weights,
            neighbours=cfg.neighbours,
            sigma=cfg.sigma,
        )
        truth = downsample_ab(batch.chroma, (pred.shape[-2], pred.shape[-1]))
        reg = self.regression_fn(pred, normalize_chroma(truth, self.space))
        return cls + cfg.regression_weight * reg, {"classification": cls, "regression": reg}
