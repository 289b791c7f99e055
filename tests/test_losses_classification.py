"""Tests for tinct.losses.classification against naive loops and torch's cross_entropy."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

import tinct.color as tc
import tinct.losses as tl

BINS = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])


def _random(shape: tuple[int, ...], seed: int) -> Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _naive_loss(logits: Tensor, target: Tensor, weights: Tensor | None) -> float:
    """Zhang eq. 2 pixel by pixel, divided by the number of pixels."""
    batch, classes, height, width = logits.shape
    total = 0.0
    for b in range(batch):
        for y in range(height):
            for x in range(width):
                scores = [float(logits[b, q, y, x]) for q in range(classes)]
                top = max(scores)
                log_norm = top + math.log(sum(math.exp(s - top) for s in scores))
                pixel = -sum(
                    float(target[b, q, y, x]) * (scores[q] - log_norm) for q in range(classes)
                )
                total += pixel * (1.0 if weights is None else float(weights[b, y, x]))
    return total / (batch * height * width)


def test_multinomial_cross_entropy_matches_a_loop() -> None:
    logits = _random((2, 4, 3, 2), 0) * 3
    target = torch.softmax(_random((2, 4, 3, 2), 1) * 2, dim=1)
    weights = _random((2, 3, 2), 2).abs() + 0.1
    got = tl.multinomial_cross_entropy(logits, target)
    assert got.shape == () and got.dtype == torch.float32
    assert got.item() == pytest.approx(_naive_loss(logits, target, None), rel=1e-5)
    weighted = tl.multinomial_cross_entropy(logits, target, pixel_weights=weights)
    assert weighted.item() == pytest.approx(_naive_loss(logits, target, weights), rel=1e-5)
    ones = tl.multinomial_cross_entropy(logits, target, pixel_weights=torch.ones(2, 3, 2))
    assert ones.item() == pytest.approx(got.item(), rel=1e-6)


def test_one_hot_loss_is_torch_cross_entropy() -> None:
    ab = _random((2, 2, 5, 6), 3) * 8 + 5
    logits = _random((2, 4, 5, 6), 4) * 2
    loss = tl.classification_loss("one-hot", logits, ab, BINS)
    expected = F.cross_entropy(logits, tc.nearest_bin(ab, BINS))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    # The same through an explicit one-hot target.
    via_target = tl.multinomial_cross_entropy(logits, tc.one_hot_encode(ab, BINS))
    assert via_target.item() == pytest.approx(expected.item(), rel=1e-6)


def test_soft_targets_match_torch_cross_entropy_with_probabilities() -> None:
    bins = tc.zhang_bins()
    ab = _random((1, 2, 4, 4), 5) * 30
    logits = _random((1, 313, 4, 4), 6)
    loss = tl.classification_loss("unbalanced", logits, ab, bins)
    expected = F.cross_entropy(logits, tc.soft_encode(ab, bins))  # class-probability targets
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_rebalanced_loss_weights_pixels_by_their_target_bin() -> None:
    ab = _random((2, 2, 3, 3), 7) * 8 + 5
    logits = _random((2, 4, 3, 3), 8)
    weights = torch.tensor([0.5, 1.0, 2.0, 4.0])
    target = tc.soft_encode(ab, BINS, neighbours=2, sigma=5.0)
    pixel_weights = tl.rebalancing_pixel_weights(target, weights)
    assert pixel_weights.shape == (2, 3, 3)
    nearest = tc.nearest_bin(ab, BINS)  # q* = argmax Z is the nearest bin
    assert torch.equal(pixel_weights, weights[nearest])
    loss = tl.classification_loss("rebalanced", logits, ab, BINS, weights=weights, neighbours=2)
    assert loss.item() == pytest.approx(_naive_loss(logits, target, weights[nearest]), rel=1e-5)
    unweighted = tl.classification_loss(
        "rebalanced", logits, ab, BINS, weights=torch.ones(4), neighbours=2
    )
    unbalanced = tl.classification_loss("unbalanced", logits, ab, BINS, neighbours=2)
    assert unweighted.item() == pytest.approx(unbalanced.item(), rel=1e-6)
    assert loss.item() != pytest.approx(unbalanced.item(), rel=1e-3)


@pytest.mark.parametrize("kind", sorted(tl.CLASSIFICATION_LOSSES))
def test_every_kind_backpropagates(kind: str) -> None:
    bins = tc.zhang_bins()
    ab = _random((2, 2, 4, 4), 9) * 30
    prior = tc.dataset_prior([ab], bins).probabilities
    weights = tc.rebalancing_weights(prior, smooth_sigma=5.0, bins=bins)
    logits = _random((2, 313, 4, 4), 10).bfloat16().requires_grad_()
    loss = tl.classification_loss(kind, logits, ab, bins, weights=weights)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    assert logits.grad is not None and logits.grad.dtype == torch.bfloat16
    assert logits.grad.abs().sum() > 0


def test_gradient_is_softmax_minus_target() -> None:
    logits = _random((1, 4, 2, 2), 11).requires_grad_()
    target = torch.softmax(_random((1, 4, 2, 2), 12), dim=1)
    tl.multinomial_cross_entropy(logits, target).backward()
    expected = (torch.softmax(logits.detach(), dim=1) - target) / 4  # mean over 4 pixels
    assert logits.grad is not None
    assert torch.allclose(logits.grad, expected, atol=1e-6)


def test_minus_infinity_logits_outside_the_target_are_fine() -> None:
    logits = torch.tensor([0.0, -math.inf, 1.0, -math.inf]).view(1, 4, 1, 1)
    target = torch.tensor([0.5, 0.0, 0.5, 0.0]).view(1, 4, 1, 1)
    loss = tl.multinomial_cross_entropy(logits, target)
    log_norm = math.log(1 + math.e)
    assert loss.item() == pytest.approx(0.5 * log_norm + 0.5 * (log_norm - 1.0), rel=1e-6)


def test_shape_errors_name_both_shapes() -> None:
    logits, target = torch.zeros(1, 4, 2, 2), torch.zeros(1, 4, 4, 4)
    with pytest.raises(ValueError, match=r"\(1, 4, 2, 2\).*\(1, 4, 4, 4\)"):
        tl.multinomial_cross_entropy(logits, target)
    with pytest.raises(ValueError, match=r"\(1, 4, 2, 2\).*\(1, 2, 4, 4\)"):
        tl.classification_loss("one-hot", logits, torch.zeros(1, 2, 4, 4), BINS)
    with pytest.raises(ValueError, match=r"\(1, 5, 2, 2\).*\(4, 2\)"):
        tl.classification_loss("one-hot", torch.zeros(1, 5, 2, 2), torch.zeros(1, 2, 2, 2), BINS)
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        tl.multinomial_cross_entropy(logits, logits, pixel_weights=torch.ones(2, 2))
    with pytest.raises(ValueError, match=r"\(3,\)"):
        tl.rebalancing_pixel_weights(logits, torch.ones(3))


def test_kind_errors() -> None:
    logits, ab = torch.zeros(1, 4, 2, 2), torch.zeros(1, 2, 2, 2)
    with pytest.raises(ValueError, match="one-hot"):
        tl.classification_loss("focal", logits, ab, BINS)
    with pytest.raises(ValueError, match="weights"):
        tl.classification_loss("rebalanced", logits, ab, BINS)
    assert set(tl.CLASSIFICATION_LOSSES) == {"rebalanced", "unbalanced", "one-hot"}
    target, weights = tl.classification_target("unbalanced", ab, BINS, neighbours=3)
    assert weights is None and target.shape == (1, 4, 2, 2)
