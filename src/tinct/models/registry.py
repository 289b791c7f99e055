"""Model registry in the style of timm: ``@register_model`` + ``create_model(name)``.

A registered entry is a factory function returning a :class:`~tinct.models.base.Colouriser`.
Its docstring's first line is the model's description in ``tinct models``.

The registry is a leaf: it imports no model family. The family modules import it and
register their models when they are imported, and :mod:`tinct.models` imports every family
module (as timm does), so importing anything from :mod:`tinct.models` fills the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from tinct.models.base import Colouriser

Factory = Callable[..., "Colouriser"]
F = TypeVar("F", bound=Factory)


@dataclass(frozen=True)
class ModelEntry:
    """What the registry knows about one architecture."""

    name: str
    factory: Factory
    family: str
    description: str


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(name: str | None = None, *, family: str = "regression") -> Callable[[F], F]:
    """Decorator registering a factory under ``name`` (default: function name, ``_`` -> ``-``)."""

    def wrap(fn: F) -> F:
        key = name or fn.__name__.replace("_", "-")
        if key in _REGISTRY:
            raise ValueError(f"model {key!r} is already registered")
        doc = (fn.__doc__ or "").strip().splitlines()
        _REGISTRY[key] = ModelEntry(key, fn, family, doc[0] if doc else "")
        return fn

    return wrap


def list_models(family: str | None = None) -> list[str]:
    """Names of the registered architectures, sorted (optionally of one ``family``)."""
    return sorted(k for k, e in _REGISTRY.items() if family is None or e.family == family)


def model_entry(name: str) -> ModelEntry:
    """The :class:`ModelEntry` of ``name``; unknown names raise ``KeyError`` listing known ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise KeyError(f"unknown model {name!r}; registered models: {known}") from None


def create_model(name: str, **kwargs: Any) -> Colouriser:
    """Build the registered architecture ``name`` with constructor keyword arguments."""
    model = model_entry(name).factory(**kwargs)
    model.registry_name = name
    model.init_kwargs = dict(kwargs)
    return model


def did_you_mean(key: str, names: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the name in ``names`` closest to a misspelt ``key``,
    or ``""`` when none is close."""
    import difflib

    close = difflib.get_close_matches(key, list(names), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
