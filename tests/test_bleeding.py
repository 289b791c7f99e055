"""The colour-bleeding score on synthetic images where the bleeding is known."""

from __future__ import annotations

from itertools import pairwise

import cv2
import numpy as np
import pytest
import torch

from tinct.color import lab_to_rgb, rgb_to_lab
from tinct.eval.metrics import BLEED_MAX_DISTANCE, colour_bleeding
from tinct.eval.truth import constant_chroma, greyscale_baseline, image_metrics

SIZE = 64
EDGE = 32  # first column of the right region
LEFT_AB = (40.0, 25.0)
RIGHT_AB = (-30.0, -15.0)
CONTRAST = float(np.hypot(LEFT_AB[0] - RIGHT_AB[0], LEFT_AB[1] - RIGHT_AB[1]))


def two_regions(bleed: int = 0) -> torch.Tensor:
    """Lab (3, SIZE, SIZE): dark left half, light right half (a sharp lightness edge at
    EDGE), each with its own chroma; the left chroma runs ``bleed`` px into the right."""
    lab = torch.zeros(3, SIZE, SIZE, dtype=torch.float64)
    lab[0, :, :EDGE] = 35.0
    lab[0, :, EDGE:] = 70.0
    for channel in (0, 1):
        lab[1 + channel, :, : EDGE + bleed] = LEFT_AB[channel]
        lab[1 + channel, :, EDGE + bleed :] = RIGHT_AB[channel]
    return lab


def blurred(lab: torch.Tensor, sigma: float) -> torch.Tensor:
    """``lab`` with its chroma blurred by a Gaussian of ``sigma`` px (lightness kept)."""
    out = lab.clone()
    if sigma > 0:
        for c in (1, 2):
            out[c] = torch.from_numpy(cv2.GaussianBlur(lab[c].numpy(), (0, 0), sigma))
    return out


def test_ground_truth_scores_zero() -> None:
    truth = two_regions()
    assert colour_bleeding(truth, truth).item() == 0.0


def test_constant_chroma_loses_the_whole_contrast() -> None:
    """Every (edge pixel, offset) pair straddles the one edge, so a prediction with the
    same ab everywhere loses exactly the true contrast |ab_left - ab_right|."""
    truth = two_regions()
    for ab in ((0.0, 0.0), (5.0, 20.0)):
        flat = truth.clone()
        flat[1], flat[2] = ab
        assert colour_bleeding(flat, truth).item() == pytest.approx(CONTRAST, rel=1e-5)


def test_score_grows_with_a_chroma_shift_across_the_edge() -> None:
    truth = two_regions()
    scores = [colour_bleeding(two_regions(s), truth).item() for s in (0, 2, 4, 8)]
    assert scores[0] == 0.0
    assert all(a < b for a, b in pairwise(scores)), scores
    # The left chroma running s px past the edge erases the contrast at roughly s of the
    # K offsets (the edge pixel Canny picks moves this by one).
    for s, score in zip((2, 4, 8), scores[1:], strict=True):
        assert abs(score / CONTRAST * BLEED_MAX_DISTANCE - s) <= 1.0, (s, score)
    assert scores[-1] <= CONTRAST


def test_score_grows_with_a_chroma_blur() -> None:
    truth = two_regions()
    scores = [colour_bleeding(blurred(truth, s), truth).item() for s in (0, 2, 4, 8)]
    assert scores[0] == 0.0
    assert all(a < b for a, b in pairwise(scores)), scores


def test_constant_offset_and_hue_rotation_are_not_bleeding() -> None:
    truth = two_regions()
    shifted = truth.clone()
    shifted[1] += 12.0
    shifted[2] -= 7.0
    assert colour_bleeding(shifted, truth).item() == pytest.approx(0.0, abs=1e-4)
    rotated = truth.clone()
    rotated[1], rotated[2] = -truth[2], truth[1]  # 90 degrees in ab
    assert colour_bleeding(rotated, truth).item() == pytest.approx(0.0, abs=1e-4)


def test_image_without_edges_scores_zero() -> None:
    uniform = torch.zeros(3, SIZE, SIZE)
    uniform[0], uniform[1], uniform[2] = 50.0, 20.0, -10.0
    grey = uniform.clone()
    grey[1:] = 0
    assert colour_bleeding(grey, uniform).item() == 0.0
    # A chroma edge without a lightness edge is not examined either.
    chroma_only = two_regions()
    chroma_only[0] = 50.0
    flat = chroma_only.clone()
    flat[1:] = 0
    assert colour_bleeding(flat, chroma_only).item() == 0.0


def test_batched_matches_single_and_checks_input() -> None:
    truth = two_regions()
    preds = torch.stack([truth, two_regions(4), blurred(truth, 3)])
    batch = colour_bleeding(preds, truth.expand(3, -1, -1, -1))
    assert batch.shape == (3,)
    single = [colour_bleeding(p, truth).item() for p in preds]
    assert batch.tolist() == pytest.approx(single)
    with pytest.raises(ValueError, match="shapes differ"):
        colour_bleeding(truth[:, :10], truth)
    with pytest.raises(ValueError, match="max_distance"):
        colour_bleeding(truth, truth, max_distance=0)


def test_baselines_on_a_photo_like_image_are_finite_and_ordered() -> None:
    """Through tinct evaluate's per-image metrics: the truth 0, greyscale and mean chroma
    finite and positive, a slightly blurred colourisation in between."""
    rng = np.random.default_rng(0)
    lab = two_regions().float()
    lab[0] += torch.from_numpy(rng.normal(0, 1.0, (SIZE, SIZE))).float()
    truth8 = (lab_to_rgb(lab).clamp(0, 1) * 255 + 0.5).to(torch.uint8)
    lab_true = rgb_to_lab(truth8.float() / 255)
    soft = lab_true.clone()
    soft[1:] = blurred(lab_true.double(), 1.5)[1:].float()
    soft8 = (lab_to_rgb(soft).clamp(0, 1) * 255 + 0.5).to(torch.uint8)
    scores = {}
    for name, out8 in {
        "truth": truth8,
        "soft": soft8,
        "greyscale": greyscale_baseline(truth8),
        "mean": constant_chroma(truth8, (5.0, 5.0)),
    }.items():
        row, _ = image_metrics(out8, truth8, lab_true)
        scores[name] = row["bleeding"]
    assert scores["truth"] == 0.0
    assert all(np.isfinite(v) for v in scores.values())
    assert 0 < scores["soft"] < scores["greyscale"]
    assert scores["mean"] == pytest.approx(scores["greyscale"], rel=0.05)
