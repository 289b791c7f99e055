"""Typed sections of a training config: what each key is, its default and its check.

A config file is YAML merged over :data:`tinct.train.config.DEFAULTS`, which is built
from these dataclasses, so every key has one declaration. :meth:`TrainConfig.from_dict`
turns a resolved config dict into typed sections and checks every value on the way
(numbers are numbers, counts are positive, learning rates are > 0, names are among the
known ones, durations parse); the error names the key, e.g. ``optim.lr must be a number
> 0, got 'fast'``.

Dataclasses rather than pydantic: no dependency for ~40 keys, the error messages are
ours, and the dict form (stored in checkpoints and model files) stays the source of truth.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar, Union

from tinct.data.training import AugmentSection, DataSection
from tinct.train.optim import OPTIMISERS, SCHEDULES

__all__ = [
    "AugmentSection",
    "ConfigError",
    "DataSection",
    "GanSection",
    "LossSection",
    "ModelSection",
    "OptimSection",
    "PerceptualSection",
    "ScheduleSection",
    "SegmentationSection",
    "TrainConfig",
    "TrainerSection",
    "build_typed",
    "to_plain_dict",
]


class ConfigError(ValueError):
    """A config file or override that cannot be used; the message says which key."""


def _check(
    *,
    minimum: float | None = None,
    above: float | None = None,
    choices: Callable[[], Any] | None = None,
) -> dict[str, Any]:
    """Field metadata: an inclusive ``minimum``, an exclusive lower bound ``above``, or
    ``choices`` (a callable, so tables filled at import time are read when checking)."""
    return {"minimum": minimum, "above": above, "choices": choices}


def _datasets() -> Any:
    from tinct.data.registry import DATASETS

    return DATASETS


def _gan_objectives() -> Any:
    from tinct.losses.adversarial import OBJECTIVES

    return OBJECTIVES


@dataclass
class ModelSection:
    """``model``: the registered architecture, its constructor arguments, the inference
    resolution saved with it, and where its weights start from."""

    name: str = "effnet-unet"
    kwargs: dict[str, Any] = field(default_factory=dict)
    input_size: int = field(default=256, metadata=_check(minimum=8))
    # "default" (or another bundled model's name) or a model file: start from its
    # weights (fine-tuning). The architecture and kwargs must match the file's.
    init_from: str | None = None


@dataclass
class LossSection:
    """``loss``.

    Regression: l1, l2, ... (:data:`tinct.losses.REGRESSION_LOSSES`). Classification
    models (Zhang et al.): rebalanced, unbalanced, one-hot, with soft-encoding over the
    ``neighbours`` nearest bins (Gaussian ``sigma``), rebalancing ``lambda``, optional
    prior smoothing ``smooth_sigma``, and the prior: None = the training data's (counted
    over ``prior_batches`` global batches of it, saved as prior.json in output_dir), or a prior file
    (``tinct data prior``; relative paths in a config file are relative to that file).
    cvae family (seed 001 eq. 4.5): ``reconstruction_weight * MSE + KL``; a lower weight
    gives more diverse samples (seed figure 5.6). ``weight_l1`` / ``weight_l2``:
    Keras-style penalties ``l1 * sum|w| + l2 * sum w^2`` over convolution and dense
    weights, for any family (seed 001 section 4.1.4). hybrid family (``effnet-hybrid``):
    the classification loss ``name`` on the bin logits plus ``regression_weight`` times the
    ``regression`` loss (l1, l2, ...) of the regression head.
    """

    name: str = "l1"
    neighbours: int = field(default=5, metadata=_check(minimum=1))
    sigma: float = field(default=5.0, metadata=_check(above=0.0))
    # "lambda" is a Python keyword: the YAML key is mapped to this field.
    lambda_: float = field(default=0.5, metadata=_check(minimum=0.0))
    smooth_sigma: float | None = field(default=None, metadata=_check(above=0.0))
    prior: str | None = None
    prior_batches: int = field(default=100, metadata=_check(minimum=1))
    reconstruction_weight: float = field(default=1.0, metadata=_check(above=0.0))
    weight_l1: float = field(default=0.0, metadata=_check(minimum=0.0))
    weight_l2: float = field(default=0.0, metadata=_check(minimum=0.0))
    regression: str = "l1"
    regression_weight: float = field(default=1.0, metadata=_check(minimum=0.0))


@dataclass
class PerceptualSection:
    """``gan.perceptual``: EfficientNet-Lite0 ``stage`` (2 = stride 4) or a user
    ``state_dict`` for the feature-reconstruction term."""

    stage: int = field(default=2, metadata=_check(minimum=0))
    state_dict: str | None = None


@dataclass
class GanSection:
    """``gan``: adversarial training of the ``gan`` and ``guided`` families (one
    discriminator step, then one generator step, per batch). ``objective``: bce, lsgan,
    hinge, wgan or wgan-sigmoid. ``terms``:
    the generator loss as name -> weight (replaced as a whole by a config, not merged;
    without ``adversarial`` no discriminator is trained). The discriminator uses
    ``optim.name`` with ``d_lr`` and ``d_betas`` (None: ``optim.lr`` and ``optim.betas``)."""

    objective: str = field(default="bce", metadata=_check(choices=lambda: _gan_objectives()))
    terms: dict[str, float] = field(default_factory=lambda: {"l1": 100.0, "adversarial": 1.0})
    perceptual: PerceptualSection = field(default_factory=PerceptualSection)
    d_lr: float | None = field(default=None, metadata=_check(above=0.0))
    d_betas: list[float] | None = None


@dataclass
class SegmentationSection:
    """``segmentation``: the segmentation-guided family (``seg-shared``, ``seg-separate``;
    seed 004 section 4.3). The loss is the per-class chroma loss (``loss.name``: l1, the
    seed's, or l2 / smooth_l1) plus ``weight`` times the segmentation cross-entropy.
    ``all_classes``: false compares only the classes present in each image, each inside
    its mask (the fix seed 004 section 5.2.2 proposes); true is the seed's formulation,
    every class's chroma pair against the truth inside its mask and grey outside.
    ``pretrain_steps``: the first steps train the segmentation alone (cross-entropy only;
    the colour output gets no gradient), then both losses (section 4.3.2: "firstly trained
    to segment the images"); 0 trains both from the start."""

    weight: float = field(default=1.0, metadata=_check(minimum=0.0))
    all_classes: bool = False
    pretrain_steps: int = field(default=0, metadata=_check(minimum=0))


@dataclass
class OptimSection:
    """``optim``: optimiser by name (:data:`tinct.train.optim.OPTIMISERS`), learning rate,
    weight decay, Adam betas, a learning-rate multiplier for a pretrained encoder, and
    momentum (sgd, nag and rmsprop only, seed 001 figure 4.3b; None: 0.9 for sgd and nag,
    0 for rmsprop). ``nag``: SGD with Nesterov momentum (seed 003's baseline 2)."""

    name: str = field(default="adamw", metadata=_check(choices=lambda: tuple(OPTIMISERS)))
    lr: float = field(default=1.0e-3, metadata=_check(above=0.0))
    weight_decay: float = field(default=1.0e-4, metadata=_check(minimum=0.0))
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    encoder_lr_mult: float = field(default=1.0, metadata=_check(minimum=0.0))
    momentum: float | None = field(default=None, metadata=_check(minimum=0.0))


@dataclass
class ScheduleSection:
    """``schedule``: linear warm-up over ``warmup_steps``, then ``name``
    (:data:`tinct.train.optim.SCHEDULES`)."""

    name: str = field(default="cosine", metadata=_check(choices=lambda: tuple(SCHEDULES)))
    warmup_steps: int = field(default=100, metadata=_check(minimum=0))


#: Lightning's ``max_time``: "DD:HH:MM:SS".
DURATION = re.compile(r"^\d+:\d{1,2}:\d{1,2}:\d{1,2}$")


@dataclass
class TrainerSection:
    """``trainer``: batch size, budget (steps, epochs, wall-clock ``max_time`` as
    "DD:HH:MM:SS", CPU time ``max_cpu_minutes``: the training process's user + system
    time over all its threads, summed over resumed runs; the first limit reached ends
    training), how often to validate, checkpoint and log, precision, threads and
    hardware.

    Data-parallel training (:mod:`tinct.train.distributed`): ``devices`` processes per
    node (CPU processes or GPUs) on ``num_nodes`` machines run Lightning's DDP (gloo on
    ``accelerator: cpu``, NCCL on GPUs); ``batch_size`` is per process, so the global
    batch is ``batch_size * devices * num_nodes``. ``sync_batchnorm``: batch norms use
    the statistics of the global batch (SyncBatchNorm) instead of each process's own.
    """

    batch_size: int = field(default=16, metadata=_check(minimum=1))
    max_steps: int | None = field(default=1000, metadata=_check(minimum=1))
    max_epochs: int | None = field(default=None, metadata=_check(minimum=1))
    max_time: str | None = None
    max_cpu_minutes: float | None = field(default=None, metadata=_check(above=0))
    val_every_steps: int = field(default=250, metadata=_check(minimum=1))
    checkpoint_every_steps: int = field(default=250, metadata=_check(minimum=1))
    log_every_steps: int = field(default=10, metadata=_check(minimum=1))
    precision: str = "32-true"
    threads: int | None = field(default=None, metadata=_check(minimum=1))
    strategy: str = "auto"
    accelerator: str = field(
        default="cpu", metadata=_check(choices=lambda: ("cpu", "gpu", "cuda", "mps", "auto"))
    )
    devices: int | str = 1
    num_nodes: int = field(default=1, metadata=_check(minimum=1))
    sync_batchnorm: bool = False
    num_sample_images: int = field(default=8, metadata=_check(minimum=1))


@dataclass
class TrainConfig:
    """A whole training config, typed. Build it with :meth:`from_dict`."""

    name: str = "run"
    seed: int = 0
    output_dir: str = "runs/{name}"
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    loss: LossSection = field(default_factory=LossSection)
    gan: GanSection = field(default_factory=GanSection)
    segmentation: SegmentationSection = field(default_factory=SegmentationSection)
    optim: OptimSection = field(default_factory=OptimSection)
    schedule: ScheduleSection = field(default_factory=ScheduleSection)
    trainer: TrainerSection = field(default_factory=TrainerSection)

    #: Python field name -> config key, where they differ.
    KEYS: ClassVar[dict[str, str]] = {"lambda_": "lambda"}

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> TrainConfig:
        """Typed sections of a resolved config; raises :class:`ConfigError` naming the
        first key whose value has the wrong type or range."""
        out = _build(cls, config, "")
        _check_across(out)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The plain nested dict (config keys, YAML-ready)."""
        return _to_dict(self)


T = TypeVar("T")


def build_typed(cls: type[T], values: Mapping[str, Any]) -> T:
    """A typed config dataclass ``cls`` (any dataclass made of the sections here, e.g. the
    pretraining config of :mod:`tinct.ssl`) from a mapping, every value checked."""
    return _build(cls, values, "")


def to_plain_dict(obj: Any) -> Any:
    """The plain nested dict of a typed config (config keys, YAML-ready)."""
    return _to_dict(obj)


def _build(cls: type[T], values: Mapping[str, Any], prefix: str) -> T:
    if not isinstance(values, Mapping):
        raise ConfigError(
            f"{prefix.rstrip('.') or 'config'} must be a mapping, got {type(values).__name__}"
        )
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    known = {TrainConfig.KEYS.get(f.name, f.name): f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in values:
        if key not in known:
            raise ConfigError(f"unknown config key {prefix + str(key)!r}; known: {sorted(known)}")
    for key, f in known.items():
        if key not in values:
            continue
        kwargs[f.name] = _value(values[key], hints[f.name], f.metadata, prefix + key)
    return cls(**kwargs)


def _describe(annotation: Any) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    if annotation in names:
        return names[annotation]
    origin = typing.get_origin(annotation)
    if origin in (list, dict):
        return "a list" if origin is list else "a mapping"
    return getattr(annotation, "__name__", str(annotation))


def _value(value: Any, annotation: Any, meta: Mapping[str, Any], where: str) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        real = [a for a in options if a is not type(None)]
        errors: list[ConfigError] = []
        for option in real:
            try:
                return _value(value, option, meta, where)
            except ConfigError as err:
                errors.append(err)
        if len(real) == 1:
            raise errors[0]
        wanted = " or ".join(_describe(a) for a in real)
        raise ConfigError(f"{where} must be {wanted}, got {value!r}")
    if dataclasses.is_dataclass(annotation):
        return _build(annotation, value, f"{where}.")  # type: ignore[arg-type]
    if annotation is Any:
        return value
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if annotation in (int, float):
        return _number(value, annotation, meta, where)
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        choices = meta.get("choices")
        if choices is not None and value not in choices():
            raise ConfigError(f"{where} must be one of {tuple(choices())}, got {value!r}")
        if where == "trainer.max_time" and not DURATION.match(value):
            raise ConfigError(f"{where} must be a duration 'DD:HH:MM:SS', got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        (item,) = typing.get_args(annotation) or (Any,)
        items = [_value(v, item, {}, f"{where}[{i}]") for i, v in enumerate(value)]
        choices = meta.get("choices")
        if choices is not None:
            unknown = sorted(set(items) - set(choices()))
            if unknown:
                raise ConfigError(f"{where} has unknown {unknown}; known: {list(choices())}")
        return items
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} must be a mapping, got {value!r}")
        _, item = typing.get_args(annotation) or (str, Any)
        return {str(k): _value(v, item, {}, f"{where}.{k}") for k, v in value.items()}
    raise TypeError(f"{where}: unsupported annotation {annotation!r}")  # a bug, not a config


def _number(value: Any, kind: type, meta: Mapping[str, Any], where: str) -> Any:
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind is int and not is_int:
        raise ConfigError(f"{where} must be an integer, got {value!r}")
    if kind is float and not (is_int or isinstance(value, float)):
        raise ConfigError(f"{where} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ConfigError(f"{where} must be a finite number, got {value!r}")
    if meta.get("minimum") is not None and number < meta["minimum"]:
        raise ConfigError(f"{where} must be >= {meta['minimum']}, got {value!r}")
    if meta.get("above") is not None and number <= meta["above"]:
        raise ConfigError(f"{where} must be > {meta['above']}, got {value!r}")
    return int(value) if kind is int else number


def _check_across(config: TrainConfig) -> None:
    """Checks that involve several keys."""
    data, trainer = config.data, config.trainer
    from tinct.models import list_models
    from tinct.models.registry import did_you_mean

    if config.model.name not in list_models():
        hint = did_you_mean(config.model.name, list_models()) or " (tinct models lists them)"
        raise ConfigError(
            f"model.name {config.model.name!r} is not a registered architecture{hint}"
        )
    if data.kind == "dataset" and data.name not in _datasets():
        raise ConfigError(
            f"data.name must name a dataset ({', '.join(_datasets())}), got {data.name!r}"
        )
    if trainer.sync_batchnorm and trainer.accelerator == "cpu":
        raise ConfigError(
            "trainer.sync_batchnorm needs GPUs (trainer.accelerator gpu or cuda): torch's "
            "SyncBatchNorm has no CPU implementation"
        )
    if trainer.max_steps is None and trainer.max_epochs is None:
        raise ConfigError("set trainer.max_steps or trainer.max_epochs")
    low, high = [*data.augment.scale, 0.0, 0.0][:2]
    if len(data.augment.scale) != 2 or not 0 < low <= high <= 1:
        raise ConfigError(
            f"data.augment.scale must be [low, high] with 0 < low <= high <= 1, "
            f"got {data.augment.scale!r}"
        )


def _to_dict(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            TrainConfig.KEYS.get(f.name, f.name): _to_dict(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
        }
    if isinstance(obj, list):
        return [_to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _to_dict(v) for k, v in obj.items()}
    return obj
