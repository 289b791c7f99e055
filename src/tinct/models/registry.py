"""Model registry in the style of timm: ``@register_model`` + ``create_model(name)``.

A registered entry is a factory function returning a :class:`~tinct.models.base.Colouriser`.
Its docstring's first line is the model's description in ``tinct models``.

The registry is a leaf: it imports no model family. The family modules import it and
register their models when they are imported, and :mod:`tinct.models` imports every family
module (as timm does), so importing anything from :mod:`tinct.models` fills the registry.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from tinct.models.base import Colouriser

Factory = Callable[..., "Colouriser"]
F = TypeVar("F", bound=Factory)


@dataclass(frozen=True)
class ModelEntry:
    """What the registry knows about one architecture.

    ``legacy_defaults``: constructor arguments whose default changed after model files
    were written. A saved model whose kwargs lack such a key was built with the value
    given here (the old default), not with today's; :func:`create_model` records the
    current value of these keys in ``init_kwargs``, so new files always name it.
    """

    name: str
    factory: Factory
    family: str
    description: str
    legacy_defaults: Mapping[str, Any] = field(default_factory=dict)


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(
    name: str | None = None,
    *,
    family: str = "regression",
    legacy_defaults: Mapping[str, Any] | None = None,
) -> Callable[[F], F]:
    """Decorator registering a factory under ``name`` (default: function name, ``_`` -> ``-``).

    ``legacy_defaults``: see :class:`ModelEntry`; every key must be a keyword argument of
    the factory with a default.
    """

    def wrap(fn: F) -> F:
        key = name or fn.__name__.replace("_", "-")
        if key in _REGISTRY:
            raise ValueError(f"model {key!r} is already registered")
        legacy = dict(legacy_defaults or {})
        params = inspect.signature(fn).parameters
        for arg in legacy:
            if arg not in params or params[arg].default is inspect.Parameter.empty:
                raise ValueError(
                    f"model {key!r}: legacy default {arg!r} is not a defaulted argument"
                )
        doc = (fn.__doc__ or "").strip().splitlines()
        _REGISTRY[key] = ModelEntry(key, fn, family, doc[0] if doc else "", legacy)
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
    """Build the registered architecture ``name`` with constructor keyword arguments.

    ``init_kwargs`` of the model are ``kwargs`` plus the current default of each of the
    entry's ``legacy_defaults`` keys not given (a saved file then names its layout).
    """
    entry = model_entry(name)
    model = entry.factory(**kwargs)
    model.registry_name = name
    params = inspect.signature(entry.factory).parameters
    model.init_kwargs = {
        **{k: params[k].default for k in entry.legacy_defaults if k not in kwargs},
        **kwargs,
    }
    return model


def with_legacy_defaults(name: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The constructor arguments a saved ``name`` model was built with: its stored
    ``kwargs``, plus the old default of each ``legacy_defaults`` key they lack (files
    written before that argument existed)."""
    return {**model_entry(name).legacy_defaults, **kwargs}


def did_you_mean(key: str, names: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the name in ``names`` closest to a misspelt ``key``,
    or ``""`` when none is close."""
    import difflib

    close = difflib.get_close_matches(key, list(names), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
