"""Metrics against independent references (scikit-image, hand computation)."""

from __future__ import annotations

import ast
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy as scipy_entropy
from skimage.color import deltaE_cie76, deltaE_ciede2000
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from torch import Tensor

from tinct.eval.metrics.distribution import (
    AB_HIST_EDGES,
    AbErrorAuc,
    AbHistogram,
    ab_error_auc,
    ab_grid_bins,
    ab_histogram,
    histogram_divergences,
)
from tinct.eval.metrics.pixel import (
    colourfulness,
    colourfulness_gap,
    delta_e_cie76,
    delta_e_ciede2000,
    psnr,
    rmse_ab,
    rmse_rgb,
    ssim,
)


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


# --- Sharma et al. (2005) CIEDE2000 test data ----------------------------------


def _sharma_table_from_colour() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read Sharma, Wu & Dalal (2005), table 1, from colour-science's installed test suite.

    colour ships the table as literals in ``test_delta_E_CIE2000_Sharma2004`` of
    ``colour/difference/tests/test_delta_e.py``, with pair 14 commented out
    (arctan2 differs across platforms there); skip if that file is absent.
    """
    spec = importlib.util.find_spec("colour")
    if spec is None or spec.origin is None:
        pytest.skip("colour-science is not installed")
    path = Path(spec.origin).parent / "difference" / "tests" / "test_delta_e.py"
    if not path.is_file():
        pytest.skip(f"{path} is not installed")
    arrays: dict[str, list[Any]] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef) and node.name == "test_delta_E_CIE2000_Sharma2004":
            for stmt in ast.walk(node):
                if (
                    isinstance(stmt, ast.Assign)
                    and isinstance(stmt.targets[0], ast.Name)
                    and isinstance(stmt.value, ast.Call)
                    and stmt.value.args
                ):
                    arrays[stmt.targets[0].id] = ast.literal_eval(stmt.value.args[0])
    if not {"Lab_1", "Lab_2", "d_E"} <= arrays.keys():
        pytest.skip(f"Sharma table not found in {path}")
    return np.array(arrays["Lab_1"]), np.array(arrays["Lab_2"]), np.array(arrays["d_E"])


def test_ciede2000_sharma_table() -> None:
    lab1, lab2, expected = _sharma_table_from_colour()
    assert lab1.shape == lab2.shape == (33, 3)  # the 34 pairs less pair 14
    # Pair 14 of Sharma et al. (2005), table 1 (commented out in colour's copy).
    lab1 = np.vstack([lab1, [50.0, -0.0010, 2.4900]])
    lab2 = np.vstack([lab2, [50.0, 0.0010, -2.4900]])
    expected = np.append(expected, 4.8045)
    as_image = lambda x: torch.from_numpy(x).T.reshape(3, 1, -1)  # noqa: E731
    ours = delta_e_ciede2000(as_image(lab1), as_image(lab2)).double().numpy().ravel()
    np.testing.assert_allclose(ours, expected, atol=1e-4)
    # CIEDE2000 is symmetric in its arguments.
    swapped = delta_e_ciede2000(as_image(lab2), as_image(lab1)).double().numpy().ravel()
    np.testing.assert_allclose(swapped, expected, atol=1e-4)


# --- RMSE, SSIM, colourfulness gap ----------------------------------------------


def rgb_pair(seed: int, shape: tuple[int, ...] = (2, 3, 16, 20)) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(shape, generator=g, dtype=torch.float64)
    b = (a + 0.1 * torch.randn(shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    return a, b


def test_rmse_rgb_hand_computed_and_batched() -> None:
    target = torch.zeros(3, 2, 2)
    prediction = target.clone()
    prediction[0, 0, 0] = 1.0  # one of 12 values off by 255
    assert rmse_rgb(prediction, target).item() == pytest.approx(255.0 / np.sqrt(12.0))
    a, b = rgb_pair(0)
    ref = np.sqrt(((a.numpy() * 255 - b.numpy() * 255) ** 2).mean(axis=(1, 2, 3)))
    out = rmse_rgb(b, a)
    assert out.shape == (2,)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-6)
    assert torch.equal(rmse_rgb(a, a), torch.zeros(2))


def test_rmse_ab_ignores_lightness() -> None:
    lab_true = random_lab(4).view(3, 20, 20)
    lab_pred = lab_true.clone()
    lab_pred[0] += 30.0  # L only: no ab error
    assert rmse_ab(lab_pred, lab_true).item() == 0.0
    lab_pred[1] += 3.0
    lab_pred[2] -= 4.0
    # mean over both channels of (9 + 16) / 2.
    assert rmse_ab(lab_pred, lab_true).item() == pytest.approx(np.sqrt(12.5), rel=1e-6)
    batch = torch.stack([lab_true, lab_pred]).unsqueeze(0)  # (1, 2, 3, H, W)
    assert rmse_ab(batch, batch).shape == (1, 2)


def test_ssim_matches_scikit_image() -> None:
    a, b = rgb_pair(1, (3, 3, 24, 31))
    ours = ssim(b, a).double().numpy()
    ref = [
        structural_similarity(
            b[i].numpy(),
            a[i].numpy(),
            channel_axis=0,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=1.0,
        )
        for i in range(3)
    ]
    assert np.ptp(ref) > 1e-3  # the images differ, so a per-image mix-up would show
    # Same window and the same cropped border: agreement to float32 rounding.
    np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_ssim_identity_shapes_and_errors() -> None:
    a, b = rgb_pair(2, (2, 2, 3, 11, 12))
    assert ssim(a, a).shape == (2, 2)
    np.testing.assert_allclose(ssim(a, a).numpy(), 1.0, atol=1e-6)
    assert (ssim(b, a) < 0.99).all()
    assert ssim(a[0, 0], b[0, 0]).shape == ()
    with pytest.raises(ValueError, match=r"\(2, 2, 3, 11, 12\) vs \(2, 2, 3, 11, 11\)"):
        ssim(a, b[..., :11])
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(a[..., :10, :], b[..., :10, :])


def test_colourfulness_gap_sign_and_identity() -> None:
    g = torch.Generator().manual_seed(3)
    vivid = torch.rand(2, 3, 8, 8, generator=g)
    dull = vivid.mean(dim=-3, keepdim=True).expand_as(vivid) * 0.5 + vivid * 0.5
    gap = colourfulness_gap(dull, vivid)
    assert gap.shape == (2,)
    np.testing.assert_allclose(
        gap.numpy(), (colourfulness(dull) - colourfulness(vivid)).numpy(), rtol=1e-6
    )
    assert (gap < 0).all()
    assert (colourfulness_gap(vivid, dull) > 0).all()
    assert torch.equal(colourfulness_gap(vivid, vivid), torch.zeros(2))


@pytest.mark.parametrize("fn", [rmse_rgb, rmse_ab, colourfulness_gap, ab_error_auc, ssim])
def test_two_argument_metrics_name_shapes(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    a = torch.zeros(2, 3, 12, 12)
    with pytest.raises(ValueError, match=r"\(2, 3, 12, 12\) vs \(3, 12, 12\)"):
        fn(a, a[0])
    with pytest.raises(ValueError, match=r"\(2, 4, 12, 12\)"):
        fn(torch.zeros(2, 4, 12, 12), torch.zeros(2, 4, 12, 12))


# --- ab histograms and divergences ---------------------------------------------


def test_ab_histogram_matches_numpy() -> None:
    g = torch.Generator().manual_seed(5)
    lab = torch.rand(2, 3, 3, 17, 13, generator=g, dtype=torch.float64) * 320 - 160
    lab[0, 0, 1, 0, 0] = 128.0  # the last edge falls in the last bin
    lab[0, 0, 2, 0, 0] = -128.0
    counts = ab_histogram(lab)
    assert counts.shape == (2, 128) and counts.dtype == torch.float64
    assert torch.equal(AB_HIST_EDGES, torch.arange(-128, 129, 2, dtype=torch.float64))
    for row, channel in ((0, 1), (1, 2)):
        values = lab[:, :, channel].numpy().ravel().clip(-128, 128)
        ref, _ = np.histogram(values, bins=AB_HIST_EDGES.numpy())
        np.testing.assert_array_equal(counts[row].numpy(), ref)
    assert counts.sum().item() == 2 * lab[:, :, 0].numel()


def test_ab_histogram_accumulator_streams_merges_and_saves() -> None:
    lab = random_lab(6, 300).view(3, 15, 20)
    whole = AbHistogram()
    whole.update(lab)
    first, second = AbHistogram(), AbHistogram()
    first.update(lab[..., :7])
    second.update(lab[..., 7:])
    assert torch.equal(first.merge(second).counts, whole.counts)
    assert torch.equal(whole.counts, ab_histogram(lab))
    restored = AbHistogram()
    restored.load_state_dict(json.loads(json.dumps(whole.state_dict())))
    assert torch.equal(restored.counts, whole.counts)
    with pytest.raises(ValueError, match="shape"):
        restored.load_state_dict({"counts": [[0.0] * 4] * 2})


def test_histogram_divergences_match_scipy() -> None:
    g = torch.Generator().manual_seed(7)
    counts_p = torch.randint(0, 500, (2, 128), generator=g).double()
    counts_q = torch.randint(1, 500, (2, 128), generator=g).double()
    counts_p[0, :10] = 0  # empty truth bins contribute nothing to KL(p || q)
    for log_scale in (True, False):
        out = histogram_divergences(counts_p, counts_q, log_scale=log_scale, eps=0.0)
        transform = np.log1p if log_scale else (lambda x: x)
        for row, name in ((0, "a"), (1, "b")):
            p = transform(counts_p[row].numpy())
            q = transform(counts_q[row].numpy())
            assert out[f"kl_{name}"] == pytest.approx(scipy_entropy(p, q), rel=1e-9)
            assert out[f"js_{name}"] == pytest.approx(jensenshannon(p, q) ** 2, rel=1e-9)
        assert out["kl"] == pytest.approx((out["kl_a"] + out["kl_b"]) / 2)
        assert out["js"] == pytest.approx((out["js_a"] + out["js_b"]) / 2)
    # The log transform matters: it changes the numbers.
    plain = histogram_divergences(counts_p, counts_q, log_scale=False)
    assert plain["kl"] != pytest.approx(histogram_divergences(counts_p, counts_q)["kl"])


def test_histogram_divergences_hand_computed() -> None:
    e = np.e
    # log(1 + (e - 1)) = 1: p = [1, 0] and q = [1/2, 1/2] after the log transform.
    counts_p = torch.tensor([[e - 1, 0.0], [e - 1, 0.0]])
    counts_q = torch.tensor([[e - 1, e - 1], [0.0, e - 1]])
    out = histogram_divergences(counts_p, counts_q)
    assert out["kl_a"] == pytest.approx(np.log(2), abs=1e-8)
    # m = [3/4, 1/4]: JS = ½ ln(4/3) + ½ (½ ln(2/3) + ½ ln 2) = ¾ ln(4/3).
    assert out["js_a"] == pytest.approx(0.75 * np.log(4 / 3), abs=1e-12)
    # Disjoint supports: JS reaches ln 2; KL is large but finite thanks to eps.
    assert out["js_b"] == pytest.approx(np.log(2), abs=1e-12)
    assert 15 < out["kl_b"] < 30
    same = histogram_divergences(counts_q, counts_q)
    assert all(value == 0.0 for value in same.values())
    with pytest.raises(ValueError, match="empty histogram"):
        histogram_divergences(torch.zeros(2, 2), counts_q)


# --- AuC of the cumulative ab-error curve ---------------------------------------


def test_ab_grid_bins_hand_computed() -> None:
    ab = torch.tensor(
        [[-110.0, -100.01, 0.0, 109.99, 110.0, 500.0], [-200.0, 5.0, 0.0, 9.99, 0, 0]]
    )
    bins = ab_grid_bins(ab.view(2, 1, 6))
    # a: 0, 0, 11, 21, 21 (clamped), 21; b: 0 (clamped), 11, 11, 11, 11, 11.
    expected = torch.tensor(
        [0 * 22 + 0, 0 * 22 + 11, 11 * 22 + 11, 21 * 22 + 11, 21 * 22 + 11, 21 * 22 + 11]
    )
    assert bins.dtype == torch.int64
    assert torch.equal(bins.view(-1), expected)
    assert ab_grid_bins(torch.zeros(4, 2, 3, 5)).shape == (4, 3, 5)


def lab_with_ab_error(error_a: float, error_b: float, seed: int = 8) -> tuple[Tensor, Tensor]:
    lab_true = random_lab(seed, 64).view(3, 8, 8)
    lab_pred = lab_true.clone()
    lab_pred[1] += error_a
    lab_pred[2] += error_b
    return lab_pred, lab_true


def test_ab_error_auc_ideal_and_constant_error() -> None:
    lab_pred, lab_true = lab_with_ab_error(30.0, 40.0)  # ||(30, 40)|| = 50 exactly
    acc = AbErrorAuc()
    acc.update(lab_true, lab_true)
    assert acc.auc() == 1.0 and acc.auc_rebalanced() == 1.0
    assert ab_error_auc(lab_true, lab_true).item() == 1.0
    acc = AbErrorAuc()
    acc.update(lab_pred, lab_true)
    # Within t exactly for t = 50, ..., 150: 101 of the 151 thresholds.
    curve = acc.curve()
    assert curve.shape == (151,)
    assert curve[49] == 0.0 and curve[50] == 1.0
    assert acc.auc() == pytest.approx(101 / 151, abs=1e-12)
    assert acc.auc_rebalanced() == pytest.approx(101 / 151, abs=1e-12)
    assert ab_error_auc(lab_pred, lab_true).item() == pytest.approx(101 / 151, rel=1e-6)
    # Just over 50 misses t = 50; beyond 150 is never within.
    just_over, _ = lab_with_ab_error(50.001, 0.0)
    assert ab_error_auc(just_over, lab_true).item() == pytest.approx(100 / 151, rel=1e-6)
    far, _ = lab_with_ab_error(150.5, 0.0)
    assert ab_error_auc(far, lab_true).item() == 0.0


def brute_force_auc(error: np.ndarray, weights: np.ndarray) -> float:
    curve = [(weights * (error <= t)).sum() / weights.sum() for t in range(151)]
    return float(np.mean(curve))


def test_ab_error_auc_against_brute_force() -> None:
    g = torch.Generator().manual_seed(9)
    lab_true = torch.rand(2, 3, 12, 10, generator=g, dtype=torch.float64)
    lab_true = lab_true * torch.tensor([100.0, 120.0, 120.0]).view(3, 1, 1) - torch.tensor(
        [0.0, 60.0, 60.0]
    ).view(3, 1, 1)
    noise = 40 * torch.randn(2, 3, 12, 10, generator=g, dtype=torch.float64)
    lab_pred = lab_true + noise
    lab_pred[0, 1:, :3] = lab_true[0, 1:, :3]  # some exact pixels
    ab_t = lab_true[:, 1:].numpy()
    error = np.sqrt(((lab_pred[:, 1:].numpy() - ab_t) ** 2).sum(axis=1))  # (2, 12, 10)
    # Colour classes by hand: 10-unit cells from -110, 22 per side.
    cells = np.clip(np.floor((ab_t + 110) / 10), 0, 21).astype(int)
    classes = cells[:, 0] * 22 + cells[:, 1]
    present, counts = np.unique(classes, return_counts=True)
    probability = counts / classes.size
    weights = 1.0 / probability[np.searchsorted(present, classes)]
    assert len(present) > 20 and counts.max() > 1  # many classes, unevenly filled

    acc = AbErrorAuc()
    acc.update(lab_pred, lab_true)
    assert acc.num_pixels == error.size
    assert acc.auc() == pytest.approx(brute_force_auc(error, np.ones_like(error)), abs=1e-12)
    assert acc.auc_rebalanced() == pytest.approx(brute_force_auc(error, weights), abs=1e-12)
    assert acc.auc_rebalanced() != pytest.approx(acc.auc(), abs=1e-4)
    per_image = ab_error_auc(lab_pred, lab_true)
    assert per_image.shape == (2,)
    for i in range(2):
        ref = brute_force_auc(error[i], np.ones_like(error[i]))
        assert per_image[i].item() == pytest.approx(ref, abs=1e-6)


def test_ab_error_auc_merge_and_state() -> None:
    lab_pred_1, lab_true_1 = lab_with_ab_error(3.0, -7.0, seed=10)
    g = torch.Generator().manual_seed(11)
    lab_true_2 = random_lab(12, 64).view(3, 8, 8)
    lab_pred_2 = lab_true_2 + 25 * torch.randn(3, 8, 8, generator=g, dtype=torch.float64)
    both = AbErrorAuc()
    both.update(lab_pred_1, lab_true_1)
    both.update(lab_pred_2, lab_true_2)
    first, second = AbErrorAuc(), AbErrorAuc()
    first.update(lab_pred_1, lab_true_1)
    second.update(lab_pred_2, lab_true_2)
    merged = first.merge(second)
    assert torch.equal(merged.counts, both.counts)
    assert merged.auc_rebalanced() == both.auc_rebalanced()
    restored = AbErrorAuc()
    restored.load_state_dict(json.loads(json.dumps(both.state_dict())))
    assert torch.equal(restored.counts, both.counts)
    with pytest.raises(ValueError, match="max_error"):
        AbErrorAuc(max_error=100).merge(both)
    with pytest.raises(ValueError, match="no pixels"):
        AbErrorAuc().auc()
