"""8-bit sRGB <-> CIELAB for full-resolution images: the one home of the 8-bit Lab path.

The generic conversions (:mod:`tinct.color.conversions`) are differentiable and work
on floats; where a multi-megapixel 8-bit image is turned into lightness and back to
8-bit RGB, table look-ups replace the transfer-curve powers: sRGB -> linear is exact
through a 256-entry table, and linear -> 8-bit sRGB goes through a 65,536-entry table
(error at most one 8-bit level, in practice within rounding of the float path). Same
constants as kornia's / scikit-image's Lab (D65, threshold 0.008856, slope 7.787,
kappa 903.3), so the results agree with :func:`tinct.color.rgb_to_lab` and
:func:`tinct.color.lab_to_rgb`. Not differentiable; for inference and evaluation.

Two front ends share those tables and constants:

* tensors ``(*, C, H, W)``: :func:`srgb8_to_lab_lightness`, :func:`lab_to_srgb8` --
  the exact torch reference of the 8-bit path; evaluation's baselines use it.
* numpy arrays ``(H, W, C)``: :func:`lab_lightness_u8`, :func:`lab_to_rgb_u8` --
  OpenCV does each step in one vectorised, multi-threaded pass (``cv2.LUT``,
  ``cv2.transform``, ``cv2.cvtColor``), several times faster than a chain of tensor
  operations (docs/benchmarks.md); the pipeline uses it. For out-of-gamut colours
  OpenCV clips in its own way (it does not clamp a negative Z before the matrix),
  which moves a few saturated pixels; in-gamut colours agree within one 8-bit level.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from tinct.color._checks import check_image

__all__ = ["lab_lightness_u8", "lab_to_rgb_u8", "lab_to_srgb8", "srgb8_to_lab_lightness"]

# sRGB (D65) <-> XYZ, the matrix kornia and scikit-image use.
_XYZ_FROM_LINEAR = torch.tensor(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ],
    dtype=torch.float64,
)
_LINEAR_FROM_XYZ = torch.linalg.inv(_XYZ_FROM_LINEAR)
_WHITE = torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)
# XYZ -> linear RGB with the white point folded in: rgb = M @ (white * finv(f)).
_LINEAR_FROM_FXYZ = (_LINEAR_FROM_XYZ * _WHITE).float()
_Y_WEIGHTS = _XYZ_FROM_LINEAR[1].float()

_THRESHOLD = 0.008856
_SLOPE = 7.787
_F_THRESHOLD = 0.2068966  # f(_THRESHOLD), as in kornia's lab_to_rgb
_KAPPA = 903.3  # L* = 903.3 Y below the threshold (CIE, the constant scikit-image uses)

_GAMMA_STEPS = 65536


def _srgb_to_linear_table() -> Tensor:
    v = torch.arange(256, dtype=torch.float64) / 255.0
    return torch.where(v > 0.04045, ((v + 0.055) / 1.055) ** 2.4, v / 12.92).float()


def _linear_to_srgb8_table() -> Tensor:
    v = torch.arange(_GAMMA_STEPS, dtype=torch.float64) / (_GAMMA_STEPS - 1)
    srgb = torch.where(
        v > 0.0031308, 1.055 * v.clamp(min=0.0031308) ** (1 / 2.4) - 0.055, 12.92 * v
    )
    return (srgb * 255.0).round().clamp(0, 255).to(torch.uint8)


_TO_LINEAR = _srgb_to_linear_table()
_Y_TABLES = [_TO_LINEAR * w for w in _Y_WEIGHTS.tolist()]
_TO_SRGB8 = _linear_to_srgb8_table()


def _lookup(table: Tensor, index: Tensor) -> Tensor:
    """``table[index]`` for an int32 index; ``index_select`` on the flat index is several
    times faster than advanced indexing on the CPU."""
    return table.index_select(0, index.reshape(-1)).view(index.shape)


def _check_uint8(image: Tensor, channels: int, name: str) -> None:
    if not isinstance(image, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(image).__name__}")
    if image.dtype != torch.uint8 or image.ndim < 3 or image.shape[-3] != channels:
        raise ValueError(
            f"{name} must be a uint8 tensor of shape (*, {channels}, H, W), "
            f"got {image.dtype} {tuple(image.shape)}"
        )


def srgb8_to_lab_lightness(rgb8: Tensor) -> Tensor:
    """CIE L* ``(*, 1, H, W)`` (0..100, float32) of an 8-bit sRGB image ``(*, 3, H, W)``."""
    _check_uint8(rgb8, 3, "rgb8")
    index = rgb8.int()
    # Luminance Y = sum_c w_c * linear(c), one table per channel with its weight folded in.
    y = _lookup(_Y_TABLES[0], index[..., 0:1, :, :])
    y += _lookup(_Y_TABLES[1], index[..., 1:2, :, :])
    y += _lookup(_Y_TABLES[2], index[..., 2:3, :, :])
    f = torch.where(y > _THRESHOLD, y.clamp(min=_THRESHOLD).pow_(1 / 3), _SLOPE * y + 4 / 29)
    return f.mul_(116.0).sub_(16.0)


def lab_to_srgb8(lightness: Tensor, ab: Tensor) -> Tensor:
    """8-bit sRGB ``(*, 3, H, W)`` of CIELAB given as L* ``(*, 1, H, W)`` and a*b*
    ``(*, 2, H, W)``; out-of-gamut colours are clipped per channel, as
    :func:`tinct.color.lab_to_rgb` with ``clip=True`` does."""
    check_image(lightness, 1, "lightness")
    check_image(ab, 2, "ab")
    if lightness.shape[:-3] + lightness.shape[-2:] != ab.shape[:-3] + ab.shape[-2:]:
        raise ValueError(
            f"lightness {tuple(lightness.shape)} and ab {tuple(ab.shape)} do not match"
        )
    fy = lightness.float().add(16.0).div_(116.0)
    a, b = ab.float().split(1, dim=-3)
    f = torch.cat([fy + a / 500.0, fy, (fy - b / 200.0).clamp_(min=0)], dim=-3)
    # Inverse of f: t^3 above the threshold, linear below (kornia's lab_to_rgb constants).
    xyz = torch.where(f > _F_THRESHOLD, f * f * f, f.sub(4 / 29).div_(_SLOPE))
    flat = xyz.movedim(-3, 0).reshape(3, -1)
    linear = torch.mm(_LINEAR_FROM_FXYZ, flat).reshape(3, *xyz.shape[:-3], *xyz.shape[-2:])
    index = linear.clamp_(0, 1).mul_(_GAMMA_STEPS - 1).add_(0.5).int()
    return _lookup(_TO_SRGB8, index).movedim(0, -3)


# -- numpy / OpenCV front end ------------------------------------------------------------

#: Per-channel tables: weight_c * linear(c) for every 8-bit value, as one 3-channel LUT.
_Y_LUT = np.stack([t.numpy() for t in _Y_TABLES], axis=-1).reshape(1, 256, 3).astype(np.float32)
_ONES = np.ones((1, 3), dtype=np.float32)


def _check_array(array: np.ndarray, channels: int, dtype: type, name: str) -> None:
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

    _check_array(rgb, 3, np.uint8, "rgb")
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
    _check_array(ab, 2, np.float32, "ab")
    if ab.shape[:2] != lightness.shape:
        raise ValueError(f"lightness {lightness.shape} and ab {ab.shape} do not match")
    if out is not None:
        _check_array(out, 3, np.uint8, "out")
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
