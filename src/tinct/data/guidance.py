"""Guidance maps for the guided models (seed 003): Canny edges and a saliency map.

* :func:`canny_edges` -- OpenCV's Canny detector (seed 003 uses Canny) on the
  Rec. 601 grey image. Thresholds default to the median rule (``0.67 m`` and
  ``1.33 m`` for the median grey level ``m``, clipped to [0, 255]) so photos of
  any contrast get edges; pass ``thresholds=(low, high)`` for fixed ones.
* :func:`spectral_residual_saliency` -- the spectral residual method of Hou &
  Zhang (CVPR 2007). Seed 003 does not name its saliency method. This one is
  chosen because it needs no training and no weights (it works offline and
  adds no download), is fast (FFTs of a 64-pixel-wide image), and is the
  method OpenCV's saliency module and many colourisation repos use as their
  default static saliency.

Both take a ``(3, H, W)`` RGB tensor (uint8, or float in [0, 1]) and return a
``(1, H, W)`` float tensor: edges in {0, 1}, saliency in [0, 1].
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch import Tensor

#: Width (pixels) at which the spectral residual is computed, as in Hou & Zhang.
SALIENCY_WIDTH = 64


def _grey_u8(rgb: Tensor) -> np.ndarray:
    if rgb.dim() != 3 or rgb.shape[0] != 3:
        raise ValueError(f"expected an RGB image of shape (3, H, W), got {tuple(rgb.shape)}")
    if rgb.dtype != torch.uint8:
        rgb = (rgb.detach().float().clamp(0, 1) * 255.0 + 0.5).to(torch.uint8)
    arr = rgb.cpu().permute(1, 2, 0).contiguous().numpy()
    return np.asarray(cv2.cvtColor(arr, cv2.COLOR_RGB2GRAY))


def canny_edges(
    rgb: Tensor, thresholds: tuple[float, float] | None = None, *, sigma: float = 0.33
) -> Tensor:
    """Binary ``(1, H, W)`` Canny edge map of an RGB image.

    ``thresholds``: hysteresis (low, high) on the grey gradient magnitude;
    ``None`` picks ``((1 - sigma) m, (1 + sigma) m)`` from the median grey level ``m``.
    """
    grey = _grey_u8(rgb)
    if thresholds is None:
        m = float(np.median(grey))
        low, high = max(0.0, (1.0 - sigma) * m), min(255.0, (1.0 + sigma) * m)
        high = max(high, low + 1.0)
    else:
        low, high = thresholds
        if not 0 <= low <= high:
            raise ValueError(f"Canny thresholds must satisfy 0 <= low <= high, got {thresholds}")
    edges = cv2.Canny(grey, low, high, L2gradient=True)
    return torch.from_numpy(edges > 0).float()[None]


def spectral_residual_saliency(rgb: Tensor, *, blur_sigma: float = 2.5) -> Tensor:
    """Spectral residual saliency (Hou & Zhang 2007), ``(1, H, W)`` in [0, 1].

    The grey image is resized to :data:`SALIENCY_WIDTH` pixels wide; the
    saliency is the squared inverse FFT of ``exp(R + iP)`` where ``P`` is the
    phase and ``R`` the log amplitude minus its 3x3 local mean; it is smoothed
    with a Gaussian (``blur_sigma`` pixels at that width), resized back and
    scaled to [0, 1]. A flat image has no salient region and gives zeros.
    """
    grey = _grey_u8(rgb).astype(np.float32) / 255.0
    h, w = grey.shape
    sw = min(SALIENCY_WIDTH, w)
    sh = max(1, round(h * sw / w))
    small = cv2.resize(grey, (sw, sh), interpolation=cv2.INTER_AREA)
    spectrum = np.fft.fft2(small)
    log_amp = np.log(np.abs(spectrum) + 1e-8).astype(np.float32)
    phase = np.angle(spectrum)
    residual = log_amp - cv2.blur(log_amp, (3, 3), borderType=cv2.BORDER_REPLICATE)
    sal = np.abs(np.fft.ifft2(np.exp(residual + 1j * phase))) ** 2
    sal = cv2.GaussianBlur(sal.astype(np.float32), (0, 0), blur_sigma)
    sal = cv2.resize(sal, (w, h), interpolation=cv2.INTER_LINEAR)
    lo, hi = float(sal.min()), float(sal.max())
    if hi - lo < 1e-12 or float(small.std()) < 1e-6:
        return torch.zeros(1, h, w)
    return torch.from_numpy((sal - lo) / (hi - lo)).float()[None]
