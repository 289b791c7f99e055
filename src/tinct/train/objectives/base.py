"""The objective interface and the family -> objective table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import torch
from torch import Tensor, nn

from tinct.data.sample import Sample
from tinct.models import Colouriser
from tinct.train.optim import make_optimizer, make_scheduler
from tinct.train.sections import TrainConfig

if TYPE_CHECKING:
    from torch.utils.data import DataLoader

    from tinct.train.module import ColourisationModule


def downsample_ab(ab: Tensor, size: tuple[int, int]) -> Tensor:
    """Ground-truth ab at a network's output resolution: every k-th pixel (nearest), as
    Zhang et al.'s code does, so no colour is averaged across an edge."""
    if tuple(ab.shape[-2:]) == size:
        return ab
    return torch.nn.functional.interpolate(ab, size=size, mode="nearest")


class Objective(nn.Module):
    """What training a model of one family means.

    An ``nn.Module``, so what it owns (a discriminator, rebalancing weights, a frozen
    perceptual network) is saved in checkpoints under ``objective.``. The model itself
    belongs to the Lightning module and is passed in, never stored here.

    The default scheme is supervised: one optimiser, :meth:`loss` (plus the config's
    weight penalties) minimised each step; ``train/loss``, ``val/loss``, each named term
    and ``val/ab_rmse`` (RMSE of decoded chroma in colour-space units) are logged.
    Schemes with several optimisers set ``automatic_optimisation = False`` and override
    :meth:`training_step` and :meth:`configure_optimizers`.
    """

    family: ClassVar[str]
    automatic_optimisation: ClassVar[bool] = True

    def __init__(self, model: Colouriser, config: TrainConfig) -> None:
        super().__init__()
        self.config = config
        self.space = config.data.space
        self._histograms: tuple[Any, Any] | None = None

    def prepare(
        self, model: Colouriser, loader: DataLoader[Any], out_dir: Path, *, progress: bool
    ) -> dict[str, Any]:
        """Set up from the training data before the first step (a resumed run too);
        returns metadata to store with the exported model."""
        return {}

    def loss(self, model: Colouriser, batch: Sample) -> tuple[Tensor, dict[str, Tensor]]:
        """The loss to minimise and the named terms to log beside it (unweighted)."""
        raise NotImplementedError

    def penalty(self, model: Colouriser) -> Tensor | None:
        """Keras-style L1/L2 penalties on weight matrices and kernels (not biases), seed
        001 section 4.1.4; ``None`` when both weights are 0."""
        l1, l2 = self.config.loss.weight_l1, self.config.loss.weight_l2
        if not (l1 or l2):
            return None
        weights = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
        total = torch.zeros((), device=weights[0].device)
        for w in weights:
            total = total + l1 * w.abs().sum() + l2 * w.square().sum()
        return total

    def _total(self, model: Colouriser, batch: Sample) -> tuple[Tensor, dict[str, Tensor]]:
        loss, terms = self.loss(model, batch)
        penalty = self.penalty(model)
        if penalty is not None:
            loss = loss + penalty
            terms = {**terms, "penalty": penalty}
        return loss, terms

    def training_step(self, module: ColourisationModule, batch: Sample) -> Tensor | None:
        loss, terms = self._total(module.model, batch)
        n = batch.l.shape[0]
        module.log("train/loss", loss, prog_bar=True, batch_size=n)
        for key, value in terms.items():
            module.log(f"train/{key}", value, batch_size=n)
        return loss

    def validation_step(self, module: ColourisationModule, batch: Sample) -> None:
        model = module.model
        loss, terms = self._total(model, batch)
        chroma = model.decode(model(batch.l))
        truth = downsample_ab(batch.chroma, (chroma.shape[-2], chroma.shape[-1]))
        n = batch.l.shape[0]
        module.log("val/loss", loss, prog_bar=True, batch_size=n, sync_dist=True)
        for key, value in terms.items():
            module.log(f"val/{key}", value, batch_size=n, sync_dist=True)
        rmse = torch.mean((chroma - truth) ** 2).sqrt()
        module.log("val/ab_rmse", rmse, batch_size=n, sync_dist=True)
        self.update_histograms(batch.l, chroma, truth)

    def on_validation_epoch_start(self) -> None:
        """Start the validation set's a/b histograms (prediction and truth)."""
        from tinct.eval.metrics import AbHistogram

        self._histograms = (AbHistogram(), AbHistogram())

    def update_histograms(self, lightness: Tensor, chroma: Tensor, truth: Tensor) -> None:
        """Add a validation batch to the histograms, in CIELAB at the chroma's resolution."""
        from tinct.color import lightness_chroma_to_rgb, rgb_to_lab

        histograms = getattr(self, "_histograms", None)
        if histograms is None:
            return
        size = (chroma.shape[-2], chroma.shape[-1])
        light = downsample_ab(lightness, size)
        for histogram, ab in zip(histograms, (chroma, truth), strict=True):
            if self.space == "lab":
                lab = torch.cat([light, ab], dim=1)
            else:
                lab = rgb_to_lab(lightness_chroma_to_rgb(light, ab, self.space))
            histogram.update(lab.float())

    def on_validation_epoch_end(self, module: ColourisationModule) -> None:
        """Log the KL and JS divergences between the validation set's predicted and true
        a/b histograms (seed 004), counted on each rank's share of the validation set and
        summed across ranks: the same as one process validating everything."""
        from tinct.eval.metrics import histogram_divergences

        histograms = getattr(self, "_histograms", None)
        self._histograms = None
        if histograms is None:
            return
        predicted, true = (h.all_reduce() for h in histograms)
        if float(true.counts.sum()) == 0 or float(predicted.counts.sum()) == 0:
            return
        divergences = histogram_divergences(true.counts, predicted.counts)
        # Equal on every rank after the reduction (the mean of equal values is the value).
        module.log("val/ab_hist_kl", divergences["kl"], sync_dist=True)
        module.log("val/ab_hist_js", divergences["js"], sync_dist=True)

    def configure_optimizers(self, module: ColourisationModule) -> Any:
        """One optimiser; a pretrained encoder's parameters get ``optim.encoder_lr_mult``
        times the learning rate."""
        optim = self.config.optim
        model = module.model
        encoder: list[nn.Parameter] = getattr(model, "encoder_parameters", list)()
        encoder_ids = {id(p) for p in encoder}
        rest = [p for p in model.parameters() if id(p) not in encoder_ids]
        groups: list[dict[str, Any]] = [{"params": rest, "lr": optim.lr}]
        if encoder:
            groups.append({"params": encoder, "lr": optim.lr * optim.encoder_lr_mult})
        optimiser = make_optimizer(groups, optim)
        total = int(module.trainer.estimated_stepping_batches)
        scheduler = make_scheduler(optimiser, self.config.schedule, total)
        return {
            "optimizer": optimiser,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


ObjectiveFactory = Callable[[Colouriser, TrainConfig], Objective]

#: Model family -> its objective.
OBJECTIVES: dict[str, type[Objective]] = {}

ObjectiveT = TypeVar("ObjectiveT", bound=type[Objective])


def register_objective(family: str) -> Callable[[ObjectiveT], ObjectiveT]:
    """Class decorator: train models of ``family`` with this objective."""

    def wrap(cls: ObjectiveT) -> ObjectiveT:
        if family in OBJECTIVES:
            raise ValueError(f"family {family!r} already has an objective")
        cls.family = family
        OBJECTIVES[family] = cls
        return cls

    return wrap


def objective_for(family: str) -> type[Objective]:
    """The objective of a model family; ``ValueError`` naming the known ones."""
    try:
        return OBJECTIVES[family]
    except KeyError:
        raise ValueError(
            f"no training objective for model family {family!r}; known: {sorted(OBJECTIVES)}"
        ) from None
