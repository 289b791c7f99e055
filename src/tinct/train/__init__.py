"""Training: configs, Lightning modules per scheme, callbacks and the runner."""

from __future__ import annotations

from tinct.train.config import ConfigError, resolve_config
from tinct.train.runner import train

__all__ = ["ConfigError", "resolve_config", "train"]
