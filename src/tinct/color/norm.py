"""Normalisation of colour-space channels to about [-1, 1]: the one place for these constants.

Each space has a nominal range ``(low, high)`` per channel, in colour-space units; the
normalised value is ``2 (x - low) / (high - low) - 1``, so ``low -> -1`` and ``high -> 1``.
Chroma ranges are symmetric, so neutral colours stay at 0 after normalisation.

Lightness/chroma spaces (channel ranges -> lightness_norm, chroma_norm):

- ``lab``: L 0..100, a, b ±110 -> ``L / 50 - 1``, ``ab / 110``
- ``luv``: L 0..100, u, v ±180 -> ``L / 50 - 1``, ``uv / 180``
- ``yuv``: Y 0..1, U ±0.436, V ±0.615 -> ``2 Y - 1``, ``(U / 0.436, V / 0.615)``
- ``yiq``: Y 0..1, I ±0.596, Q ±0.523 -> ``2 Y - 1``, ``(I / 0.596, Q / 0.523)``
- ``ycbcr``: Y, Cb, Cr 0..1 -> ``2 Y - 1``, ``2 (C - 0.5)``

For every sRGB colour the normalised values lie in [-1, 1]: the sRGB gamut spans
a in [-86, 98] and b in [-108, 95] (hence one scale, 110, for both); u in [-83, 175] and v in
[-134, 107] (hence one isotropic scale, 180, so distances in the uv plane keep their
proportions; v then only reaches about -0.75..0.6); U, V, I and Q reach exactly the sum of
the positive coefficients of their matrix row, e.g. U = 0.436 for pure blue.

The other spaces (used by :func:`tinct.color.stack_spaces`, seed 000 ch. 5) map:
rgb, linear, ycbcr, grey and the S, V, I channels 0..1 -> [-1, 1]; hue 0..2π -> [-1, 1];
XYZ 0..white ``(0.95047, 1, 1.08883)`` -> [-1, 1].
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import torch
from torch import Tensor

from tinct.color._checks import check_image, check_name

__all__ = [
    "LIGHTNESS_CHROMA_SPACES",
    "SPACE_RANGES",
    "denormalize_channels",
    "denormalize_chroma",
    "denormalize_lightness",
    "normalize_channels",
    "normalize_chroma",
    "normalize_lightness",
]

_UNIT = (0.0, 1.0)
_HUE = (0.0, 2.0 * math.pi)

SPACE_RANGES: Final[Mapping[str, tuple[tuple[float, float], ...]]] = MappingProxyType(
    {
        "rgb": (_UNIT, _UNIT, _UNIT),
        "linear": (_UNIT, _UNIT, _UNIT),
        "xyz": ((0.0, 0.95047), (0.0, 1.0), (0.0, 1.08883)),
        "lab": ((0.0, 100.0), (-110.0, 110.0), (-110.0, 110.0)),
        "luv": ((0.0, 100.0), (-180.0, 180.0), (-180.0, 180.0)),
        "yuv": (_UNIT, (-0.436, 0.436), (-0.615, 0.615)),
        "yiq": (_UNIT, (-0.596, 0.596), (-0.523, 0.523)),
        "ycbcr": (_UNIT, _UNIT, _UNIT),
        "hsv": (_HUE, _UNIT, _UNIT),
        "hsi": (_HUE, _UNIT, _UNIT),
        "grey": (_UNIT,),
    }
)
"""Nominal ``(low, high)`` of each channel per space, in colour-space units; see the module doc."""

LIGHTNESS_CHROMA_SPACES: Final[tuple[str, ...]] = ("lab", "luv", "yuv", "yiq", "ycbcr")
"""Spaces with one lightness (or luma) channel followed by two chroma channels."""


def _affine(ranges: tuple[tuple[float, float], ...], like: Tensor) -> tuple[Tensor, Tensor]:
    """Centre and half-width of ``ranges`` as ``(C, 1, 1)`` tensors like ``like``."""
    centre = torch.tensor([(lo + hi) / 2 for lo, hi in ranges], dtype=torch.float64)
    half = torch.tensor([(hi - lo) / 2 for lo, hi in ranges], dtype=torch.float64)
    return centre.to(like).view(-1, 1, 1), half.to(like).view(-1, 1, 1)


def _normalize(x: Tensor, ranges: tuple[tuple[float, float], ...]) -> Tensor:
    centre, half = _affine(ranges, x)
    return (x - centre) / half


def _denormalize(x_norm: Tensor, ranges: tuple[tuple[float, float], ...]) -> Tensor:
    centre, half = _affine(ranges, x_norm)
    return x_norm * half + centre


def _lightness_chroma_ranges(space: str) -> tuple[tuple[float, float], ...]:
    check_name(space, LIGHTNESS_CHROMA_SPACES, "lightness/chroma space")
    return SPACE_RANGES[space]


def normalize_channels(image: Tensor, space: str) -> Tensor:
    """Map every channel of an image in ``space`` to about [-1, 1] (see the module table).

    Args:
        image: ``(*, C, H, W)`` in colour-space units; C is 1 for ``grey``, else 3.
        space: one of :data:`SPACE_RANGES`.

    Returns:
        ``(*, C, H, W)``, each channel's nominal range mapped onto [-1, 1].
    """
    ranges = SPACE_RANGES[check_name(space, tuple(SPACE_RANGES), "colour space")]
    check_image(image, len(ranges), f"normalize_channels({space!r})")
    return _normalize(image, ranges)


def denormalize_channels(image_norm: Tensor, space: str) -> Tensor:
    """Inverse of :func:`normalize_channels`: [-1, 1] -> colour-space units."""
    ranges = SPACE_RANGES[check_name(space, tuple(SPACE_RANGES), "colour space")]
    check_image(image_norm, len(ranges), f"denormalize_channels({space!r})")
    return _denormalize(image_norm, ranges)


def normalize_lightness(lightness: Tensor, space: str = "lab") -> Tensor:
    """Lightness in colour-space units -> about [-1, 1].

    ``L / 50 - 1`` for lab and luv (L in 0..100); ``2 Y - 1`` for yuv, yiq and ycbcr
    (Y in 0..1).

    Args:
        lightness: ``(*, 1, H, W)``.
        space: one of :data:`LIGHTNESS_CHROMA_SPACES`.

    Returns:
        ``(*, 1, H, W)`` in [-1, 1] for in-range input.
    """
    ranges = _lightness_chroma_ranges(space)[:1]
    check_image(lightness, 1, f"normalize_lightness({space!r})")
    return _normalize(lightness, ranges)


def denormalize_lightness(lightness_norm: Tensor, space: str = "lab") -> Tensor:
    """Inverse of :func:`normalize_lightness`: ``(*, 1, H, W)`` in [-1, 1] -> colour-space units."""
    ranges = _lightness_chroma_ranges(space)[:1]
    check_image(lightness_norm, 1, f"denormalize_lightness({space!r})")
    return _denormalize(lightness_norm, ranges)


def normalize_chroma(chroma: Tensor, space: str = "lab") -> Tensor:
    """Chroma in colour-space units -> about [-1, 1], neutral at 0.

    ``ab / 110`` for lab, ``uv / 180`` for luv, ``(U / 0.436, V / 0.615)`` for yuv,
    ``(I / 0.596, Q / 0.523)`` for yiq and ``2 (C - 0.5)`` for ycbcr.

    Args:
        chroma: ``(*, 2, H, W)``.
        space: one of :data:`LIGHTNESS_CHROMA_SPACES`.

    Returns:
        ``(*, 2, H, W)``, within [-1, 1] for every sRGB colour.
    """
    ranges = _lightness_chroma_ranges(space)[1:]
    check_image(chroma, 2, f"normalize_chroma({space!r})")
    return _normalize(chroma, ranges)


def denormalize_chroma(chroma_norm: Tensor, space: str = "lab") -> Tensor:
    """Inverse of :func:`normalize_chroma`: ``(*, 2, H, W)`` in [-1, 1] -> colour-space units."""
    ranges = _lightness_chroma_ranges(space)[1:]
    check_image(chroma_norm, 2, f"denormalize_chroma({space!r})")
    return _denormalize(chroma_norm, ranges)
