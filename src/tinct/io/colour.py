"""Does an input photo already carry colour?  A pure function of its pixels.

A colouriser's inputs are greyscale scans, but also toned prints (sepia, selenium,
cyanotype) and scans made in RGB, whose pixels are never exactly grey: JPEG chroma
noise, sensor noise, a colour cast.  None of these carry colour a colouriser should
keep.  So colour here means **hue that varies independently of lightness**:

1. the image is box-averaged to at most :data:`ANALYSIS_SIDE` pixels on its long side
   (noise and JPEG chroma artefacts average out; colour regions stay);
2. pixels on a lightness edge (a step of more than 16 levels to a neighbour) are left
   out: their colour mixes two sides (averaging, JPEG chroma subsampling);
3. each pixel's chroma offset is its RGB minus its own channel mean (a 3-vector
   summing to zero; grey pixels give 0);
4. the image's **tint** is the mean chroma offset as a function of lightness: the mean
   offset of each of 32 lightness bands (8 levels wide), placed at the band's mean
   lightness and linearly interpolated between bands (bands holding under 0.5 % of
   the pixels take it from their neighbours).  A sepia, cyanotype or split-toned
   print, or a colour cast, is described fully by its tint;
5. a pixel is *coloured* when its offset departs from the tint at its lightness by
   more than ``level`` (max minus min over the three channels, in 8-bit levels).

:func:`colour_share` is the share of coloured pixels, :func:`is_colour` compares it
with a threshold.  Uniformly tinted images are therefore **not** colour, however
strong the tint; an image whose hue is a fixed function of its lightness everywhere
(a false-colour rendering, some duotones) is not colour either.
"""

from __future__ import annotations

from typing import Final

import numpy as np

__all__ = ["ANALYSIS_SIDE", "COLOUR_LEVEL", "COLOUR_THRESHOLD", "colour_share", "is_colour"]

#: Long side (pixels) that images are box-averaged down to before measuring.
ANALYSIS_SIDE: Final[int] = 256

#: A pixel is coloured when its chroma departs from the image's tint at its lightness
#: by more than this many 8-bit levels (max minus min of the three channel offsets).
#: JPEG chroma noise in a grey scan stays under it after averaging; a muted colour
#: (a grey-blue sky, skin) departs by 15-40.
COLOUR_LEVEL: Final[float] = 12.0

#: :func:`is_colour` is true when more than this share of the pixels is coloured.  Colour
#: photos measure 0.25-0.8; greyscale and grey scans with JPEG or sensor noise 0; toned
#: prints (sepia, cyanotype, also synthetic ones with clipped highlights) up to 0.02.
#: Colour confined to small details (under 5 % of the picture, e.g. a star field) is
#: not counted as colour.
COLOUR_THRESHOLD: Final[float] = 0.05

_TINT_BANDS: Final[int] = 32  # lightness bands of the tint curve, 8 levels each
_MIN_BAND_SHARE: Final[float] = 0.005  # bands with fewer pixels are interpolated
_EDGE_STEP: Final[float] = 16.0  # lightness step (levels) that makes a pixel an edge

# Rec. 601 luma weights: the lightness used to group pixels by band.
_LUMA: Final[np.ndarray] = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _box_average(rgb: np.ndarray, side: int) -> np.ndarray:
    """``(H, W, 3)`` uint8 -> ``(h, w, 3)`` float32 mean of ``k x k`` blocks, ``k`` the
    smallest integer that brings the long side to at most ``side`` (edge rows and
    columns that do not fill a block are dropped)."""
    h, w = rgb.shape[:2]
    k = max(1, -(-max(h, w) // side))
    if k == 1:
        return rgb.astype(np.float32)
    hh, ww = max(h // k, 1) * k, max(w // k, 1) * k
    if hh > h or ww > w:  # one side shorter than a block: average what there is
        k_h, k_w = min(k, h), min(k, w)
        hh, ww = (h // k_h) * k_h, (w // k_w) * k_w
    else:
        k_h = k_w = k
    blocks = rgb[:hh, :ww].reshape(hh // k_h, k_h, ww // k_w, k_w, 3)
    out: np.ndarray = blocks.mean(axis=(1, 3), dtype=np.float32)  # no float copy of rgb
    return out


def _edges(luma: np.ndarray) -> np.ndarray:
    """``(h, w)`` bool: pixels whose lightness differs from a 4-neighbour's by more
    than :data:`_EDGE_STEP` levels.  Their colour is a mix of two sides (box averaging,
    JPEG chroma subsampling), off any tint curve, so they are not counted."""
    step = np.zeros(luma.shape, dtype=np.float32)
    dy = np.abs(np.diff(luma, axis=0))
    dx = np.abs(np.diff(luma, axis=1))
    step[1:] = np.maximum(step[1:], dy)
    step[:-1] = np.maximum(step[:-1], dy)
    step[:, 1:] = np.maximum(step[:, 1:], dx)
    step[:, :-1] = np.maximum(step[:, :-1], dx)
    edges: np.ndarray = step > _EDGE_STEP
    return edges


def colour_share(rgb: np.ndarray, *, level: float = COLOUR_LEVEL) -> float:
    """The share of pixels whose colour is not explained by the image's overall tint.

    Args:
        rgb: ``(H, W, 3)`` uint8 RGB image (as :func:`tinct.io.read_image_numpy`
            returns), any size.
        level: how far, in 8-bit levels, a pixel's chroma offset must depart from the
            tint at its lightness to count (see the module doc); default
            :data:`COLOUR_LEVEL`.

    Returns:
        A float in ``[0, 1]``: about 0 for greyscale, noisy or JPEG-compressed grey
        scans and for uniformly toned (sepia, cyanotype, split-toned) images, large
        (0.3-0.9) for colour photos.

    Raises:
        ValueError: ``rgb`` is not a non-empty uint8 ``(H, W, 3)`` array.
    """
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8:
        raise ValueError(f"expected a uint8 numpy array, got {getattr(rgb, 'dtype', type(rgb))}")
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError(f"expected an (H, W, 3) image, got shape {rgb.shape}")
    image = _box_average(rgb, ANALYSIS_SIDE)
    flat = ~_edges(image @ _LUMA)
    if not flat.any():
        flat[...] = True
    pixels = image[flat]
    offset = pixels - pixels.mean(axis=1, keepdims=True)  # (N, 3) chroma, sums to 0
    luma = pixels @ _LUMA  # (N,) 0..255

    width = 256.0 / _TINT_BANDS
    band = np.minimum((luma / width).astype(np.int64), _TINT_BANDS - 1)
    counts = np.bincount(band, minlength=_TINT_BANDS).astype(np.float64)
    populated = counts >= max(1.0, _MIN_BAND_SHARE * len(luma))
    if not populated.any():
        populated = counts > 0
    # Each band's mean offset sits at the band's mean lightness (not its centre).
    centres = np.bincount(band, weights=luma, minlength=_TINT_BANDS)[populated] / counts[populated]
    tint = np.empty((len(luma), 3), dtype=np.float32)
    for c in range(3):
        sums = np.bincount(band, weights=offset[:, c], minlength=_TINT_BANDS)
        tint[:, c] = np.interp(luma, centres, sums[populated] / counts[populated])
    residual = offset - tint
    spread = residual.max(axis=1) - residual.min(axis=1)
    return float(np.mean(spread > level))


def is_colour(
    rgb: np.ndarray, threshold: float = COLOUR_THRESHOLD, *, level: float = COLOUR_LEVEL
) -> bool:
    """Whether ``rgb`` already carries colour, beyond noise and an overall tint.

    Args:
        rgb: ``(H, W, 3)`` uint8 RGB image.
        threshold: the share of coloured pixels (:func:`colour_share`) above which the
            image counts as colour; default :data:`COLOUR_THRESHOLD` (5 %).
        level: see :func:`colour_share`.

    Returns:
        ``True`` for a colour photo; ``False`` for a greyscale image, a grey scan
        stored in RGB with JPEG or sensor chroma noise, and a uniformly toned print
        (sepia and the like: toned prints are what a colouriser is for).

    Raises:
        ValueError: ``rgb`` is not a uint8 ``(H, W, 3)`` array, or ``threshold`` is
            outside ``[0, 1)``.
    """
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"threshold must be in [0, 1), got {threshold!r}")
    return colour_share(rgb, level=level) > threshold
