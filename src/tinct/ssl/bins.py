"""Uniform quantisation of L and ab for the classification form of the split-brain
autoencoder: 100 L bins and 256 ab bins (seed 000 section 3.4.3).

L in 0..100 is cut into ``n`` equal bins (width 1 for 100). ab is cut by a square grid
over [-128, 128) (16 x 16 = 256 cells of width 16, CIELAB's 8-bit range); the seed gives
only the counts, the grid is the plain reading of "256 bins". Decoding returns bin centres.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["ABGrid", "LightnessBins"]


class LightnessBins:
    """``n`` equal bins over L in [0, 100]; :meth:`encode` ``(*, 1, H, W)`` -> ``(*, H, W)``
    int64 indices, :meth:`decode` indices -> bin centres ``(*, 1, H, W)``."""

    low, high = 0.0, 100.0

    def __init__(self, n: int = 100) -> None:
        if n < 2:
            raise ValueError(f"need at least 2 L bins, got {n}")
        self.n = n
        self.width = (self.high - self.low) / n

    def encode(self, lightness: Tensor) -> Tensor:
        if lightness.ndim < 3 or lightness.shape[-3] != 1:
            raise ValueError(f"L must be (*, 1, H, W), got {tuple(lightness.shape)}")
        idx = torch.floor((lightness.squeeze(-3) - self.low) / self.width)
        return idx.clamp(0, self.n - 1).long()

    def decode(self, index: Tensor) -> Tensor:
        return (self.low + (index.float() + 0.5) * self.width).unsqueeze(-3)


class ABGrid:
    """A ``side`` x ``side`` grid over ab in [-128, 128) (``side ** 2`` bins, 256 for 16);
    index = ``row(a) * side + col(b)``."""

    low, high = -128.0, 128.0

    def __init__(self, n: int = 256) -> None:
        side = math.isqrt(n)
        if side * side != n or side < 2:
            raise ValueError(f"the ab bin count must be a square >= 4, got {n}")
        self.n = n
        self.side = side
        self.width = (self.high - self.low) / side

    def encode(self, ab: Tensor) -> Tensor:
        if ab.ndim < 3 or ab.shape[-3] != 2:
            raise ValueError(f"ab must be (*, 2, H, W), got {tuple(ab.shape)}")
        cell = torch.floor((ab - self.low) / self.width).clamp(0, self.side - 1).long()
        return cell.select(-3, 0) * self.side + cell.select(-3, 1)

    def decode(self, index: Tensor) -> Tensor:
        a = index // self.side
        b = index % self.side
        centres = torch.stack([a, b], dim=-3).float()
        return self.low + (centres + 0.5) * self.width
