"""tinct: automatic image colourisation with deep learning, and learning from colour.

Quick start::

    import tinct
    rgb = tinct.colourise("photo.jpg")          # (H, W, 3) uint8, default model, offline
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["__version__", "colorize", "colourise", "list_models", "load_model"]

if TYPE_CHECKING:
    from tinct.models import list_models, load_model
    from tinct.pipeline import colourise

    colorize = colourise


def __getattr__(name: str) -> Any:
    # Lazy: `import tinct` stays cheap (the CLI's --help must not import torch).
    if name in ("colourise", "colorize"):
        from tinct.pipeline import colourise

        return colourise
    if name in ("list_models", "load_model"):
        from tinct import models

        return getattr(models, name)
    raise AttributeError(f"module 'tinct' has no attribute {name!r}")
