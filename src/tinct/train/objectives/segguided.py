"""Segmentation-guided training (``seg-shared``, ``seg-separate``; seed 004 section 4.3):
the per-class chroma loss plus the segmentation cross-entropy, with an optional
segmentation-only phase first (section 4.3.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from tinct.color import normalize_chroma
from tinct.data.sample import VOID_LABEL, Sample
from tinct.losses import class_chroma_loss, segmentation_loss
from tinct.losses.segmentation import ELEMENTWISE_LOSSES
from tinct.models import Colouriser, ModelOutput
from tinct.train.objectives.base import Objective, downsample_ab, register_objective
from tinct.train.sections import ConfigError, TrainConfig

if TYPE_CHECKING:
    from tinct.train.module import ColourisationModule


def _mask_at(batch: Sample, size: tuple[int, int]) -> Tensor:
    """The batch's mask at a network's output resolution (nearest: no class is blended)."""
    mask = batch.mask
    if mask is None:
        raise ValueError(
            "segmentation-guided training needs samples with segmentation masks: "
            "data.kind dataset with data.name voc2012 (Pascal VOC) or voc-standin "
            "(tinct data build-voc-standin)"
        )
    if tuple(mask.shape[-2:]) == size:
        return mask
    return downsample_ab(mask[:, None].float(), size)[:, 0].long()


@register_objective("segguided")
class SegmentationGuidedObjective(Objective):
    """``class_chroma_loss`` (``loss.name``, ``segmentation.all_classes``) +
    ``segmentation.weight`` x cross-entropy, on samples carrying a mask (Pascal VOC or its
    corpus-derived stand-in). During the first ``segmentation.pretrain_steps`` steps the
    loss is the cross-entropy alone. Logs ``colour`` and ``segmentation`` terms, and in
    validation the pixel accuracy of the predicted segmentation (``val/seg_accuracy``)."""

    def __init__(self, model: Colouriser, config: TrainConfig) -> None:
        super().__init__(model, config)
        if config.loss.name not in ELEMENTWISE_LOSSES:
            raise ConfigError(
                f"loss.name must be one of {sorted(ELEMENTWISE_LOSSES)} for a segmentation-"
                f"guided model, got {config.loss.name!r}"
            )
        self.seg = config.segmentation
        self.pretraining = self.seg.pretrain_steps > 0

    def _terms(self, output: ModelOutput, batch: Sample) -> tuple[Tensor, dict[str, Tensor]]:
        class_chroma = output.extras["class_chroma"]
        logits = output.extras["seg_logits"]
        size = (class_chroma.shape[-2], class_chroma.shape[-1])
        mask = _mask_at(batch, size)
        seg = segmentation_loss(logits, mask)
        if self.pretraining:
            return seg, {"segmentation": seg}
        truth = normalize_chroma(downsample_ab(batch.chroma, size), self.space)
        colour = class_chroma_loss(
            class_chroma,
            truth,
            mask,
            all_classes=self.seg.all_classes,
            kind=self.config.loss.name,
        )
        return colour + self.seg.weight * seg, {"colour": colour, "segmentation": seg}

    def loss(self, model: Colouriser, batch: Sample) -> tuple[Tensor, dict[str, Tensor]]:
        return self._terms(model(batch.l), batch)

    def training_step(self, module: ColourisationModule, batch: Sample) -> Tensor | None:
        self.pretraining = module.global_step < self.seg.pretrain_steps
        module.log("train/seg_pretraining", float(self.pretraining), batch_size=len(batch))
        return super().training_step(module, batch)

    def validation_step(self, module: ColourisationModule, batch: Sample) -> None:
        """Both losses (whatever the phase, so validation curves are comparable across
        it), the decoded chroma's RMSE and histograms, and the segmentation's accuracy."""
        model = module.model
        output = model(batch.l)
        pretraining, self.pretraining = self.pretraining, False
        try:
            loss, terms = self._terms(output, batch)
        finally:
            self.pretraining = pretraining
        penalty = self.penalty(model)
        if penalty is not None:
            loss = loss + penalty
        n = len(batch)
        module.log("val/loss", loss, prog_bar=True, batch_size=n, sync_dist=True)
        for key, value in terms.items():
            module.log(f"val/{key}", value, batch_size=n, sync_dist=True)
        chroma = model.decode(output)
        truth = downsample_ab(batch.chroma, (chroma.shape[-2], chroma.shape[-1]))
        rmse = torch.mean((chroma - truth) ** 2).sqrt()
        module.log("val/ab_rmse", rmse, batch_size=n, sync_dist=True)
        predicted = output.extras["seg_logits"].argmax(dim=1)
        mask = _mask_at(batch, (predicted.shape[-2], predicted.shape[-1]))
        labelled = mask != VOID_LABEL
        if bool(labelled.any()):
            accuracy = (predicted == mask)[labelled].float().mean()
            module.log("val/seg_accuracy", accuracy, batch_size=n, sync_dist=True)
        self.update_histograms(batch.l, chroma, truth)
