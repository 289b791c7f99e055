"""Colour spaces by name: generic conversion, lightness/chroma split and stacking.

Everything goes through sRGB: ``convert(x, "lab", "hsv")`` is ``rgb_to_hsv(lab_to_rgb(x))``.
The names and units are those of :mod:`tinct.color.conversions`; the normalisation
constants live in :mod:`tinct.color.norm`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from types import MappingProxyType
from typing import Final

import torch
from torch import Tensor, nn

from tinct.color._checks import check_image, check_name
from tinct.color.conversions import (
    grey_to_rgb,
    hsi_to_rgb,
    hsv_to_rgb,
    lab_to_rgb,
    linear_to_srgb,
    luv_to_rgb,
    rgb_to_grey,
    rgb_to_hsi,
    rgb_to_hsv,
    rgb_to_lab,
    rgb_to_luv,
    rgb_to_xyz,
    rgb_to_ycbcr,
    rgb_to_yiq,
    rgb_to_yuv,
    srgb_to_linear,
    xyz_to_rgb,
    ycbcr_to_rgb,
    yiq_to_rgb,
    yuv_to_rgb,
)
from tinct.color.norm import LIGHTNESS_CHROMA_SPACES, normalize_channels

__all__ = [
    "SPACES",
    "SPACE_CHANNELS",
    "ColorConvert",
    "StackSpaces",
    "convert",
    "lightness_chroma_to_rgb",
    "rgb_to_lightness_chroma",
    "stack_spaces",
]

_Conversion = Callable[[Tensor], Tensor]

SPACES: Final[tuple[str, ...]] = (
    "rgb",
    "linear",
    "xyz",
    "lab",
    "luv",
    "yuv",
    "yiq",
    "ycbcr",
    "hsv",
    "hsi",
    "grey",
)
"""Names accepted by :func:`convert` and :func:`stack_spaces` (``rgb`` is sRGB in [0, 1])."""

SPACE_CHANNELS: Final[Mapping[str, int]] = MappingProxyType(
    {name: 1 if name == "grey" else 3 for name in SPACES}
)
"""Number of channels of each space."""


def _rgb_identity(rgb: Tensor) -> Tensor:
    return check_image(rgb, 3, "rgb")


_FROM_RGB: Final[Mapping[str, _Conversion]] = MappingProxyType(
    {
        "rgb": _rgb_identity,
        "linear": srgb_to_linear,
        "xyz": rgb_to_xyz,
        "lab": rgb_to_lab,
        "luv": rgb_to_luv,
        "yuv": rgb_to_yuv,
        "yiq": rgb_to_yiq,
        "ycbcr": rgb_to_ycbcr,
        "hsv": rgb_to_hsv,
        "hsi": rgb_to_hsi,
        "grey": rgb_to_grey,
    }
)

# Defaults of each inverse: lab and luv clip to [0, 1], the others do not clip.
_TO_RGB: Final[Mapping[str, _Conversion]] = MappingProxyType(
    {
        "rgb": _rgb_identity,
        "linear": linear_to_srgb,
        "xyz": xyz_to_rgb,
        "lab": lab_to_rgb,
        "luv": luv_to_rgb,
        "yuv": yuv_to_rgb,
        "yiq": yiq_to_rgb,
        "ycbcr": ycbcr_to_rgb,
        "hsv": hsv_to_rgb,
        "hsi": hsi_to_rgb,
        "grey": grey_to_rgb,
    }
)

_TO_RGB_UNCLIPPED: Final[Mapping[str, _Conversion]] = MappingProxyType(
    {
        **_TO_RGB,
        "lab": partial(lab_to_rgb, clip=False),
        "luv": partial(luv_to_rgb, clip=False),
    }
)


def convert(image: Tensor, src: str, dst: str) -> Tensor:
    """Convert ``image`` from space ``src`` to space ``dst`` through sRGB.

    The sRGB leg uses each inverse's defaults, so a ``lab`` or ``luv`` source is clipped to
    the sRGB gamut on the way (the others are not clipped). ``src == dst`` returns
    ``image`` itself.

    Args:
        image: ``(*, C, H, W)`` in the units of ``src`` (C = 1 for ``grey``, else 3).
        src: a name in :data:`SPACES`.
        dst: a name in :data:`SPACES`.

    Returns:
        ``(*, C', H, W)`` in the units of ``dst``.

    Raises:
        ValueError: unknown space name (the message lists :data:`SPACES`) or a bad shape.
    """
    check_name(src, SPACES, "colour space")
    check_name(dst, SPACES, "colour space")
    check_image(image, SPACE_CHANNELS[src], f"convert({src!r} -> {dst!r})")
    if src == dst:
        return image
    return _FROM_RGB[dst](_TO_RGB[src](image))


def rgb_to_lightness_chroma(rgb: Tensor, space: str = "lab") -> tuple[Tensor, Tensor]:
    """Split an sRGB image into lightness and chroma of ``space``, in colour-space units.

    Args:
        rgb: sRGB ``(*, 3, H, W)`` in [0, 1].
        space: one of ``lab`` (L 0..100, ab about ±110), ``luv`` (L 0..100, uv in about
            -134..175), ``yuv`` (Y 0..1, U ±0.436, V ±0.615), ``yiq`` (Y 0..1, I ±0.596,
            Q ±0.523) or ``ycbcr`` (Y 0..1, CbCr 0..1 around 0.5).

    Returns:
        ``(lightness, chroma)`` of shapes ``(*, 1, H, W)`` and ``(*, 2, H, W)``; see
        :mod:`tinct.color.norm` to map them to [-1, 1].
    """
    check_name(space, LIGHTNESS_CHROMA_SPACES, "lightness/chroma space")
    check_image(rgb, 3, "rgb_to_lightness_chroma")
    image = _FROM_RGB[space](rgb)
    return image[..., :1, :, :], image[..., 1:, :, :]


def lightness_chroma_to_rgb(
    lightness: Tensor, chroma: Tensor, space: str = "lab", *, clip: bool = True
) -> Tensor:
    """Join lightness and chroma of ``space`` (colour-space units) and convert to sRGB.

    Args:
        lightness: ``(*, 1, H, W)``, e.g. L in 0..100 for lab.
        chroma: ``(*, 2, H, W)`` with the same leading and spatial sizes as ``lightness``.
        space: one of ``lab``, ``luv``, ``yuv``, ``yiq``, ``ycbcr``.
        clip: clamp the sRGB result to [0, 1] (predicted chroma is often out of gamut).

    Returns:
        sRGB ``(*, 3, H, W)``, in [0, 1] when ``clip``.
    """
    check_name(space, LIGHTNESS_CHROMA_SPACES, "lightness/chroma space")
    check_image(lightness, 1, "lightness_chroma_to_rgb (lightness)")
    check_image(chroma, 2, "lightness_chroma_to_rgb (chroma)")
    if lightness.shape[:-3] != chroma.shape[:-3] or lightness.shape[-2:] != chroma.shape[-2:]:
        raise ValueError(
            "lightness (*, 1, H, W) and chroma (*, 2, H, W) must agree in * and H, W; got "
            f"shapes {tuple(lightness.shape)} and {tuple(chroma.shape)}"
        )
    rgb = _TO_RGB_UNCLIPPED[space](torch.cat((lightness, chroma), dim=-3))
    return rgb.clamp(0.0, 1.0) if clip else rgb


def _check_space_list(spaces: Sequence[str]) -> tuple[str, ...]:
    if isinstance(spaces, str):
        raise TypeError(
            f"spaces must be a sequence of names such as ['rgb', 'lab'], got {spaces!r}"
        )
    names = tuple(spaces)
    if not names:
        raise ValueError(f"spaces must name at least one of: {', '.join(SPACES)}")
    for name in names:
        check_name(name, SPACES, "colour space")
    return names


def stack_spaces(rgb: Tensor, spaces: Sequence[str], *, normalize: bool = False) -> Tensor:
    """Concatenate an sRGB image converted to several spaces, channel-wise (seed 000 ch. 5).

    E.g. ``stack_spaces(rgb, ["rgb", "lab", "hsv", "yuv"])`` gives the 12-channel
    "RGB, LAB, HSV, YUV" input of seed 000 §5.3.

    Args:
        rgb: sRGB ``(*, 3, H, W)`` in [0, 1].
        spaces: names from :data:`SPACES`, in output order (repeats allowed).
        normalize: map every channel to about [-1, 1] with
            :func:`tinct.color.norm.normalize_channels` (L/50 - 1, ab/110, hue/π - 1, ...);
            otherwise channels keep their colour-space units.

    Returns:
        ``(*, sum(SPACE_CHANNELS[s] for s in spaces), H, W)``.
    """
    names = _check_space_list(spaces)
    check_image(rgb, 3, "stack_spaces")
    parts = []
    for name in names:
        image = _FROM_RGB[name](rgb)
        parts.append(normalize_channels(image, name) if normalize else image)
    return torch.cat(parts, dim=-3)


class ColorConvert(nn.Module):
    """Module form of :func:`convert` (no parameters).

    Shape: ``(*, C, H, W)`` -> ``(*, C', H, W)``.
    """

    def __init__(self, src: str, dst: str) -> None:
        super().__init__()
        self.src = check_name(src, SPACES, "colour space")
        self.dst = check_name(dst, SPACES, "colour space")

    def forward(self, image: Tensor) -> Tensor:
        return convert(image, self.src, self.dst)

    def extra_repr(self) -> str:
        return f"src={self.src!r}, dst={self.dst!r}"


class StackSpaces(nn.Module):
    """Module form of :func:`stack_spaces` (no parameters); ``out_channels`` for the next layer.

    Shape: ``(*, 3, H, W)`` sRGB -> ``(*, out_channels, H, W)``.
    """

    def __init__(self, spaces: Sequence[str], *, normalize: bool = False) -> None:
        super().__init__()
        self.spaces = _check_space_list(spaces)
        self.normalize = normalize
        self.out_channels = sum(SPACE_CHANNELS[name] for name in self.spaces)

    def forward(self, rgb: Tensor) -> Tensor:
        return stack_spaces(rgb, self.spaces, normalize=self.normalize)

    def extra_repr(self) -> str:
        return f"spaces={self.spaces}, normalize={self.normalize}"
