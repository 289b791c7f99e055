"""8-bit sRGB <-> CIELAB on ``(H, W, C)`` numpy arrays with OpenCV, for whole photos.

The pipeline's last step turns a multi-megapixel 8-bit photo into lightness and, with
the predicted chroma, back into 8-bit RGB. OpenCV does each step in one vectorised,
multi-threaded pass (``cv2.LUT``, ``cv2.transform``, ``cv2.cvtColor``), several times
faster than a chain of tensor operations. Same CIELAB definition as
:func:`tinct.color.rgb_to_lab` (D65, sRGB, thresholds 0.008856 / 903.3); the tests compare
both against :mod:`tinct.color.fast` and scikit-image. For out-of-gamut colours OpenCV
clips in its own way (it does not clamp a negative Z before the matrix), which moves a
few saturated pixels; in-gamut colours agree within one 8-bit level.
"""

from __future__ import annotations

import numpy as np

from tinct.color.fast import _THRESHOLD, _Y_TABLES

_KAPPA = 903.3  # L* = 903.3 Y below the threshold (CIE, the constant scikit-image uses)
#: Per-channel tables: weight_c * linear(c) for every 8-bit value, as one 3-channel LUT.
_Y_LUT = np.stack([t.numpy() for t in _Y_TABLES], axis=-1).reshape(1, 256, 3).astype(np.float32)
_ONES = np.ones((1, 3), dtype=np.float32)


def _check(array: np.ndarray, channels: int, dtype: type, name: str) -> None:
    if (
        not isinstance(array, np.ndarray)
        or array.dtype != dtype
        or array.ndim != 3
        or array.shape[2] != channels
    ):
        shape = getattr(array, "shape", None)
        kind = getattr(array, "dtype", type(array).__name__)
        raise ValueError(
            f"{name} must be a {np.dtype(dtype).name} array of shape (H, W, {channels}), "
            f"got {kind} {shape}"
        )


def lab_lightness_u8(rgb: np.ndarray) -> np.ndarray:
    """CIE L* ``(H, W)`` float32 (0..100) of an 8-bit sRGB image ``(H, W, 3)``."""
    import cv2

    _check(rgb, 3, np.uint8, "rgb")
    y = cv2.transform(cv2.LUT(np.ascontiguousarray(rgb), _Y_LUT), _ONES)
    lightness = np.cbrt(y)
    lightness *= 116.0
    lightness -= 16.0
    dark = y <= _THRESHOLD
    if dark.any():
        lightness[dark] = _KAPPA * y[dark]
    return lightness


def lab_to_rgb_u8(
    lightness: np.ndarray, ab: np.ndarray, *, out: np.ndarray | None = None
) -> np.ndarray:
    """8-bit sRGB ``(H, W, 3)`` of L* ``(H, W)`` and a*b* ``(H, W, 2)`` (float32);
    out-of-gamut values are clipped per channel.

    ``out``: a C-contiguous uint8 ``(H, W, 3)`` array (e.g. a band of rows of a larger
    image) to write the result into instead of a new array; it is returned.
    """
    import cv2

    if lightness.ndim != 2:
        raise ValueError(f"lightness must be an (H, W) array, got shape {lightness.shape}")
    _check(ab, 2, np.float32, "ab")
    if ab.shape[:2] != lightness.shape:
        raise ValueError(f"lightness {lightness.shape} and ab {ab.shape} do not match")
    if out is not None:
        _check(out, 3, np.uint8, "out")
        if out.shape[:2] != lightness.shape or not out.flags.c_contiguous:
            raise ValueError(
                f"out must be a C-contiguous array of shape {(*lightness.shape, 3)}, "
                f"got {out.shape}"
            )
    lab = cv2.merge([lightness.astype(np.float32, copy=False), ab[..., 0], ab[..., 1]])
    rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB, dst=lab)  # in place: one float array
    np.clip(rgb, 0.0, 1.0, out=rgb)
    result: np.ndarray = cv2.convertScaleAbs(rgb, dst=out, alpha=255.0)
    return result
