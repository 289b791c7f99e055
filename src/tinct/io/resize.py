"""8-bit image geometry: resizing and centre crops of ``(H, W, C)`` uint8 arrays.

The one home of the resizing tinct does on 8-bit images: the pipeline (a photo to
model resolution), the datasets (photos cached at a smaller size, training crops,
CIFAR-format crops) and evaluation (ground truth at a fixed size). It lives in
:mod:`tinct.io`, next to the image reading that produces these arrays, because
``io`` is the one room that ``pipeline``, ``data`` and ``eval`` may all import
(docs: ARCHITECTURE.md, "Which room may use which"); ``color`` is pure colour maths.
Everything stays 8-bit, so a 100-megapixel photo is never held as floats.

The callers use different filters on purpose, and a filter decides the pixels a
model is trained, run and scored on, so each is a named option, not one choice:

- ``"area"``: OpenCV ``INTER_AREA``, pixel-area averaging; no aliasing when
  shrinking, fast on 8-bit data (the pipeline's model input, cached photos,
  evaluation's ground truth);
- ``"bilinear"``: OpenCV ``INTER_LINEAR`` (the pipeline, enlarging);
- ``"bicubic"``: Pillow ``BICUBIC`` (training crops and ground truth, enlarging);
- ``"reduced-bicubic"``: Pillow ``BICUBIC`` with ``reducing_gap=3``: an integer box
  reduction to at most 3x the target first, then bicubic; much faster on big photos
  (training photos cached in memory);
- ``"box"``: Pillow ``BOX`` (training crops and CIFAR-format crops, shrinking).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

__all__ = ["FILTERS", "Filter", "centre_crop", "resize", "resize_short_side", "short_side_size"]

Filter = Literal["area", "bilinear", "bicubic", "reduced-bicubic", "box"]


_Resizer = Callable[[np.ndarray, int, int], np.ndarray]


def _opencv(interpolation: str) -> _Resizer:
    def run(image: np.ndarray, height: int, width: int) -> np.ndarray:
        import cv2

        flag = getattr(cv2, interpolation)
        return np.asarray(cv2.resize(image, (width, height), interpolation=flag))

    return run


def _pillow(resample: str, reducing_gap: float | None = None) -> _Resizer:
    def run(image: np.ndarray, height: int, width: int) -> np.ndarray:
        from PIL import Image

        method = getattr(Image.Resampling, resample)
        pil = Image.fromarray(image)
        return np.asarray(pil.resize((width, height), method, reducing_gap=reducing_gap))

    return run


_FILTERS: dict[str, _Resizer] = {
    "area": _opencv("INTER_AREA"),
    "bilinear": _opencv("INTER_LINEAR"),
    "bicubic": _pillow("BICUBIC"),
    "reduced-bicubic": _pillow("BICUBIC", reducing_gap=3.0),
    "box": _pillow("BOX"),
}
#: The filter names :func:`resize` accepts.
FILTERS: tuple[str, ...] = tuple(_FILTERS)


def resize(
    image: np.ndarray,
    height: int,
    width: int,
    *,
    shrink: Filter = "area",
    enlarge: Filter = "bilinear",
) -> np.ndarray:
    """``image`` ``(H, W, C)`` uint8 resized to ``(height, width, C)``.

    The ``shrink`` filter is used when the result has fewer pixels than ``image``,
    ``enlarge`` otherwise (see the module's list of filters). An image that already has
    that size is returned as it is, not copied.
    """
    for name in (shrink, enlarge):
        if name not in _FILTERS:
            raise ValueError(f"unknown resize filter {name!r}; known: {', '.join(FILTERS)}")
    if height < 1 or width < 1:
        raise ValueError(f"resize target must be positive, got {height}x{width}")
    h, w = image.shape[:2]
    if (h, w) == (height, width):
        return image
    method = shrink if height * width < h * w else enlarge
    return _FILTERS[method](image, height, width)


def short_side_size(height: int, width: int, side: int) -> tuple[int, int]:
    """``(h, w)`` of a ``height x width`` image scaled so its short side is ``side``
    (the long side rounded to the nearest pixel, never below ``side``)."""
    scale = side / min(height, width)
    return max(side, round(height * scale)), max(side, round(width * scale))


def resize_short_side(
    image: np.ndarray,
    side: int | None,
    *,
    shrink: Filter = "area",
    enlarge: Filter | None = None,
) -> np.ndarray:
    """``image`` ``(H, W, C)`` uint8 resized so its short side is ``side``, aspect kept.

    ``shrink`` / ``enlarge``: the filters (see :func:`resize`); ``enlarge=None`` only
    shrinks: an image whose short side is at most ``side`` is returned as it is, as is
    every image when ``side`` is ``None``.
    """
    h, w = image.shape[:2]
    if side is None or min(h, w) == side or (enlarge is None and min(h, w) < side):
        return image
    height, width = short_side_size(h, w, side)
    return resize(image, height, width, shrink=shrink, enlarge=enlarge or shrink)


def centre_crop(image: np.ndarray, height: int, width: int | None = None) -> np.ndarray:
    """The centre ``height x width`` window of an ``(H, W, ...)`` array (a view; square
    when ``width`` is ``None``); offsets round down, ``((H - height) // 2, (W - width) // 2)``."""
    width = height if width is None else width
    h, w = image.shape[:2]
    if not (0 < height <= h and 0 < width <= w):
        raise ValueError(f"cannot crop {height}x{width} from a {h}x{w} image")
    top, left = (h - height) // 2, (w - width) // 2
    return image[top : top + height, left : left + width]
