"""Pure tensor colour maths: conversions, lightness/chroma split, normalisation.

Images are ``(*, C, H, W)`` float tensors; ``rgb`` means sRGB in [0, 1]. Units by space:
L* 0..100 (lab, luv), a*b* about ±110, Y 0..1 (yuv, yiq, ycbcr, grey), hue in radians
0..2π (hsv, hsi). See :mod:`tinct.color.conversions` (per-space functions),
:mod:`tinct.color.spaces` (by-name interface) and :mod:`tinct.color.norm` (the only place
with normalisation constants). Colourisation as classification (seed 002) has the ab bins and
their soft-encoding in :mod:`tinct.color.quantize`, the empirical prior and rebalancing weights
in :mod:`tinct.color.prior`, and decoding by mode, mean and annealed mean in
:mod:`tinct.color.decode`. :mod:`tinct.color.u8` is the one 8-bit sRGB <-> CIELAB path for
full-resolution images (tensor and OpenCV array front ends).
"""

from __future__ import annotations

from tinct.color.conversions import (
    grey_to_rgb,
    hsi_to_rgb,
    hsv_to_rgb,
    lab_lightness_to_grey,
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
from tinct.color.decode import DEFAULT_TEMPERATURE, annealed_mean, decode_mean, decode_mode
from tinct.color.norm import (
    LIGHTNESS_CHROMA_SPACES,
    SPACE_RANGES,
    denormalize_channels,
    denormalize_chroma,
    denormalize_lightness,
    normalize_channels,
    normalize_chroma,
    normalize_lightness,
)
from tinct.color.prior import BinPrior, dataset_prior, rebalancing_weights, smooth_prior
from tinct.color.quantize import (
    BIN_SETS,
    ZHANG_GRID,
    ab_bins,
    gamut_bins,
    nearest_bin,
    one_hot_encode,
    soft_encode,
    zhang_bins,
)
from tinct.color.spaces import (
    SPACE_CHANNELS,
    SPACES,
    ColorConvert,
    StackSpaces,
    convert,
    lightness_chroma_to_rgb,
    rgb_to_lightness_chroma,
    stack_spaces,
)

__all__ = [
    "BIN_SETS",
    "DEFAULT_TEMPERATURE",
    "LIGHTNESS_CHROMA_SPACES",
    "SPACES",
    "SPACE_CHANNELS",
    "SPACE_RANGES",
    "ZHANG_GRID",
    "BinPrior",
    "ColorConvert",
    "StackSpaces",
    "ab_bins",
    "annealed_mean",
    "convert",
    "dataset_prior",
    "decode_mean",
    "decode_mode",
    "denormalize_channels",
    "denormalize_chroma",
    "denormalize_lightness",
    "gamut_bins",
    "grey_to_rgb",
    "hsi_to_rgb",
    "hsv_to_rgb",
    "lab_lightness_to_grey",
    "lab_to_rgb",
    "lightness_chroma_to_rgb",
    "linear_to_srgb",
    "luv_to_rgb",
    "nearest_bin",
    "normalize_channels",
    "normalize_chroma",
    "normalize_lightness",
    "one_hot_encode",
    "rebalancing_weights",
    "rgb_to_grey",
    "rgb_to_hsi",
    "rgb_to_hsv",
    "rgb_to_lab",
    "rgb_to_lightness_chroma",
    "rgb_to_luv",
    "rgb_to_xyz",
    "rgb_to_ycbcr",
    "rgb_to_yiq",
    "rgb_to_yuv",
    "smooth_prior",
    "soft_encode",
    "srgb_to_linear",
    "stack_spaces",
    "xyz_to_rgb",
    "ycbcr_to_rgb",
    "yiq_to_rgb",
    "yuv_to_rgb",
    "zhang_bins",
]
