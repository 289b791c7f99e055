"""KL divergence between diagonal Gaussians (the CVAE's latent term, seed 001 equation 4.7)."""

from __future__ import annotations

import torch
from torch import Tensor


def gaussian_kl(mu1: Tensor, logvar1: Tensor, mu2: Tensor, logvar2: Tensor) -> Tensor:
    """Elementwise ``KL(N(mu1, sigma1²) || N(mu2, sigma2²))`` in closed form.

    Seed 001 equation 4.7: ``log(sigma2 / sigma1) + (sigma1² + (mu1 - mu2)²) / (2 sigma2²)
    - 1/2``, written with ``logvar = log sigma²``. All tensors share one shape; the
    result has it too (0 where the two distributions are equal, > 0 elsewhere).
    """
    if not (mu1.shape == logvar1.shape == mu2.shape == logvar2.shape):
        raise ValueError(
            "gaussian_kl needs tensors of one shape, got "
            f"{[tuple(t.shape) for t in (mu1, logvar1, mu2, logvar2)]}"
        )
    return 0.5 * (
        logvar2 - logvar1 + (torch.exp(logvar1) + (mu1 - mu2) ** 2) * torch.exp(-logvar2) - 1.0
    )


def latent_kl(mu1: Tensor, logvar1: Tensor, mu2: Tensor, logvar2: Tensor) -> Tensor:
    """The CVAE's KL term: :func:`gaussian_kl` summed over the latent dimension (dim 1)
    and averaged over the batch and, for a spatial latent ``(B, C, h, w)``, the positions
    (so its weight against the reconstruction does not depend on the image size)."""
    kl = gaussian_kl(mu1, logvar1, mu2, logvar2)
    if kl.ndim < 2:
        raise ValueError(f"latent_kl needs (B, D) or (B, C, h, w) latents, got {tuple(kl.shape)}")
    return kl.sum(dim=1).mean()
