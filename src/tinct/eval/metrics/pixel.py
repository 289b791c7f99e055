"""Per-image metrics: PSNR, ΔE76 and ΔE2000, RMSE, SSIM, colourfulness (papers per function).

Image-quality metrics on tensors, batched over leading dimensions. Units: RGB in [0, 1]
unless stated; Lab in CIE units (L 0..100, a and b about -128..127). Images are
``(*, 3, H, W)``; per-image results have the leading shape ``(*)`` (ΔE is per pixel,
``(*, H, W)``). The metrics of ab distributions over a data set (histograms, divergences,
AuC) are in :mod:`tinct.eval.metrics.distribution`.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from tinct.eval.metrics._checks import check_pair

__all__ = [
    "SSIM_KERNEL_SIZE",
    "SSIM_SIGMA",
    "colourfulness",
    "colourfulness_gap",
    "delta_e_cie76",
    "delta_e_ciede2000",
    "psnr",
    "rmse_ab",
    "rmse_rgb",
    "ssim",
]


def psnr(prediction: Tensor, target: Tensor, *, data_range: float = 1.0) -> Tensor:
    """Peak signal-to-noise ratio in dB per image, over the last three dims ``(C, H, W)``.

    Identical images give ``inf``.
    """
    if prediction.shape != target.shape:
        raise ValueError(f"shapes differ: {tuple(prediction.shape)} vs {tuple(target.shape)}")
    mse = ((prediction.double() - target.double()) ** 2).mean(dim=(-3, -2, -1))
    return (10 * torch.log10(data_range**2 / mse)).float()


def delta_e_cie76(lab1: Tensor, lab2: Tensor) -> Tensor:
    """CIE76 colour difference: Euclidean distance in Lab, per pixel ``(*, H, W)``."""
    return torch.linalg.vector_norm(lab1 - lab2, dim=-3)


def delta_e_ciede2000(lab1: Tensor, lab2: Tensor) -> Tensor:
    """CIEDE2000 colour difference per pixel (Sharma, Wu & Dalal 2005), ``(*, 3, H, W)`` ->
    ``(*, H, W)``, with kL = kC = kH = 1."""
    lab1, lab2 = lab1.double(), lab2.double()
    l1, a1, b1 = lab1.unbind(-3)
    l2, a2, b2 = lab2.unbind(-3)
    c1 = torch.hypot(a1, b1)
    c2 = torch.hypot(a2, b2)
    c_mean7 = ((c1 + c2) / 2) ** 7
    g = 0.5 * (1 - torch.sqrt(c_mean7 / (c_mean7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = torch.hypot(a1p, b1), torch.hypot(a2p, b2)
    h1p = torch.atan2(b1, a1p) % (2 * math.pi)
    h2p = torch.atan2(b2, a2p) % (2 * math.pi)
    zero = (c1p * c2p) == 0
    dl = l2 - l1
    dc = c2p - c1p
    dh = h2p - h1p
    dh = torch.where(dh > math.pi, dh - 2 * math.pi, dh)
    dh = torch.where(dh < -math.pi, dh + 2 * math.pi, dh)
    dh = torch.where(zero, torch.zeros_like(dh), dh)
    dhh = 2 * torch.sqrt(c1p * c2p) * torch.sin(dh / 2)
    l_mean = (l1 + l2) / 2
    c_mean = (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_mean = torch.where(
        (h1p - h2p).abs() <= math.pi,
        h_sum / 2,
        torch.where(h_sum < 2 * math.pi, (h_sum + 2 * math.pi) / 2, (h_sum - 2 * math.pi) / 2),
    )
    h_mean = torch.where(zero, h_sum, h_mean)
    t = (
        1
        - 0.17 * torch.cos(h_mean - math.radians(30))
        + 0.24 * torch.cos(2 * h_mean)
        + 0.32 * torch.cos(3 * h_mean + math.radians(6))
        - 0.20 * torch.cos(4 * h_mean - math.radians(63))
    )
    d_theta = math.radians(30) * torch.exp(-(((torch.rad2deg(h_mean) - 275) / 25) ** 2))
    c_mean7p = c_mean**7
    r_c = 2 * torch.sqrt(c_mean7p / (c_mean7p + 25.0**7))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / torch.sqrt(20 + (l_mean - 50) ** 2)
    s_c = 1 + 0.045 * c_mean
    s_h = 1 + 0.015 * c_mean * t
    r_t = -torch.sin(2 * d_theta) * r_c
    de = torch.sqrt(
        (dl / s_l) ** 2 + (dc / s_c) ** 2 + (dhh / s_h) ** 2 + r_t * (dc / s_c) * (dhh / s_h)
    )
    return de.float()


def colourfulness(rgb: Tensor) -> Tensor:
    """Colourfulness M of Hasler & Süsstrunk (2003) per image, RGB ``(*, 3, H, W)`` in [0, 1].

    ``rg = R - G``, ``yb = (R + G) / 2 - B`` on 0..255 values;
    ``M = sqrt(std_rg² + std_yb²) + 0.3 sqrt(mean_rg² + mean_yb²)`` with the
    signed opponent channels, as in the paper (several repositories take their
    absolute values first, which inflates M for images with mixed hues).
    A greyscale image has M = 0.
    """
    rgb255 = rgb.double() * 255
    r, g, b = rgb255.unbind(-3)
    rg = r - g
    yb = 0.5 * (r + g) - b
    dims = (-2, -1)
    std = torch.sqrt(rg.var(dim=dims, correction=0) + yb.var(dim=dims, correction=0))
    mean = torch.sqrt(rg.mean(dim=dims) ** 2 + yb.mean(dim=dims) ** 2)
    return (std + 0.3 * mean).float()


def rmse_rgb(prediction: Tensor, target: Tensor) -> Tensor:
    """Root-mean-square error per image over R, G, B and all pixels, in 0..255 units.

    Inputs are RGB ``(*, 3, H, W)`` in [0, 1]; the result ``(*)`` is
    ``255 * sqrt(mean((prediction - target)²))``. Identical images give 0.
    """
    check_pair(prediction, target)
    mse = ((prediction.double() - target.double()) ** 2).mean(dim=(-3, -2, -1))
    return (255.0 * torch.sqrt(mse)).float()


def rmse_ab(lab_prediction: Tensor, lab_target: Tensor) -> Tensor:
    """Root-mean-square error per image over the a and b channels, in CIE Lab units.

    Inputs are Lab ``(*, 3, H, W)``; L is ignored. The mean runs over both
    channels and all pixels, so this is ``sqrt(mean(Δa² + Δb²) / 2)``; the
    Euclidean ab error per pixel has RMS ``sqrt(2)`` times this. Result ``(*)``.
    """
    check_pair(lab_prediction, lab_target)
    diff = lab_prediction[..., 1:3, :, :].double() - lab_target[..., 1:3, :, :].double()
    return torch.sqrt((diff**2).mean(dim=(-3, -2, -1))).float()


SSIM_KERNEL_SIZE = 11
SSIM_SIGMA = 1.5


def _gaussian_filter_valid(maps: Tensor) -> list[Tensor]:
    """Each ``(H, W)`` map of ``maps`` ``(5N, 1, H, W)`` (float64) filtered with the SSIM
    Gaussian window, interior pixels only; returned as five ``(N, 1, h, w)`` tensors."""
    import cv2

    x = torch.arange(SSIM_KERNEL_SIZE, dtype=torch.float64) - (SSIM_KERNEL_SIZE - 1) / 2
    window = torch.exp(-(x**2) / (2 * SSIM_SIGMA**2))
    kernel = (window / window.sum()).numpy()
    crop = (SSIM_KERNEL_SIZE - 1) // 2
    arrays = maps[:, 0].numpy()
    # OpenCV's separable filter: two 1-D passes, exact to float64 rounding, and about
    # 30x faster than torch's float64 convolution on CPU. The border it pads is cut off.
    out = np.stack(
        [cv2.sepFilter2D(a, -1, kernel, kernel, borderType=cv2.BORDER_REFLECT) for a in arrays]
    )[:, None, crop : arrays.shape[1] - crop, crop : arrays.shape[2] - crop]
    return list(torch.from_numpy(np.ascontiguousarray(out)).chunk(5))


def ssim(prediction: Tensor, target: Tensor, *, data_range: float = 1.0) -> Tensor:
    """Structural similarity (Wang et al. 2004) per image on RGB ``(*, 3, H, W)`` -> ``(*)``.

    Unitless, at most 1 (identical images give exactly 1). Gaussian window of
    11 taps with sigma 1.5, K1 = 0.01, K2 = 0.03, population (not sample)
    covariances; the SSIM map is computed per channel and averaged over channels
    and over the *valid* pixels only (the 5-pixel border, where the window would
    reach outside the image, is not part of the map). That is the convention of
    scikit-image's ``structural_similarity(..., gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, channel_axis=...)`` and of Wang et al.'s MATLAB
    code; torchmetrics averages the whole map including a border computed on
    reflect-padded images, which reads about 1e-3 apart, and its 2-D float64
    convolution took 0.44 s per 256x256 image on this 2-core CPU; the separable
    OpenCV filter used here takes about 15 ms. Computed in float64. ``H`` and ``W``
    must be at least 11.
    """
    check_pair(prediction, target)
    height, width = prediction.shape[-2:]
    if min(height, width) < SSIM_KERNEL_SIZE:
        raise ValueError(
            f"SSIM needs images of at least {SSIM_KERNEL_SIZE}x{SSIM_KERNEL_SIZE} pixels, "
            f"got {tuple(prediction.shape)}"
        )
    leading = prediction.shape[:-3]
    x = prediction.double().reshape(-1, 1, height, width)
    y = target.double().reshape(-1, 1, height, width)
    mu_x, mu_y, xx, yy, xy = _gaussian_filter_valid(torch.cat([x, y, x * x, y * y, x * y]))
    var_x, var_y, cov = xx - mu_x**2, yy - mu_y**2, xy - mu_x * mu_y
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    )
    per_channel = ssim_map.mean(dim=(-3, -2, -1))
    return per_channel.view(-1, 3).mean(dim=1).reshape(leading).float()


def colourfulness_gap(prediction: Tensor, target: Tensor) -> Tensor:
    """Signed colourfulness difference ``M(prediction) - M(target)`` per image ``(*)``.

    M is :func:`colourfulness` (Hasler & Süsstrunk 2003, on 0..255 values) of
    RGB ``(*, 3, H, W)`` in [0, 1]. Negative means the prediction is less
    colourful than the ground truth (the usual failure of regression
    colourisation); identical images give 0.
    """
    check_pair(prediction, target)
    return colourfulness(prediction) - colourfulness(target)
