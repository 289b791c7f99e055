"""Pretraining configs (``tinct ssl pretrain CONFIG``): the training config's typed
sections (data, optim, schedule, trainer from :mod:`tinct.train.sections`) plus the
pretext ``method`` and the ``backbone`` shape; YAML files merged over :data:`DEFAULTS`
with ``key.sub=value`` overrides, exactly as ``tinct train`` reads its configs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinct.data.training import DataSection
from tinct.train.config import resolve_config
from tinct.train.sections import (
    ConfigError,
    OptimSection,
    ScheduleSection,
    TrainerSection,
    build_typed,
    to_plain_dict,
)

__all__ = ["DEFAULTS", "BackboneSection", "MethodSection", "PretrainConfig", "resolve_ssl_config"]


def _methods() -> Any:
    from tinct.ssl.methods import METHODS

    return METHODS


def _stems() -> Any:
    from tinct.nn.resnet import STEMS

    return STEMS


@dataclass
class MethodSection:
    """``method``: the pretext method (:data:`tinct.ssl.methods.METHODS`) and its keyword
    arguments (loss, temperature, projection size, loss weights, augment...)."""

    name: str = field(default="simclr", metadata={"choices": _methods})
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class BackboneSection:
    """``backbone``: ResNet-18 ``width`` (64 = the standard network, 512-d features) and
    ``stem`` ("stl10" for 96 px, "cifar" for 32 px, "imagenet")."""

    width: int = field(default=64, metadata={"minimum": 2})
    stem: str = field(default="stl10", metadata={"choices": _stems})


def _data_defaults() -> DataSection:
    return DataSection(image_size=96, val_size=96, max_val_images=64)


def _optim_defaults() -> OptimSection:
    # Seed 000 section 3.4.3: Adam, learning rate 1e-3.
    return OptimSection(name="adam", lr=1.0e-3, weight_decay=1.0e-6)


def _trainer_defaults() -> TrainerSection:
    # Seed 000 section 3.5.4: batch size 128.
    return TrainerSection(batch_size=128, max_steps=1000)


@dataclass
class PretrainConfig:
    """A whole pretraining config, typed; build it with :meth:`from_dict`."""

    name: str = "ssl"
    seed: int = 0
    output_dir: str = "runs/ssl/{name}"
    method: MethodSection = field(default_factory=MethodSection)
    backbone: BackboneSection = field(default_factory=BackboneSection)
    data: DataSection = field(default_factory=_data_defaults)
    optim: OptimSection = field(default_factory=_optim_defaults)
    schedule: ScheduleSection = field(default_factory=ScheduleSection)
    trainer: TrainerSection = field(default_factory=_trainer_defaults)
    #: Training batches the classification methods' class prior is counted over.
    prior_batches: int = field(default=20, metadata={"minimum": 1})
    #: Stop after this much process CPU time (all threads, summed over resumed runs), so
    #: methods can be compared at one compute budget; None: only the trainer's limits.
    max_cpu_minutes: float | None = field(default=None, metadata={"above": 0.0})

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> PretrainConfig:
        out = build_typed(cls, config)
        if out.trainer.max_steps is None and out.trainer.max_epochs is None:
            raise ConfigError("set trainer.max_steps or trainer.max_epochs")
        low, high = [*out.data.augment.scale, 0.0, 0.0][:2]
        if len(out.data.augment.scale) != 2 or not 0 < low <= high <= 1:
            raise ConfigError(f"data.augment.scale must be [low, high] in (0, 1], got {low, high}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return to_plain_dict(self)


#: Every key a pretraining run understands, with its default.
DEFAULTS: dict[str, Any] = PretrainConfig().to_dict()


def resolve_ssl_config(
    source: str | Path | Mapping[str, Any] | None = None, overrides: Sequence[str] = ()
) -> dict[str, Any]:
    """Defaults <- YAML file <- overrides, checked (:class:`ConfigError` names the key)."""
    return resolve_config(source, overrides, defaults=DEFAULTS, check=PretrainConfig.from_dict)
