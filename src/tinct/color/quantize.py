"""Stand-in for the ab quantisation module (replaced by the real one at merge).

Only the interface the classification models need: bin centres and annealed-mean decoding.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from tinct.color.conversions import rgb_to_lab

DEFAULT_TEMPERATURE = 0.38

_ZHANG_FILE = Path("/work/shared/data/zhang_ab_gamut_313.txt")


def zhang_bins() -> Tensor:
    """Zhang et al.'s 313 in-gamut ab bin centres ``(313, 2)`` float32 (a, b)."""
    rows = [line.split() for line in _ZHANG_FILE.read_text().splitlines() if line.strip()]
    return torch.tensor([[float(a), float(b)] for a, b in rows], dtype=torch.float32)


def ab_bins(name: str = "zhang313", grid: float = 10.0) -> Tensor:
    """Bin centres ``(Q, 2)`` of the bin set ``name``: "zhang313" or "srgb" (the ab grid
    cells of spacing ``grid`` reached by some sRGB colour)."""
    if name == "zhang313":
        return zhang_bins()
    if name == "srgb":
        axis = torch.linspace(0.0, 1.0, 64)
        rgb = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij")).reshape(3, -1, 1)
        ab = rgb_to_lab(rgb)[1:].reshape(2, -1).T
        return torch.unique(torch.round(ab / grid), dim=0).float() * grid
    raise ValueError(f"unknown bin set {name!r}")


def annealed_mean(logits: Tensor, bins: Tensor, temperature: float = DEFAULT_TEMPERATURE) -> Tensor:
    """Logits ``(B, Q, H, W)`` -> ab ``(B, 2, H, W)``: ``softmax(logits / T) @ bins``;
    ``T <= 0`` gives the mode (the ab of the most likely bin)."""
    logits, bins = logits.float(), bins.float()
    if temperature <= 0:
        return bins[logits.argmax(dim=1)].permute(0, 3, 1, 2)
    probs = torch.softmax(logits / temperature, dim=1)
    return torch.einsum("bqhw,qc->bchw", probs, bins)
