"""Training configs: YAML files merged over defaults, with ``key.sub=value`` overrides.

A resolved config is a nested dict (defaults + file + overrides), stored in every
checkpoint and model file; :class:`~tinct.train.sections.TrainConfig` is its typed
view, which the training code reads.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from tinct.train.sections import ConfigError, TrainConfig

__all__ = [
    "DEFAULTS",
    "ConfigError",
    "TrainConfig",
    "dump_config",
    "load_yaml",
    "parse_value",
    "resolve_config",
]

#: Every key a run understands, with its default (from :mod:`tinct.train.sections`, where
#: each key is declared and documented); a misspelt key is an error naming it.
DEFAULTS: dict[str, Any] = TrainConfig().to_dict()


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
    return key.strip().split("."), parse_value(raw, f"override {text!r}")


def parse_value(text: str, where: str = "value") -> Any:
    """A value written on a command line, read as YAML (``3e-4`` a float, ``[1, 2]`` a
    list); :class:`ConfigError` naming ``where`` when it is not valid YAML."""
    try:
        return load_yaml(text)
    except yaml.YAMLError as err:
        problem = str(err).splitlines()[0]
        raise ConfigError(f"{where}: the value is not valid YAML ({problem})") from None


def resolve_config(
    source: str | Path | Mapping[str, Any] | None = None,
    overrides: Sequence[str] = (),
    *,
    defaults: Mapping[str, Any] | None = None,
    check: Callable[[dict[str, Any]], Any] | None = None,
) -> dict[str, Any]:
    """Defaults <- YAML file (or mapping) <- overrides; validated; ``{name}`` filled in.

    ``defaults`` and ``check`` (which raises :class:`ConfigError`) default to the training
    config's; another kind of run (``tinct ssl pretrain``) passes its own."""
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
    config = _merge(dict(DEFAULTS if defaults is None else defaults), loaded)
    (check or TrainConfig.from_dict)(config)  # raises ConfigError naming a bad value
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


def dump_config(config: Mapping[str, Any], path: str | Path) -> None:
    """Write a resolved config as YAML."""
    Path(path).write_text(yaml.safe_dump(dict(config), sort_keys=False))
