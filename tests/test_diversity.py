"""Diversity of samples and the Shape Set shape -> colour measurement (tinct.eval)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from tinct.color import rgb_to_lab
from tinct.data.shapes import SHAPES, render_shapes
from tinct.eval import (
    colourfulness,
    mean_diversity,
    pairwise_ab_distance,
    sample_diversity,
    shape_colour_assignment,
)


def test_pairwise_ab_distance_equals_a_naive_loop() -> None:
    ab = torch.randn(4, 2, 5, 6) * 20
    naive = []
    for i, j in itertools.combinations(range(4), 2):
        d = ((ab[i] - ab[j]) ** 2).sum(0).sqrt()
        naive.append(float(d.mean()))
    assert float(pairwise_ab_distance(ab)) == pytest.approx(sum(naive) / len(naive), rel=1e-5)


def test_identical_samples_have_zero_diversity() -> None:
    rgb = torch.rand(1, 3, 8, 8).expand(5, -1, -1, -1)
    div = sample_diversity(rgb)
    assert div.pairwise_ab == pytest.approx(0.0, abs=1e-5)
    assert div.colourfulness_std == pytest.approx(0.0, abs=1e-4)
    assert div.colourfulness_range == pytest.approx(0.0, abs=1e-4)


def test_sample_diversity_of_two_flat_colours() -> None:
    red = torch.tensor([0.8, 0.2, 0.2]).view(1, 3, 1, 1).expand(1, 3, 4, 4)
    blue = torch.tensor([0.2, 0.2, 0.8]).view(1, 3, 1, 1).expand(1, 3, 4, 4)
    rgb = torch.cat([red, blue])
    lab = rgb_to_lab(rgb)
    expected = float(torch.linalg.vector_norm(lab[0, 1:, 0, 0] - lab[1, 1:, 0, 0]))
    div = sample_diversity(rgb)
    assert div.pairwise_ab == pytest.approx(expected, rel=1e-4)
    m = colourfulness(rgb)
    assert div.colourfulness_range == pytest.approx(float((m[0] - m[1]).abs()), rel=1e-4)
    both = mean_diversity([div, sample_diversity(rgb.flip(0))])
    assert both.pairwise_ab == pytest.approx(div.pairwise_ab, rel=1e-5)
    with pytest.raises(ValueError, match="at least 2"):
        pairwise_ab_distance(lab[:1, 1:])
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        sample_diversity(rgb[0])


def shapes_batch(n: int = 60) -> tuple[torch.Tensor, torch.Tensor]:
    items = [render_shapes((5, i), 32) for i in range(n)]
    rgb = torch.from_numpy(np.stack([r for r, _, _ in items])).permute(0, 3, 1, 2).float() / 255
    masks = torch.from_numpy(np.stack([m for _, m, _ in items])).long()
    return rgb, masks


def test_ground_truth_shape_set_colours_are_assigned_to_their_shapes() -> None:
    rgb, masks = shapes_batch()
    stats = shape_colour_assignment(rgb, masks)
    assert [s.shape for s in stats] == list(SHAPES)
    for s in stats:
        assert s.pixels > 0
        assert s.coloured > 0.95 and s.assigned > 0.95
        assert s.hue_error < 5
        assert sum(s.confusion.values()) == pytest.approx(1.0)


def test_swapped_colours_and_grey_are_measured_as_wrong() -> None:
    rgb, masks = shapes_batch()
    rolled = rgb[:, [2, 0, 1]]  # R <- B, G <- R, B <- G: blue -> red, red -> green, ...
    stats = {s.shape: s for s in shape_colour_assignment(rolled, masks)}
    assert stats["circle"].assigned < 0.05 and stats["circle"].confusion["square"] > 0.9
    assert stats["square"].confusion["triangle"] > 0.9
    grey = rgb.mean(1, keepdim=True).expand_as(rgb)
    grey_stats = shape_colour_assignment(grey, masks)
    assert [s.shape for s in grey_stats] == list(SHAPES)
    for s in grey_stats:
        assert s.coloured == 0.0 and math.isnan(s.assigned)
    with pytest.raises(ValueError, match="masks"):
        shape_colour_assignment(rgb, masks[:, :4])
