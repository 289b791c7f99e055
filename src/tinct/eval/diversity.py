"""How different several colourisations of one image are (diverse colourisation, seed 001
section 5.4.3 and figure 5.6).

Given ``N`` samples of one image: the mean pairwise ab distance per pixel (CIE Lab,
Euclidean in the ab plane, averaged over the ``N (N - 1) / 2`` pairs and the pixels;
0 when all samples are equal) and the spread of their colourfulness (Hasler &
Süsstrunk's M, :func:`tinct.eval.metrics.pixel.colourfulness`): its standard deviation and
range over the samples.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from tinct.color import rgb_to_lab
from tinct.eval.metrics.pixel import colourfulness


def pairwise_ab_distance(ab: Tensor) -> Tensor:
    """Mean Euclidean ab distance per pixel over all pairs of ``N >= 2`` samples.

    Args:
        ab: ``(N, 2, H, W)`` chroma of ``N`` colourisations of one image (Lab units).

    Returns:
        A scalar tensor: ``mean_{i < j} mean_pixels ||ab_i - ab_j||``.
    """
    if ab.ndim != 4 or ab.shape[1] != 2:
        raise ValueError(f"expected ab samples of shape (N, 2, H, W), got {tuple(ab.shape)}")
    n = ab.shape[0]
    if n < 2:
        raise ValueError(f"diversity needs at least 2 samples, got {n}")
    i, j = torch.triu_indices(n, n, offset=1)
    distance = torch.linalg.vector_norm(ab[i].double() - ab[j].double(), dim=1)
    return distance.mean().float()


@dataclass(frozen=True)
class SampleDiversity:
    """Diversity of ``N`` colourisations of one image (see the module docstring)."""

    pairwise_ab: float
    colourfulness_mean: float
    colourfulness_std: float
    colourfulness_range: float

    def as_dict(self) -> dict[str, float]:
        """The fields as a plain dict (for JSON and tables)."""
        return asdict(self)


def sample_diversity(rgb: Tensor) -> SampleDiversity:
    """Diversity of ``N >= 2`` colourisations ``rgb`` ``(N, 3, H, W)`` in [0, 1] of one image."""
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise ValueError(f"expected RGB samples of shape (N, 3, H, W), got {tuple(rgb.shape)}")
    lab = rgb_to_lab(rgb.float())
    m = colourfulness(rgb.float()).double()
    return SampleDiversity(
        pairwise_ab=float(pairwise_ab_distance(lab[:, 1:])),
        colourfulness_mean=float(m.mean()),
        colourfulness_std=float(m.std(correction=0)),
        colourfulness_range=float(m.max() - m.min()),
    )


def mean_diversity(items: list[SampleDiversity]) -> SampleDiversity:
    """Field-wise mean of the diversities of several images."""
    if not items:
        raise ValueError("mean_diversity needs at least one item")
    fields = items[0].as_dict().keys()
    return SampleDiversity(**{k: sum(d.as_dict()[k] for d in items) / len(items) for k in fields})
