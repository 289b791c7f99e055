"""tinct: automatic image colourisation with deep learning, and learning from colour.

Quick start::

    import tinct
    rgb = tinct.colourise("photo.jpg")          # (H, W, 3) uint8, default model, offline
    rgbs = tinct.colourise(["a.jpg", "b.jpg"])  # the model is loaded once and kept
    pipe = tinct.ColourisePipeline.from_pretrained("default")  # tensors in and out

Arrays are ``(H, W, C)`` and tensors ``(C, H, W)``, RGB uint8, everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "ColourisePipeline",
    "__version__",
    "clear_cache",
    "colorize",
    "colourise",
    "list_models",
    "load_model",
]

if TYPE_CHECKING:
    from tinct.models import list_models, load_model
    from tinct.pipeline import ColourisePipeline, clear_cache, colourise

    colorize = colourise

_LAZY = {
    "colourise": ("tinct.pipeline", "colourise"),
    "colorize": ("tinct.pipeline", "colourise"),
    "clear_cache": ("tinct.pipeline", "clear_cache"),
    "ColourisePipeline": ("tinct.pipeline", "ColourisePipeline"),
    "list_models": ("tinct.models", "list_models"),
    "load_model": ("tinct.models", "load_model"),
}


def __getattr__(name: str) -> Any:
    # Lazy: `import tinct` stays cheap (the CLI's --help must not import torch).
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'tinct' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
