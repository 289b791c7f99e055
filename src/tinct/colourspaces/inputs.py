"""Classifier inputs in any colour space or stack of colour components (seed 000 ch. 5).

A *component* is one channel of one colour space of :mod:`tinct.color`, written
``"lab.L"``, ``"hsv.H"``, ``"yuv.V"``; a space name (``"lab"``) stands for all its
components. :class:`ColourInput` turns an sRGB batch into the chosen components, each
channel standardised with a mean and standard deviation fitted on the training split only
(:meth:`ColourInput.fit`); the statistics are buffers, so they are saved with the model.

Hue (``hsv.H``, ``hsi.H``) is an angle: 0.01 rad and 2π - 0.01 rad are nearly the same red
but lie at the two ends of the raw channel, so a network sees a jump of about 2π between two
almost equal pixels. With ``hue="circular"`` (the default) each hue component becomes two
channels, ``cos H`` and ``sin H``, which are continuous across the wrap and keep the angle
(``atan2(sin, cos)``); ``hue="raw"`` keeps the single channel as the seed did.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

import torch
from torch import Tensor, nn

from tinct.color import SPACE_CHANNELS, SPACES, convert

__all__ = [
    "CHANNEL_LETTERS",
    "HUE_MODES",
    "ColourInput",
    "Component",
    "parse_components",
]

#: Letters naming the channels of every space of :mod:`tinct.color`.
CHANNEL_LETTERS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "rgb": ("R", "G", "B"),
        "linear": ("R", "G", "B"),
        "xyz": ("X", "Y", "Z"),
        "lab": ("L", "A", "B"),
        "luv": ("L", "U", "V"),
        "yuv": ("Y", "U", "V"),
        "yiq": ("Y", "I", "Q"),
        "ycbcr": ("Y", "Cb", "Cr"),
        "hsv": ("H", "S", "V"),
        "hsi": ("H", "S", "I"),
        "grey": ("Y",),
    }
)
assert set(CHANNEL_LETTERS) == set(SPACES)
assert all(len(CHANNEL_LETTERS[s]) == SPACE_CHANNELS[s] for s in SPACES)

HUE_MODES: Final[tuple[str, ...]] = ("circular", "raw")


@dataclass(frozen=True, order=True)
class Component:
    """One channel of one colour space: ``space`` from :data:`tinct.color.SPACES` and the
    channel ``index`` in it."""

    space: str
    index: int

    @property
    def key(self) -> str:
        """``"lab.L"``: the form configs use."""
        return f"{self.space}.{CHANNEL_LETTERS[self.space][self.index]}"

    @property
    def label(self) -> str:
        """``"LAB(L)"``: the form of seed 000 table 5.2."""
        return f"{self.space.upper()}({CHANNEL_LETTERS[self.space][self.index]})"

    @property
    def is_hue(self) -> bool:
        return self.space in ("hsv", "hsi") and self.index == 0


def _parse_one(item: str) -> list[Component]:
    if not isinstance(item, str):
        raise TypeError(f"a colour component must be a string like 'lab' or 'lab.L', not {item!r}")
    space, dot, letter = item.strip().partition(".")
    space = space.lower()
    if space not in CHANNEL_LETTERS:
        raise ValueError(f"unknown colour space {space!r} in {item!r}; known: {', '.join(SPACES)}")
    letters = CHANNEL_LETTERS[space]
    if not dot:
        return [Component(space, i) for i in range(len(letters))]
    upper = [x.upper() for x in letters]
    if letter.upper() not in upper:
        raise ValueError(
            f"{space} has no channel {letter!r} in {item!r}; its channels: {', '.join(letters)}"
        )
    return [Component(space, upper.index(letter.upper()))]


def parse_components(items: Sequence[str]) -> tuple[Component, ...]:
    """``["rgb", "lab.L"]`` -> R, G, B of RGB and L of LAB, in that order.

    Raises ``ValueError`` on an unknown space or channel, an empty list or a repeat.
    """
    if isinstance(items, str):
        items = [items]
    out: list[Component] = []
    for item in items:
        out.extend(_parse_one(item))
    if not out:
        raise ValueError("an input needs at least one colour component")
    seen: set[Component] = set()
    for c in out:
        if c in seen:
            raise ValueError(f"colour component {c.key} is listed twice in {list(items)}")
        seen.add(c)
    return tuple(out)


class ColourInput(nn.Module):
    """sRGB ``(B, 3, H, W)`` in [0, 1] -> standardised colour components ``(B, C, H, W)``.

    Args:
        components: what :func:`parse_components` accepts, or parsed components.
        hue: ``"circular"`` (hue as ``cos H, sin H``: two channels) or ``"raw"``.

    ``channels`` is the number of output channels, ``channel_names`` their names and
    ``channel_component`` the index of the component each channel comes from. Call
    :meth:`fit` on the training split before use; the statistics are buffers
    (``mean``, ``std``) saved in the state dict.
    """

    mean: Tensor
    std: Tensor
    fitted: Tensor

    def __init__(self, components: Sequence[str] | Sequence[Component], *, hue: str = "circular"):
        super().__init__()
        if hue not in HUE_MODES:
            raise ValueError(f"hue must be one of {HUE_MODES}, got {hue!r}")
        if isinstance(components, str) or not components:
            raise ValueError(
                f"components must be a non-empty list such as ['rgb'], not {components!r}"
            )
        if all(isinstance(c, Component) for c in components):
            self.components: tuple[Component, ...] = tuple(components)  # type: ignore[arg-type]
        else:
            self.components = parse_components(components)  # type: ignore[arg-type]
        self.hue = hue
        names: list[str] = []
        owner: list[int] = []
        for i, c in enumerate(self.components):
            if c.is_hue and hue == "circular":
                names += [f"{c.label} cos", f"{c.label} sin"]
                owner += [i, i]
            else:
                names.append(c.label)
                owner.append(i)
        self.channel_names: tuple[str, ...] = tuple(names)
        self.channel_component: tuple[int, ...] = tuple(owner)
        self.channels = len(names)
        self.spaces: tuple[str, ...] = tuple(dict.fromkeys(c.space for c in self.components))
        self.register_buffer("mean", torch.zeros(self.channels))
        self.register_buffer("std", torch.ones(self.channels))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    def convert(self, rgb: Tensor) -> Tensor:
        """The components in colour-space units (hue in radians or as cos/sin), not
        standardised: ``(B, channels, H, W)``."""
        if rgb.ndim != 4 or rgb.shape[1] != 3:
            raise ValueError(f"ColourInput expects sRGB (B, 3, H, W), got {tuple(rgb.shape)}")
        converted = {s: convert(rgb, "rgb", s) for s in self.spaces}
        parts: list[Tensor] = []
        for c in self.components:
            channel = converted[c.space][:, c.index : c.index + 1]
            if c.is_hue and self.hue == "circular":
                parts += [torch.cos(channel), torch.sin(channel)]
            else:
                parts.append(channel)
        return torch.cat(parts, dim=1)

    @torch.no_grad()
    def fit(self, rgb_batches: Iterable[Tensor]) -> None:
        """Per-channel mean and (population) standard deviation of :meth:`convert` over
        every pixel of ``rgb_batches``: pass the training split only."""
        total = torch.zeros(self.channels, dtype=torch.float64)
        square = torch.zeros(self.channels, dtype=torch.float64)
        count = 0
        for rgb in rgb_batches:
            x = self.convert(rgb.float()).double()
            total += x.sum(dim=(0, 2, 3))
            square += (x * x).sum(dim=(0, 2, 3))
            count += x.shape[0] * x.shape[2] * x.shape[3]
        if count == 0:
            raise ValueError("cannot fit the input statistics on an empty training split")
        mean = total / count
        var = (square / count - mean * mean).clamp_min(0.0)
        self.mean.copy_(mean.float())
        self.std.copy_(var.sqrt().clamp_min(1e-6).float())
        self.fitted.fill_(True)

    def forward(self, rgb: Tensor) -> Tensor:
        if not bool(self.fitted):
            raise RuntimeError("ColourInput.fit() must run on the training split before use")
        x = self.convert(rgb)
        return (x - self.mean[:, None, None]) / self.std[:, None, None]

    def extra_repr(self) -> str:
        keys = ", ".join(c.key for c in self.components)
        return f"components=[{keys}], hue={self.hue!r}, channels={self.channels}"
