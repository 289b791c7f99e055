"""Pure colour-space conversions between sRGB and the spaces of seed 000 §2.13.

Every function maps a tensor of shape ``(*, C, H, W)`` to one of the same shape (grey has
one channel) and is differentiable. ``rgb`` always means gamma-encoded sRGB (IEC 61966-2-1)
as floats in [0, 1]; ``linear`` is the same colour before the sRGB transfer curve. All CIE
spaces use the D65 white of scikit-image and kornia, ``(0.95047, 1.0, 1.08883)``.

kornia supplies the conversions it already has (sRGB transfer, XYZ, Lab, Luv, YUV, HSV,
grey); we checked its Lab and Luv against scikit-image (they agree to ~1e-9 in float64,
both use the 4-digit CIE constants 0.008856 / 903.3 / 7.787) and that their gradients are
finite at black. YIQ, HSI and YCbCr are our own: kornia has no YIQ or HSI, and its YCbCr
uses rounded coefficients (0.564, 0.713) and clamps the inverse to [0, 1], which breaks
round trips and gradients for out-of-gamut chroma.
"""

from __future__ import annotations

import math

import kornia.color as kc
import torch
from torch import Tensor

from tinct.color._checks import check_image

__all__ = [
    "grey_to_rgb",
    "hsi_to_rgb",
    "hsv_to_rgb",
    "lab_lightness_to_grey",
    "lab_to_rgb",
    "linear_to_srgb",
    "luv_to_rgb",
    "rgb_to_grey",
    "rgb_to_hsi",
    "rgb_to_hsv",
    "rgb_to_lab",
    "rgb_to_luv",
    "rgb_to_xyz",
    "rgb_to_ycbcr",
    "rgb_to_yiq",
    "rgb_to_yuv",
    "srgb_to_linear",
    "xyz_to_rgb",
    "ycbcr_to_rgb",
    "yiq_to_rgb",
    "yuv_to_rgb",
]

_TWO_PI = 2.0 * math.pi
_SQRT3 = math.sqrt(3.0)

# Seed 000 eq. 2.52 (the 3-digit NTSC matrix; rows of I and Q sum to zero, so grey has I = Q = 0).
_YIQ_FROM_RGB = torch.tensor(
    [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.212, -0.523, 0.311]],
    dtype=torch.float64,
)
_RGB_FROM_YIQ = torch.linalg.inv(_YIQ_FROM_RGB)

# Full-range ITU-R BT.601 (JPEG/JFIF): Cb = (B - Y) / 1.772 + 0.5, Cr = (R - Y) / 1.402 + 0.5.
_KR, _KB = 0.299, 0.114
_KG = 1.0 - _KR - _KB
_YCBCR_FROM_RGB = torch.tensor(
    [
        [_KR, _KG, _KB],
        [-_KR / (2 - 2 * _KB), -_KG / (2 - 2 * _KB), 0.5],
        [0.5, -_KG / (2 - 2 * _KR), -_KB / (2 - 2 * _KR)],
    ],
    dtype=torch.float64,
)
_RGB_FROM_YCBCR = torch.linalg.inv(_YCBCR_FROM_RGB)
_YCBCR_OFFSET = torch.tensor([0.0, 0.5, 0.5], dtype=torch.float64)


def _linear_map(image: Tensor, matrix: Tensor) -> Tensor:
    """Apply a 3x3 matrix over the channel axis -3 of a ``(*, 3, H, W)`` tensor."""
    return torch.einsum("oi,...ihw->...ohw", matrix.to(image), image)


def _channel_vector(values: Tensor, like: Tensor) -> Tensor:
    """``(3,)`` constants -> ``(3, 1, 1)`` in the dtype and device of ``like``."""
    return values.to(like).view(3, 1, 1)


# --- sRGB transfer curve and XYZ -------------------------------------------------------------


def srgb_to_linear(rgb: Tensor) -> Tensor:
    """Remove the sRGB transfer curve (IEC 61966-2-1), via kornia.

    Args:
        rgb: sRGB image ``(*, 3, H, W)`` in [0, 1].

    Returns:
        Linear RGB ``(*, 3, H, W)`` in [0, 1]. Values outside [0, 1] are extended (linear
        segment below 0.04045, power curve above), never NaN.
    """
    check_image(rgb, 3, "srgb_to_linear")
    return kc.rgb_to_linear_rgb(rgb)


def linear_to_srgb(linear: Tensor) -> Tensor:
    """Apply the sRGB transfer curve (IEC 61966-2-1), via kornia; inverse of :func:`srgb_to_linear`.

    Args:
        linear: linear RGB ``(*, 3, H, W)`` in [0, 1].

    Returns:
        sRGB ``(*, 3, H, W)`` in [0, 1] (not clipped).
    """
    check_image(linear, 3, "linear_to_srgb")
    return kc.linear_rgb_to_rgb(linear)


def rgb_to_xyz(rgb: Tensor) -> Tensor:
    """sRGB -> CIE XYZ (D65, 2° observer) (seed 000 §2.13.2).

    Unlike ``kornia.color.rgb_to_xyz`` this takes gamma-encoded sRGB: it linearises first.
    The matrix is the sRGB one used by kornia and scikit-image, not the matrix printed in
    seed 000 eq. 2.46 (that one belongs to different primaries).

    Args:
        rgb: sRGB image ``(*, 3, H, W)`` in [0, 1].

    Returns:
        XYZ ``(*, 3, H, W)`` with Y in [0, 1]; white is ``(0.95047, 1.0, 1.08883)``.
    """
    check_image(rgb, 3, "rgb_to_xyz")
    return kc.rgb_to_xyz(kc.rgb_to_linear_rgb(rgb))


def xyz_to_rgb(xyz: Tensor) -> Tensor:
    """CIE XYZ (D65) -> sRGB; inverse of :func:`rgb_to_xyz`.

    Args:
        xyz: XYZ image ``(*, 3, H, W)``, Y in [0, 1].

    Returns:
        sRGB ``(*, 3, H, W)``, in [0, 1] for in-gamut colours (not clipped).
    """
    check_image(xyz, 3, "xyz_to_rgb")
    return kc.linear_rgb_to_rgb(kc.xyz_to_rgb(xyz))


# --- CIELAB and CIELUV -------------------------------------------------------------------------


def rgb_to_lab(rgb: Tensor) -> Tensor:
    """sRGB -> CIELAB (D65, 2°), via kornia (seed 000 §2.13.3, eqs. 2.47-2.48).

    Matches ``skimage.color.rgb2lab`` to float precision (same constants: ε = 0.008856,
    7.787, white ``(0.95047, 1, 1.08883)``); colour-science, which uses the exact CIE
    constants and the white from xy ``(0.3127, 0.3290)``, differs by up to ~0.03.
    The cube root is taken of a clamped value, so the gradient is finite at black.

    Args:
        rgb: sRGB image ``(*, 3, H, W)`` in [0, 1].

    Returns:
        Lab ``(*, 3, H, W)``: L in [0, 100]; a in about [-86, 98] and b in about [-108, 95]
        for sRGB colours (nominally -128..127).
    """
    check_image(rgb, 3, "rgb_to_lab")
    return kc.rgb_to_lab(rgb)


def lab_lightness_to_grey(lightness: Tensor) -> Tensor:
    """CIE L* ``(*, 1, H, W)`` -> the sRGB grey level ``(*, 1, H, W)`` in [0, 1] of the
    neutral colour (a = b = 0) with that lightness; what a greyscale photo stores.

    Equals any channel of ``lab_to_rgb`` of ``(L, 0, 0)``, in one channel instead of three.
    """
    check_image(lightness, 1, "lab_lightness_to_grey")
    fy = (lightness + 16.0) / 116.0
    y = torch.where(fy > 0.2068966, fy.clamp(min=0.2068966) ** 3, (fy - 4.0 / 29.0) / 7.787)
    y = y.clamp(0.0, 1.0)
    return torch.where(
        y > 0.0031308, 1.055 * y.clamp(min=0.0031308) ** (1 / 2.4) - 0.055, 12.92 * y
    )


def lab_to_rgb(lab: Tensor, *, clip: bool = True) -> Tensor:
    """CIELAB (D65) -> sRGB, via kornia; inverse of :func:`rgb_to_lab`.

    As in scikit-image, a negative intermediate ``f(Z)`` (very large +b) is clamped to 0.

    Args:
        lab: Lab image ``(*, 3, H, W)``, L in [0, 100], a and b in about [-128, 127].
        clip: clamp the result to [0, 1]. Keep it on when decoding predicted chroma: many
            (L, a, b) triples are outside the sRGB gamut. Off gives the unclipped values
            (gradients then flow for out-of-gamut pixels too).

    Returns:
        sRGB ``(*, 3, H, W)``, in [0, 1] when ``clip``.
    """
    check_image(lab, 3, "lab_to_rgb")
    return kc.lab_to_rgb(lab, clip)


def rgb_to_luv(rgb: Tensor) -> Tensor:
    """sRGB -> CIELUV (D65, 2°), via kornia (seed 000 §2.13.3, eqs. 2.49-2.50).

    Matches ``skimage.color.rgb2luv`` to ~1e-9 (same constants as :func:`rgb_to_lab`, with
    903.3 for the linear part of L). Black maps to (0, 0, 0) with finite gradients.

    Args:
        rgb: sRGB image ``(*, 3, H, W)`` in [0, 1].

    Returns:
        Luv ``(*, 3, H, W)``: L in [0, 100]; for sRGB colours u in about [-83, 175] and
        v in about [-134, 107].
    """
    check_image(rgb, 3, "rgb_to_luv")
    return kc.rgb_to_luv(rgb)


def luv_to_rgb(luv: Tensor, *, clip: bool = True) -> Tensor:
    """CIELUV (D65) -> sRGB, via kornia; inverse of :func:`rgb_to_luv`.

    Args:
        luv: Luv image ``(*, 3, H, W)``, L in [0, 100], u and v in about [-134, 175].
        clip: clamp the result to [0, 1] (as :func:`lab_to_rgb`; kornia itself never clips).

    Returns:
        sRGB ``(*, 3, H, W)``, in [0, 1] when ``clip``.
    """
    check_image(luv, 3, "luv_to_rgb")
    rgb = kc.luv_to_rgb(luv)
    return rgb.clamp(0.0, 1.0) if clip else rgb


# --- Luma-chroma spaces ------------------------------------------------------------------------


def rgb_to_yuv(rgb: Tensor) -> Tensor:
    """sRGB -> analogue YUV (BT.601 weights), via kornia (seed 000 eq. 2.51, seed 001 §3.1.2).

    ``Y = 0.299 R + 0.587 G + 0.114 B``, ``U = -0.147 R - 0.289 G + 0.436 B``,
    ``V = 0.615 R - 0.515 G - 0.100 B``, applied to the gamma-encoded values. The 3-digit
    matrix of the seed differs from scikit-image's (more digits) by at most ~3e-4.

    Args:
        rgb: sRGB image ``(*, 3, H, W)`` in [0, 1].

    Returns:
        YUV ``(*, 3, H, W)``: Y in [0, 1], U in [-0.436, 0.436], V in [-0.615, 0.615].
    """
    check_image(rgb, 3, "rgb_to_yuv")
    return kc.rgb_to_yuv(rgb)


def yuv_to_rgb(yuv: Tensor) -> Tensor:
    """Analogue YUV -> sRGB (exact inverse of the seed matrix), via kornia.

    Args:
        yuv: YUV image ``(*, 3, H, W)``: Y in [0, 1], U in ±0.436, V in ±0.615.

    Returns:
        sRGB ``(*, 3, H, W)``, not clipped (out-of-gamut YUV gives values outside [0, 1]).
    """
    check_image(yuv, 3, "yuv_to_rgb")
    return kc.yuv_to_rgb(yuv)


def rgb_to_yiq(rgb: Tensor) -> Tensor:
    """sRGB -> NTSC YIQ (seed 000 eq. 2.52).

    ``Y = 0.299 R + 0.587 G + 0.114 B``, ``I = 0.596 R - 0.274 G - 0.322 B``,
    ``Q = 0.212 R - 0.523 G + 0.311 B``. scikit-image's matrix has more digits; the two
    agree to ~7e-4.

    Args:
        rgb: sRGB image ``(*, 3, H, W)`` in [0, 1].

    Returns:
        YIQ ``(*, 3, H, W)``: Y in [0, 1], I in [-0.596, 0.596], Q in [-0.523, 0.523].
    """
    check_image(rgb, 3, "rgb_to_yiq")
    return _linear_map(rgb, _YIQ_FROM_RGB)


def yiq_to_rgb(yiq: Tensor) -> Tensor:
    """NTSC YIQ -> sRGB, the exact inverse of the :func:`rgb_to_yiq` matrix.

    Args:
        yiq: YIQ image ``(*, 3, H, W)``: Y in [0, 1], I in ±0.596, Q in ±0.523.

    Returns:
        sRGB ``(*, 3, H, W)``, not clipped.
    """
    check_image(yiq, 3, "yiq_to_rgb")
    return _linear_map(yiq, _RGB_FROM_YIQ)


def rgb_to_ycbcr(rgb: Tensor) -> Tensor:
    """sRGB -> YCbCr, full-range ITU-R BT.601 as in JPEG/JFIF (and kornia's convention).

    ``Y = 0.299 R + 0.587 G + 0.114 B``, ``Cb = (B - Y) / 1.772 + 0.5``,
    ``Cr = (R - Y) / 1.402 + 0.5``: all three channels in [0, 1], neutral chroma at 0.5.
    This is not scikit-image's ``rgb2ycbcr``, which is studio range (Y in 16..235,
    Cb/Cr in 16..240 around 128): ``Y_ski = 16 + 219 Y``, ``C_ski = 128 + 224 (C - 0.5)``.

    Args:
        rgb: sRGB image ``(*, 3, H, W)`` in [0, 1].

    Returns:
        YCbCr ``(*, 3, H, W)`` with Y, Cb and Cr in [0, 1].
    """
    check_image(rgb, 3, "rgb_to_ycbcr")
    return _linear_map(rgb, _YCBCR_FROM_RGB) + _channel_vector(_YCBCR_OFFSET, rgb)


def ycbcr_to_rgb(ycbcr: Tensor) -> Tensor:
    """Full-range BT.601 YCbCr -> sRGB; inverse of :func:`rgb_to_ycbcr`.

    Args:
        ycbcr: YCbCr image ``(*, 3, H, W)``, channels in [0, 1], chroma offset by 0.5.

    Returns:
        sRGB ``(*, 3, H, W)``, not clipped (kornia's version clamps; this one does not).
    """
    check_image(ycbcr, 3, "ycbcr_to_rgb")
    return _linear_map(ycbcr - _channel_vector(_YCBCR_OFFSET, ycbcr), _RGB_FROM_YCBCR)


# --- Hue spaces --------------------------------------------------------------------------------


def rgb_to_hsv(rgb: Tensor) -> Tensor:
    """sRGB -> HSV (Smith), via kornia (seed 000 eqs. 2.53-2.58).

    Args:
        rgb: sRGB image ``(*, 3, H, W)`` in [0, 1].

    Returns:
        HSV ``(*, 3, H, W)``: H in radians in [0, 2π) (grey pixels get H = 0), S and V in
        [0, 1]. kornia adds 1e-8 to the saturation denominator, so S of a pixel with
        max(R, G, B) = m is low by a factor ``m / (m + 1e-8)``.
    """
    check_image(rgb, 3, "rgb_to_hsv")
    return kc.rgb_to_hsv(rgb)


def hsv_to_rgb(hsv: Tensor) -> Tensor:
    """HSV -> sRGB, via kornia; inverse of :func:`rgb_to_hsv`.

    Args:
        hsv: HSV image ``(*, 3, H, W)``, H in radians (taken modulo 2π), S and V in [0, 1].

    Returns:
        sRGB ``(*, 3, H, W)`` in [0, 1].
    """
    check_image(hsv, 3, "hsv_to_rgb")
    return kc.hsv_to_rgb(hsv)


def rgb_to_hsi(rgb: Tensor) -> Tensor:
    """sRGB -> HSI with the formulae of seed 000 eqs. 2.59-2.60.

    ``α = R - (G + B) / 2``, ``β = √3 / 2 (G - B)``, ``H = atan2(β, α)`` mapped to
    [0, 2π), ``S = √(α² + β²)``, ``I = (R + G + B) / 3``. The hue equals Gonzalez &
    Woods' ``θ = arccos(...)`` (with ``2π - θ`` when B > G); the saturation is the seed's
    chroma magnitude, not Gonzalez & Woods' ``1 - min(R, G, B) / I``. Grey pixels
    (α = β = 0) get H = 0 and S = 0 with zero (not NaN) gradients.

    Args:
        rgb: sRGB image ``(*, 3, H, W)`` in [0, 1].

    Returns:
        HSI ``(*, 3, H, W)``: H in radians in [0, 2π), S in [0, 1] (1 at the six primary and
        secondary colours), I in [0, 1].
    """
    check_image(rgb, 3, "rgb_to_hsi")
    r, g, b = rgb.unbind(-3)
    alpha = r - 0.5 * (g + b)
    beta = (0.5 * _SQRT3) * (g - b)
    chroma_sq = alpha * alpha + beta * beta
    defined = chroma_sq > 0
    # Swap in harmless values where the hue is undefined so that neither sqrt nor atan2
    # sees 0 in the backward pass (torch.where alone would still propagate NaN).
    saturation = torch.where(
        defined, torch.sqrt(torch.where(defined, chroma_sq, 1.0)), torch.zeros_like(chroma_sq)
    )
    hue = torch.atan2(torch.where(defined, beta, 0.0), torch.where(defined, alpha, 1.0))
    hue = torch.remainder(hue, _TWO_PI)
    hue = torch.where(defined & (hue < _TWO_PI), hue, torch.zeros_like(hue))
    intensity = (r + g + b) / 3.0
    return torch.stack((hue, saturation, intensity), dim=-3)


def hsi_to_rgb(hsi: Tensor) -> Tensor:
    """HSI (seed 000 eqs. 2.59-2.60) -> sRGB; inverse of :func:`rgb_to_hsi`.

    With ``α = S cos H`` and ``β = S sin H``: ``R = I + 2α/3``, ``G = I - α/3 + β/√3``,
    ``B = I - α/3 - β/√3``, the exact inverse of the linear map (α, β, I) of RGB.

    Args:
        hsi: HSI image ``(*, 3, H, W)``, H in radians, S and I in [0, 1].

    Returns:
        sRGB ``(*, 3, H, W)``, not clipped (not every (H, S, I) is inside the RGB cube).
    """
    check_image(hsi, 3, "hsi_to_rgb")
    hue, saturation, intensity = hsi.unbind(-3)
    alpha = saturation * torch.cos(hue)
    beta = saturation * torch.sin(hue)
    r = intensity + (2.0 / 3.0) * alpha
    g = intensity - alpha / 3.0 + beta / _SQRT3
    b = intensity - alpha / 3.0 - beta / _SQRT3
    return torch.stack((r, g, b), dim=-3)


# --- Grey --------------------------------------------------------------------------------------


def rgb_to_grey(rgb: Tensor) -> Tensor:
    """sRGB -> grey with ITU-R BT.601 luma weights 0.299, 0.587, 0.114, via kornia.

    The same Y as :func:`rgb_to_yuv`, :func:`rgb_to_yiq` and :func:`rgb_to_ycbcr`.
    (``skimage.color.rgb2gray`` uses the BT.709 weights 0.2125, 0.7154, 0.0721 instead.)

    Args:
        rgb: sRGB image ``(*, 3, H, W)`` in [0, 1].

    Returns:
        Grey ``(*, 1, H, W)`` in [0, 1].
    """
    check_image(rgb, 3, "rgb_to_grey")
    return kc.rgb_to_grayscale(rgb)


def grey_to_rgb(grey: Tensor) -> Tensor:
    """Grey -> sRGB by repeating the channel (R = G = B = grey).

    Args:
        grey: grey image ``(*, 1, H, W)`` in [0, 1].

    Returns:
        sRGB ``(*, 3, H, W)``, a new tensor (not a view).
    """
    check_image(grey, 1, "grey_to_rgb")
    return torch.cat((grey, grey, grey), dim=-3)
