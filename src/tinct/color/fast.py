"""Fast 8-bit sRGB <-> CIELAB for full-resolution images in the inference pipeline.

The generic conversions (:mod:`tinct.color.conversions`) are differentiable and work
on floats; for the last step of colourisation, where a multi-megapixel 8-bit image is
turned into lightness and back to 8-bit RGB, table look-ups replace the transfer-curve
powers: sRGB -> linear is exact through a 256-entry table, and linear -> 8-bit sRGB
goes through a 65,536-entry table (error at most one 8-bit level, in practice within
rounding of the float path). Same constants as kornia's / scikit-image's Lab (D65,
threshold 0.008856, slope 7.787), so the results agree with :func:`rgb_to_lab` and
:func:`lab_to_rgb`. Not differentiable; for inference only.
"""

from __future__ import annotations

import torch
from torch import Tensor

from tinct.color._checks import check_image

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
