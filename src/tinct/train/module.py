"""The Lightning module of every training run: a model, its family's objective, and the
config; the objective (:mod:`tinct.train.objectives`) decides what a step does."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
from torch import Tensor

from tinct.data.sample import Sample
from tinct.models import Colouriser, create_model, load_model
from tinct.models.registry import model_entry
from tinct.train.objectives import Objective, objective_for
from tinct.train.sections import ConfigError, TrainConfig


def as_train_config(config: Mapping[str, Any] | TrainConfig) -> TrainConfig:
    """The typed view of a resolved config dict (a :class:`TrainConfig` is returned as is)."""
    return config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config)


log = logging.getLogger(__name__)


def build_model(config: TrainConfig) -> Colouriser:
    """The model ``config.model`` names, with its inference ``input_size``, starting from
    the weights of ``model.init_from`` when set. Raises ``ValueError`` when the model
    works in another colour space than ``data.space`` or the start weights do not fit."""
    spec = config.model
    try:
        model = create_model(spec.name, **spec.kwargs)
    except TypeError as err:
        raise ConfigError(f"model.kwargs do not fit {spec.name!r}: {err}") from None
    model.input_size = spec.input_size
    if model.space != config.data.space:
        raise ValueError(
            f"model {spec.name!r} works in {model.space!r} but data.space is {config.data.space!r}"
        )
    if spec.init_from:
        _init_from(model, spec.init_from)
    return model


def _init_from(model: Colouriser, source: str) -> None:
    """Copy the weights of a bundled model or model file into ``model`` (fine-tuning).

    The start may also be a model of another architecture whose weights are all part of
    ``model`` with the same shapes (``effnet-unet`` -> ``effnet-hybrid``: the new head
    starts from its initialisation); anything else is refused."""
    start = load_model(source)
    if start.registry_name == model.registry_name:
        try:
            model.load_state_dict(start.state_dict())
        except RuntimeError as err:
            first = str(err).strip().splitlines()
            raise ValueError(
                f"model.init_from {source!r} does not fit model.kwargs "
                f"({first[1].strip() if len(first) > 1 else first[0]})"
            ) from None
        return
    ours = model.state_dict()
    theirs = start.state_dict()
    misfits = sorted(
        k for k, v in theirs.items() if k not in ours or tuple(ours[k].shape) != tuple(v.shape)
    )
    if misfits:
        raise ValueError(
            f"model.init_from {source!r} is a {start.registry_name!r} model whose weights "
            f"do not all fit model.name {model.registry_name!r} ({len(misfits)} do not, "
            f"e.g. {misfits[0]!r})"
        )
    model.load_state_dict(theirs, strict=False)
    fresh = sorted(k for k in ours if k not in theirs)
    log.info(
        "model.init_from %r (%s): %d tensors copied, %d start from initialisation (%s)",
        source,
        start.registry_name,
        len(theirs),
        len(fresh),
        ", ".join(fresh[:4]),
    )


class ColourisationModule(L.LightningModule):
    """Trains ``config.model`` with the objective of its family (looked up in
    :data:`tinct.train.objectives.OBJECTIVES`): regression, classification, cvae or
    gan. The resolved config dict is saved as the ``config`` hyper-parameter, so a
    checkpoint says how it was made (``model.kwargs`` as the model records them: with
    the current value of arguments whose default changed)."""

    def __init__(self, config: Mapping[str, Any] | TrainConfig) -> None:
        super().__init__()
        cfg = as_train_config(config)
        self.cfg = cfg
        self.model: Colouriser = build_model(cfg)
        saved = cfg.to_dict()
        # The model's own kwargs: they name the arguments whose default changed (the
        # cvae layout), so the checkpoint loads as trained whatever the defaults become.
        saved["model"]["kwargs"] = dict(self.model.init_kwargs)
        self.save_hyperparameters({"config": saved})
        self.space = cfg.data.space
        self.family = model_entry(cfg.model.name).family
        self.objective: Objective = objective_for(self.family)(self.model, cfg)
        self.automatic_optimization = self.objective.automatic_optimisation
        self._prepare_args: tuple[Any, Path, bool] | None = None
        #: What the objective's ``prepare`` returned (metadata for the model file).
        self.prepared: dict[str, Any] = {}

    def prepare_with(self, loader: Any, out_dir: Path, *, progress: bool) -> None:
        """Have :meth:`setup` run the objective's ``prepare`` on ``loader`` (the training
        data) before fitting: there, on every rank of a data-parallel run, after the
        process group exists, so whole-data-set statistics are reduced across ranks."""
        self._prepare_args = (loader, out_dir, progress)

    def setup(self, stage: str) -> None:
        if stage == "fit" and self._prepare_args is not None:
            loader, out_dir, progress = self._prepare_args
            self.prepared = self.objective.prepare(self.model, loader, out_dir, progress=progress)
            self._prepare_args = None

    def forward(self, lightness: Tensor) -> Tensor:
        return self.model.decode(self.model(lightness))

    def training_step(self, batch: Sample, batch_idx: int) -> Tensor | None:
        return self.objective.training_step(self, batch)

    def validation_step(self, batch: Sample, batch_idx: int) -> None:
        self.objective.validation_step(self, batch)

    def on_validation_epoch_start(self) -> None:
        self.objective.on_validation_epoch_start()

    def on_validation_epoch_end(self) -> None:
        self.objective.on_validation_epoch_end(self)

    def configure_optimizers(self) -> Any:
        return self.objective.configure_optimizers(self)
