"""Image-quality metrics on tensors, batched over leading dimensions.

Units: RGB in [0, 1] unless stated; Lab in CIE units (L 0..100).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


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
