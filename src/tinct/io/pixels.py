"""Pillow images to exact 8-bit RGB: 16-bit samples, alpha on white, Lab, orientation."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
from PIL import Image

# --------------------------------------------------------------------------- #
# 16-bit colour: Pillow stores RGB/RGBA at 8 bits per sample and its unpackers
# keep only the high byte.  Decoding the same tiles a second time with the
# opposite byte order yields the low bytes (the PNG/TIFF filters are applied
# to the raw bytes, so they are unaffected).
# --------------------------------------------------------------------------- #

_NATIVE_16 = "L" if sys.byteorder == "little" else "B"
_LOW_BYTE_RAWMODE: Final[dict[str, str]] = {}
for _base in ("RGB", "RGBA", "RGBX"):
    _LOW_BYTE_RAWMODE[f"{_base};16B"] = f"{_base};16L"
    _LOW_BYTE_RAWMODE[f"{_base};16L"] = f"{_base};16B"
    _LOW_BYTE_RAWMODE[f"{_base};16N"] = f"{_base};16{'B' if _NATIVE_16 == 'L' else 'L'}"


def _tile_rawmode(tile: Any) -> str | None:
    args = tile[3]
    if isinstance(args, str):
        return args
    if isinstance(args, tuple) and args and isinstance(args[0], str):
        return args[0]
    return None


def _with_rawmode(tile: Any, rawmode: str) -> Any:
    args = tile[3]
    new_args = rawmode if isinstance(args, str) else (rawmode, *args[1:])
    if hasattr(tile, "_replace"):
        return tile._replace(args=new_args)
    return (*tuple(tile)[:3], new_args)


def _low_byte_rawmodes(tiles: Sequence[Any]) -> list[str] | None:
    """The rawmodes that decode the low bytes of 16-bit RGB(A) tiles, or None."""
    if not tiles:
        return None
    out = []
    for tile in tiles:
        raw = _tile_rawmode(tile)
        if raw is None or raw not in _LOW_BYTE_RAWMODE:
            return None
        out.append(_LOW_BYTE_RAWMODE[raw])
    return out


# --------------------------------------------------------------------------- #
# Conversions to (H, W, 3) uint8
# --------------------------------------------------------------------------- #


def _scale16(values: np.ndarray) -> np.ndarray:
    """0..65535 -> 0..255 as ``round(v / 257)``; input any integer dtype, in range."""
    v = values.astype(np.uint32)
    return ((v * 2 + 257) // 514).astype(np.uint8)


def _composite_on_white(colour: np.ndarray, alpha: np.ndarray, maxval: int) -> np.ndarray:
    """Composite straight-alpha ``colour`` (H, W, C) with ``alpha`` (H, W) onto white.

    Both hold integers in ``[0, maxval]`` (255 or 65535).  Returns uint8 (H, W, C)
    ``round(255 * (c * a + maxval * (maxval - a)) / maxval**2)``.
    """
    a = alpha.astype(np.int64)[..., None]
    num = colour.astype(np.int64) * a + maxval * (maxval - a)
    m2 = maxval * maxval
    return ((num * 510 + m2) // (2 * m2)).astype(np.uint8)


def _composite8_on_white(rgba: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 straight alpha -> (H, W, 3) uint8 on white, exactly rounded."""
    a = rgba[..., 3:4].astype(np.uint32)
    num = rgba[..., :3].astype(np.uint32) * a + 255 * (255 - a)
    return ((num * 2 + 255) // 510).astype(np.uint8)


def _grey_to_rgb(grey: np.ndarray) -> np.ndarray:
    """(H, W) -> read-only (H, W, 3) broadcast view."""
    return np.broadcast_to(grey[..., None], (*grey.shape, 3))


def _float_to_uint8(values: np.ndarray) -> np.ndarray:
    """Mode ``F`` -> uint8.  Range guessed from the data: [0, 1] if its maximum is
    at most 1, else [0, 255] if at most 255, else [0, 65535]; NaN -> 0."""
    v = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    top = float(v.max()) if v.size else 0.0
    scale = 255.0 if top <= 1.0 else (1.0 if top <= 255.0 else 255.0 / 65535.0)
    return np.clip(np.rint(v * scale), 0, 255).astype(np.uint8)


def _has_transparency(im: Image.Image) -> bool:
    """Alpha channel, RGBA palette or transparency key (Image.has_transparency_data)."""
    if im.mode in ("LA", "La", "PA", "RGBA", "RGBa") or "transparency" in im.info:
        return True
    return im.mode == "P" and im.palette is not None and im.palette.mode.endswith("A")


def _lab_to_rgb(im: Image.Image) -> Image.Image:
    from PIL import ImageCms  # needs LittleCMS; only CIELab files use it

    transform = ImageCms.buildTransform(
        ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB"
    )
    out = ImageCms.applyTransform(im, transform)
    assert out is not None
    return out


def _orient(array: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1..8) to an (H, W, C) array, as a view.

    Matches :func:`PIL.ImageOps.exif_transpose`.
    """
    if orientation == 2:
        return array[:, ::-1]
    if orientation == 3:
        return array[::-1, ::-1]
    if orientation == 4:
        return array[::-1]
    if orientation == 5:
        return array.transpose(1, 0, 2)
    if orientation == 6:
        return array.transpose(1, 0, 2)[:, ::-1]
    if orientation == 7:
        return array[::-1, ::-1].transpose(1, 0, 2)
    if orientation == 8:
        return array.transpose(1, 0, 2)[::-1]
    return array
