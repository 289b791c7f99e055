"""Classification over quantised ab (Zhang et al. 2016; seed 002): multinomial
cross-entropy against soft-encoded ab, rebalanced by the inverse of the data's
smoothed ab prior."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from tinct.data.sample import Sample
from tinct.losses import CLASSIFICATION_LOSSES, classification_loss
from tinct.models import Colouriser
from tinct.train.objectives.base import Objective, downsample_ab, register_objective
from tinct.train.sections import TrainConfig

if TYPE_CHECKING:
    from torch.utils.data import DataLoader

log = logging.getLogger(__name__)

#: The prior a classification run used, saved in its output folder.
PRIOR_FILE = "prior.json"


def _bins(model: Colouriser, name: str) -> Tensor:
    bins = getattr(model, "bins", None)
    if not isinstance(bins, Tensor):
        raise ValueError(f"classification model {name!r} has no 'bins' buffer")
    return bins


@register_objective("classification")
class ClassificationObjective(Objective):
    """``loss.name`` (rebalanced, unbalanced, one-hot) on the model's bin logits, against
    ab soft-encoded over ``loss.neighbours`` bins (Gaussian ``loss.sigma``) at the logits'
    resolution. The rebalancing weights live in the buffer ``class_weights`` (saved in
    checkpoints), set by :meth:`prepare` from the prior of the training data or of
    ``loss.prior``."""

    class_weights: Tensor

    def __init__(self, model: Colouriser, config: TrainConfig) -> None:
        super().__init__(model, config)
        name = config.loss.name
        if name not in CLASSIFICATION_LOSSES:
            raise ValueError(
                f"loss.name {name!r} is not a classification loss; a {config.model.name!r} "
                f"model needs one of {sorted(CLASSIFICATION_LOSSES)}"
            )
        self.register_buffer("class_weights", torch.ones(_bins(model, config.model.name).shape[0]))

    def loss(self, model: Colouriser, batch: Sample) -> tuple[Tensor, dict[str, Tensor]]:
        logits = model(batch.l).extras["logits"]
        cfg = self.config.loss
        ab = downsample_ab(batch.chroma, (logits.shape[-2], logits.shape[-1]))
        loss = classification_loss(
            cfg.name,
            logits,
            ab,
            _bins(model, self.config.model.name),
            weights=self.class_weights,
            neighbours=cfg.neighbours,
            sigma=cfg.sigma,
        )
        return loss, {}

    def prepare(
        self, model: Colouriser, loader: DataLoader[Any], out_dir: Path, *, progress: bool
    ) -> dict[str, Any]:
        """The ab-bin prior of the run and its rebalancing weights.

        ``loss.prior`` names a prior file (a dataset-specific prior), else the prior of
        the training data is streamed over ``loss.prior_batches`` batches of ``loader`` at
        the network's output resolution. Either way it is saved as ``prior.json`` in the
        run folder, next to the model that used it; a resumed run reads it back there.
        """
        from tqdm import tqdm

        from tinct.color import BinPrior, rebalancing_weights

        cfg = self.config.loss
        bins = _bins(model, self.config.model.name)
        path = out_dir / PRIOR_FILE
        if path.is_file():
            prior = BinPrior.load(path)
        elif cfg.prior:
            prior = BinPrior.load(Path(cfg.prior).expanduser())
            prior.save(path)
        else:
            prior = BinPrior(bins)
            limit = cfg.prior_batches
            training = model.training
            model.eval()  # one image probes the output size: batch norm needs eval mode
            with torch.no_grad():
                batches = tqdm(
                    loader, total=min(limit, len(loader)), desc="ab prior", disable=not progress
                )
                for i, batch in enumerate(batches):
                    if i >= limit:
                        break
                    size = model(batch.l[:1]).extras["logits"].shape[-2:]
                    prior.update(downsample_ab(batch.chroma, (size[0], size[1])))
            model.train(training)
            prior.save(path)
        if not torch.equal(prior.bins.float(), bins.float()):
            raise ValueError(f"{path}: prior computed over other ab bins than the model's")
        weights = rebalancing_weights(
            prior.probabilities, lam=cfg.lambda_, smooth_sigma=cfg.smooth_sigma, bins=bins
        )
        self.class_weights.copy_(weights)
        log.info("ab prior over %d pixels: %s", prior.num_pixels, path)
        return {"prior": PRIOR_FILE}
