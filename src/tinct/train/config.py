"""Training configs: YAML files merged over defaults, with ``key.sub=value`` overrides.

A config is a nested dict; :data:`DEFAULTS` lists every key a supervised run
understands, so a misspelt key is an error naming it instead of being ignored.
The resolved config (defaults + file + overrides) is stored in every checkpoint.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

DEFAULTS: dict[str, Any] = {
    "name": "run",
    "seed": 0,
    "output_dir": "runs/{name}",
    "model": {"name": "effnet-unet", "kwargs": {}, "input_size": 256},
    "data": {
        # "corpus": the offline photo corpus built by `tinct data build-corpus` (root = its dir);
        # "folder": any folder of images (val_root optional, else a split of root);
        # "dataset": a dataset known to `tinct data list` by `name` (root = the data root,
        # None for $TINCT_DATA / ~/.cache/tinct/datasets), with its splits and `classes`.
        "kind": "corpus",
        "root": "corpus",
        "val_root": None,
        "name": None,
        "train_split": None,
        "val_split": None,
        "classes": None,
        "space": "lab",
        "image_size": 176,
        "val_size": 256,
        "cache_short_side": 512,
        "samples_per_epoch": 4000,
        "max_val_images": 64,
        "val_fraction": 0.1,
        # seed001: any of flip, rotation, shift, brightness, zoom (seed 001 section 4.1.3),
        # applied before the random resized crop ("dataset" kind only).
        "augment": {"hflip": True, "scale": [0.5, 1.0], "seed001": []},
        "num_workers": 1,
    },
    # Regression: l1, l2, ... (tinct.losses.REGRESSION_LOSSES). Classification models
    # (Zhang et al.): rebalanced, unbalanced, one-hot, with soft-encoding over the
    # `neighbours` nearest bins (Gaussian `sigma`), rebalancing `lambda`, optional prior
    # smoothing `smooth_sigma`, and the prior: null = the training data's (streamed over
    # `prior_batches` batches, saved as prior.json in output_dir), or a prior file
    # (`tinct data prior`; relative paths in a config file are relative to that file).
    "loss": {
        "name": "l1",
        "neighbours": 5,
        "sigma": 5.0,
        "lambda": 0.5,
        "smooth_sigma": None,
        "prior": None,
        "prior_batches": 100,
        # cvae family (seed 001 eq. 4.5): loss = reconstruction_weight * MSE + KL; a lower
        # weight gives more diverse samples (seed figure 5.6).
        "reconstruction_weight": 1.0,
        # Keras-style weight penalties added to the loss (seed 001 section 4.1.4, figures
        # 4.5/4.6): l1 * sum|w| and l2 * sum w^2 over the convolution/dense weights.
        "weight_l1": 0.0,
        "weight_l2": 0.0,
    },
    # Adversarial training, for models of the `gan` family (tinct.train.adversarial): one
    # discriminator step then one generator step per batch. `objective`: bce, lsgan, hinge
    # or wgan. `terms`: the generator loss as name -> weight over l1, l2 (normalised
    # chroma), adversarial and perceptual (replaced as a whole by a config, not merged;
    # without `adversarial` no discriminator is trained). `perceptual`: EfficientNet-Lite0
    # `stage` (2 = stride 4) or a user `state_dict`. The discriminator uses optim.name with
    # `d_lr` and `d_betas` (None: optim.lr and optim.betas).
    "gan": {
        "objective": "bce",
        "terms": {"l1": 100.0, "adversarial": 1.0},
        "perceptual": {"stage": 2, "state_dict": None},
        "d_lr": None,
        "d_betas": None,
    },
    "optim": {
        "name": "adamw",
        "lr": 1.0e-3,
        "weight_decay": 1.0e-4,
        "betas": [0.9, 0.999],
        "encoder_lr_mult": 1.0,
        # sgd and rmsprop only (seed 001 figure 4.3b); null: 0.9 for sgd, 0 for rmsprop.
        "momentum": None,
    },
    "schedule": {"name": "cosine", "warmup_steps": 100},
    "trainer": {
        "batch_size": 16,
        "max_steps": 1000,
        "max_epochs": None,
        "max_time": None,
        "val_every_steps": 250,
        "checkpoint_every_steps": 250,
        "log_every_steps": 10,
        "precision": "32-true",
        "threads": None,
        "strategy": "auto",
        "devices": 1,
        "num_sample_images": 8,
    },
}


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads ``3e-4`` (no dot) as a string; configs mean a float."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^[-+]?(?:[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[0-9][0-9_]*[eE][-+]?[0-9]+"
        r"|\.[0-9_]+(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def load_yaml(text: str) -> Any:
    """Parse YAML text, reading ``1e-3`` as a float."""
    return yaml.load(text, Loader=_Loader)


SCHEDULES = ("cosine", "constant")
OPTIMISERS = ("adamw", "adam", "sgd", "rmsprop")


class ConfigError(ValueError):
    """A config file or override that cannot be used; the message says which key."""


#: Sections a config replaces as a whole instead of merging into the defaults.
REPLACED_SECTIONS = frozenset({"gan.terms"})


def _merge(base: dict[str, Any], update: Mapping[str, Any], path: str = "") -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in update.items():
        where = f"{path}{key}"
        if key not in base:
            raise ConfigError(f"unknown config key {where!r}; known: {sorted(base)}")
        # Free-form sections (model kwargs, generator terms) take any keys.
        if (
            isinstance(base[key], dict)
            and base[key]
            and isinstance(value, Mapping)
            and where not in REPLACED_SECTIONS
        ):
            out[key] = _merge(base[key], value, f"{where}.")
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"optim.lr=3e-4"`` -> (``["optim", "lr"]``, ``3e-4``); values are parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key.sub=value")
    key, raw = text.split("=", 1)
    return key.strip().split("."), load_yaml(raw)


def resolve_config(
    source: str | Path | Mapping[str, Any] | None = None, overrides: Sequence[str] = ()
) -> dict[str, Any]:
    """Defaults <- YAML file (or mapping) <- overrides; validated; ``{name}`` filled in."""
    if source is None:
        loaded: Any = {}
    elif isinstance(source, Mapping):
        loaded = dict(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        try:
            loaded = load_yaml(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: invalid YAML ({err})") from err
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: a config must be a mapping, got {type(loaded).__name__}")
        loaded.setdefault("name", path.stem)
        _prior_next_to_config(loaded, path)
    for text in overrides:
        keys, value = parse_override(text)
        node = loaded
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {text!r}: {k!r} is not a section")
        node[keys[-1]] = value
    config = _merge(DEFAULTS, loaded)
    _validate(config)
    config["output_dir"] = str(config["output_dir"]).format(name=config["name"])
    return config


def _prior_next_to_config(loaded: dict[str, Any], path: Path) -> None:
    """A relative ``loss.prior`` in a config file names a file next to that config (a
    prior shipped with it, e.g. configs/zhang/); an override stays relative to the
    working directory."""
    loss = loaded.get("loss")
    if not isinstance(loss, dict):
        return
    prior = loss.get("prior")
    if isinstance(prior, str) and prior and not Path(prior).expanduser().is_absolute():
        loss["prior"] = str(path.parent / prior)


def _validate(config: dict[str, Any]) -> None:
    data, trainer = config["data"], config["trainer"]
    if data["kind"] not in ("corpus", "folder", "dataset"):
        raise ConfigError(
            f"data.kind must be 'corpus', 'folder' or 'dataset', got {data['kind']!r}"
        )
    if data["kind"] == "dataset":
        from tinct.data.registry import DATASETS

        if data["name"] not in DATASETS:
            raise ConfigError(
                f"data.name must name a dataset ({', '.join(DATASETS)}), got {data['name']!r}"
            )
    from tinct.data.transforms import SEED001_AUGMENTATIONS

    unknown = set(data["augment"].get("seed001") or []) - set(SEED001_AUGMENTATIONS)
    if unknown:
        raise ConfigError(
            f"data.augment.seed001 has unknown {sorted(unknown)}; known: "
            f"{list(SEED001_AUGMENTATIONS)}"
        )
    for key in ("image_size", "val_size"):
        if not isinstance(data[key], int) or data[key] < 32:
            raise ConfigError(f"data.{key} must be an integer >= 32, got {data[key]!r}")
    if config["optim"]["name"] not in OPTIMISERS:
        raise ConfigError(
            f"optim.name must be one of {OPTIMISERS}, got {config['optim']['name']!r}"
        )
    if config["schedule"]["name"] not in SCHEDULES:
        raise ConfigError(
            f"schedule.name must be one of {SCHEDULES}, got {config['schedule']['name']!r}"
        )
    if trainer["max_steps"] is None and trainer["max_epochs"] is None:
        raise ConfigError("set trainer.max_steps or trainer.max_epochs")
    if not isinstance(trainer["batch_size"], int) or trainer["batch_size"] < 1:
        raise ConfigError(
            f"trainer.batch_size must be a positive integer, got {trainer['batch_size']!r}"
        )


def dump_config(config: Mapping[str, Any], path: str | Path) -> None:
    """Write a resolved config as YAML."""
    Path(path).write_text(yaml.safe_dump(dict(config), sort_keys=False))
