"""Contrastive losses: NT-Xent of SimCLR (Chen et al. 2020; seed 000 eq. 3.5)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["NTXentLoss", "nt_xent"]


def nt_xent(z_i: Tensor, z_j: Tensor, temperature: float = 0.5) -> Tensor:
    """Normalised temperature-scaled cross-entropy over a batch of positive pairs.

    ``z_i`` and ``z_j`` are ``(N, D)`` projections of two views of the same N examples;
    row k of one and row k of the other are a positive pair, the other 2N - 2 rows are
    negatives. With cosine similarity ``sim`` (seed 000 eq. 3.5)::

        l(i, j) = -log exp(sim(z_i, z_j) / t) / sum_{k != i} exp(sim(z_i, z_k) / t)

    averaged over all 2N anchors (both directions of every pair), so swapping the views
    gives the same value. ``temperature``: t (0.5 in seed 000 section 3.5.4).
    """
    if z_i.ndim != 2 or z_i.shape != z_j.shape:
        raise ValueError(
            f"nt_xent needs two (N, D) tensors of the same shape, got "
            f"{tuple(z_i.shape)} and {tuple(z_j.shape)}"
        )
    if z_i.shape[0] < 2:
        raise ValueError("nt_xent needs at least 2 pairs (the other pairs are the negatives)")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    n = z_i.shape[0]
    z = F.normalize(torch.cat([z_i, z_j], dim=0).float(), dim=1)
    logits = z @ z.t() / temperature
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), -torch.inf)
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(logits, targets)


class NTXentLoss(nn.Module):
    """Module form of :func:`nt_xent` with SimCLR's temperature as its default."""

    def __init__(self, temperature: float = 0.5) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = temperature

    def forward(self, z_i: Tensor, z_j: Tensor) -> Tensor:
        return nt_xent(z_i, z_j, self.temperature)
