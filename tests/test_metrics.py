"""Metrics against independent references (scikit-image, hand computation)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.color import deltaE_cie76, deltaE_ciede2000
from skimage.metrics import peak_signal_noise_ratio

from tinct.eval.metrics import colourfulness, delta_e_cie76, delta_e_ciede2000, psnr


def random_lab(seed: int, n: int = 400) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    lab = torch.rand(3, 1, n, generator=g, dtype=torch.float64)
    return torch.stack([lab[0] * 100, lab[1] * 200 - 100, lab[2] * 200 - 100])


def test_ciede2000_matches_scikit_image() -> None:
    lab1, lab2 = random_lab(0), random_lab(1)
    ours = delta_e_ciede2000(lab1, lab2).double().numpy()
    ref = deltaE_ciede2000(lab1.permute(1, 2, 0).numpy(), lab2.permute(1, 2, 0).numpy())
    np.testing.assert_allclose(ours, ref, atol=1e-4)


def test_ciede2000_sharma_pair() -> None:
    # Sharma, Wu & Dalal (2005), table 1, pair 1: (50, 2.6772, -79.7751) vs (50, 0, -82.7485).
    lab1 = torch.tensor([50.0, 2.6772, -79.7751]).view(3, 1, 1)
    lab2 = torch.tensor([50.0, 0.0, -82.7485]).view(3, 1, 1)
    assert delta_e_ciede2000(lab1, lab2).item() == pytest.approx(2.0425, abs=1e-4)
    assert delta_e_ciede2000(lab1, lab1).item() == 0.0


def test_cie76_matches_scikit_image() -> None:
    lab1, lab2 = random_lab(2), random_lab(3)
    ref = deltaE_cie76(lab1.permute(1, 2, 0).numpy(), lab2.permute(1, 2, 0).numpy())
    np.testing.assert_allclose(delta_e_cie76(lab1, lab2).numpy(), ref, atol=1e-6)


def test_psnr_matches_scikit_image_and_identity() -> None:
    a = torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(0))
    b = (a + 0.05 * torch.randn(3, 16, 16, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    ref = peak_signal_noise_ratio(a.numpy(), b.numpy(), data_range=1.0)
    assert psnr(b, a).item() == pytest.approx(ref, rel=1e-5)
    assert psnr(a, a).item() == float("inf")
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(a, a[:, :8])


def test_colourfulness_hand_computed() -> None:
    grey = torch.full((3, 4, 4), 0.5)
    assert colourfulness(grey).item() == pytest.approx(0.0, abs=1e-9)
    # Half the pixels pure red, half pure green (0..255): rg = +-255, yb = 127.5.
    img = torch.zeros(3, 2, 2)
    img[0, 0] = 1.0
    img[1, 1] = 1.0
    expected = np.hypot(255.0, 0.0) + 0.3 * np.hypot(0.0, 127.5)
    assert colourfulness(img).item() == pytest.approx(expected, rel=1e-6)
    batch = torch.stack([grey[:, :2, :2], img])
    assert colourfulness(batch).shape == (2,)
