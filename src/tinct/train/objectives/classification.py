"""Classification over quantised ab (Zhang et al. 2016; seed 002): multinomial
cross-entropy against soft-encoded ab, rebalanced by the inverse of the data's
smoothed ab prior."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

from tinct.data.sample import Sample
from tinct.losses import CLASSIFICATION_LOSSES, classification_loss
from tinct.models import Colouriser
from tinct.train.objectives.base import Objective, downsample_ab, register_objective
from tinct.train.sections import TrainConfig

if TYPE_CHECKING:
    from torch.utils.data import DataLoader

    from tinct.color import BinPrior

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
        the training data is counted over ``loss.prior_batches`` batches' worth of its
        items at the network's output resolution: a random subset (seeded by the run's
        seed), each item drawn with its own seed, so the counts do not depend on how many
        processes share the work. In a data-parallel run each rank counts its share and
        the int64 counts are summed across ranks: exactly the single-process prior.
        Either way it is saved as ``prior.json`` in the run folder (by rank 0), next to
        the model that used it; a resumed run reads it back there.
        """
        from tinct.color import BinPrior, rebalancing_weights
        from tinct.train.distributed import all_reduce_sum, rank_and_world

        cfg = self.config.loss
        bins = _bins(model, self.config.model.name)
        path = out_dir / PRIOR_FILE
        rank, world = rank_and_world()
        # Every rank takes the same branch (the collective below needs all of them).
        seen = all_reduce_sum(torch.tensor([int(path.is_file())], dtype=torch.int64))
        if int(seen) == world:
            prior = BinPrior.load(path)
        elif cfg.prior:
            prior = BinPrior.load(Path(cfg.prior).expanduser())
            if rank == 0:
                prior.save(path)
        else:
            prior = self._data_prior(model, bins, loader, progress=progress)
            counts = all_reduce_sum(prior.counts)
            prior.load_state_dict({"bins": prior.bins.tolist(), "counts": counts.tolist()})
            if rank == 0:
                prior.save(path)
        if not torch.equal(prior.bins.float(), bins.float()):
            raise ValueError(f"{path}: prior computed over other ab bins than the model's")
        weights = rebalancing_weights(
            prior.probabilities, lam=cfg.lambda_, smooth_sigma=cfg.smooth_sigma, bins=bins
        )
        self.class_weights.copy_(weights)
        log.info("ab prior over %d pixels: %s", prior.num_pixels, path)
        return {"prior": PRIOR_FILE}

    def _data_prior(
        self, model: Colouriser, bins: Tensor, loader: DataLoader[Any], *, progress: bool
    ) -> BinPrior:
        """This rank's share of the training data's prior (see :meth:`prepare`)."""
        from torch.utils.data import DataLoader, Subset
        from tqdm import tqdm

        from tinct.color import BinPrior
        from tinct.train.distributed import rank_and_world, shard_indices

        dataset = loader.dataset
        batch_size = loader.batch_size or 1
        rank, world = rank_and_world()
        # prior_batches global batches (batch_size per rank): the same items whether one
        # process or several with the same global batch count them.
        wanted = self.config.loss.prior_batches * batch_size * world
        count = min(len(dataset), wanted)  # type: ignore[arg-type]
        generator = torch.Generator()
        generator.manual_seed(self.config.seed)
        order = torch.randperm(len(dataset), generator=generator)[:count].tolist()  # type: ignore[arg-type]
        share = DataLoader(
            Subset(SeededItems(dataset, self.config.seed), shard_indices(order, rank, world)),
            batch_size=batch_size,
            collate_fn=loader.collate_fn,
            num_workers=loader.num_workers,
        )
        prior = BinPrior(bins)
        size: tuple[int, int] | None = None
        with torch.no_grad():
            for batch in tqdm(share, desc="ab prior", disable=not progress):
                if size is None:  # in eval mode: the probe leaves batch-norm statistics be
                    was_training = model.training
                    logits = model.eval()(batch.l[:1]).extras["logits"]
                    model.train(was_training)
                    size = (int(logits.shape[-2]), int(logits.shape[-1]))
                prior.update(downsample_ab(batch.chroma, size))
        return prior


class SeededItems(Dataset[Any]):
    """``dataset[i]`` drawn with torch's random generator seeded by ``(seed, i)`` (and
    restored afterwards): random crops and flips that are the same for an item whichever
    process or worker draws it."""

    def __init__(self, dataset: Dataset[Any], seed: int) -> None:
        self.dataset = dataset
        self.seed = int(seed)

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> Any:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed * 1_000_003 + int(index))
            return self.dataset[index]
