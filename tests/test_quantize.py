"""Tests for tinct.color.quantize, .prior and .decode: bin sets, nearest bin, soft-encoding,
prior, rebalancing, decoding. References are numpy brute force, hand-computed values and
scikit-image."""

from __future__ import annotations

import fnmatch
import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import Tensor

import tinct.color as tc
import tinct.color.quantize as tq

ROOT = Path(__file__).parents[1]


def _as_set(bins: Tensor) -> set[tuple[int, int]]:
    return {(round(a), round(b)) for a, b in bins.tolist()}


def _random_ab(shape: tuple[int, int, int], seed: int = 0) -> Tensor:
    """``(B, 2, H, W)`` ab near Zhang's bins: a random bin centre plus jitter of +-12."""
    gen = torch.Generator().manual_seed(seed)
    bins = tc.zhang_bins()
    batch, height, width = shape
    pick = torch.randint(len(bins), (batch, height, width), generator=gen)
    jitter = (torch.rand(batch, 2, height, width, generator=gen) - 0.5) * 24
    return bins[pick].permute(0, 3, 1, 2) + jitter


def _numpy_nearest(ab: Tensor, bins: Tensor) -> np.ndarray:
    x = ab.permute(0, 2, 3, 1).reshape(-1, 2).double().numpy()
    d = ((x[:, None, :] - bins.double().numpy()[None]) ** 2).sum(-1)
    return d.argmin(1).reshape(ab.shape[0], *ab.shape[2:])


# --- Bin sets ----------------------------------------------------------------------------------


def test_zhang_bins_are_the_313_grid_10_centres() -> None:
    bins = tc.zhang_bins()
    assert bins.shape == (313, 2) and bins.dtype == torch.float32
    assert torch.equal(bins, torch.round(bins / 10) * 10)
    assert len(_as_set(bins)) == 313
    assert bins[0].tolist() == [-90.0, 50.0] and bins[-1].tolist() == [100.0, 0.0]
    assert (0, 0) in _as_set(bins)
    order = np.lexsort((bins[:, 1].numpy(), bins[:, 0].numpy()))
    assert (order == np.arange(313)).all()
    assert bins[:, 0].min() == -90 and bins[:, 0].max() == 100
    assert bins[:, 1].min() == -110 and bins[:, 1].max() == 100
    bins[0] = 1234.0  # a copy: the cache is untouched
    assert tc.zhang_bins()[0].tolist() == [-90.0, 50.0]


def test_bin_file_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["tinct"]
    data_file = "color/data/zhang_ab_gamut_313.txt"
    assert (ROOT / "src" / "tinct" / data_file).is_file()
    assert any(fnmatch.fnmatch(data_file, pattern) for pattern in patterns)


def test_gamut_bins_at_grid_10_are_258_and_inside_zhangs_set() -> None:
    bins = tc.gamut_bins(10.0)
    assert bins.shape == (258, 2) and bins.dtype == torch.float32
    assert torch.equal(bins, torch.round(bins / 10) * 10)
    order = np.lexsort((bins[:, 1].numpy(), bins[:, 0].numpy()))
    assert (order == np.arange(len(bins))).all()
    ours, zhang = _as_set(bins), _as_set(tc.zhang_bins())
    assert ours <= zhang
    extra = torch.tensor(sorted(zhang - ours), dtype=torch.float32)
    assert len(extra) == 55
    # Zhang's extra bins are a ring around the sRGB gamut: each next to one of ours ...
    gap = torch.cdist(extra, bins).min(dim=1).values
    assert torch.allclose(gap.max(), torch.tensor(10 * math.sqrt(2)))
    assert int((gap == 10).sum()) == 54
    # ... at high chroma, on every side of the ab plane.
    chroma = extra.norm(dim=1)
    assert chroma.min() > 53 and chroma.max() < 143
    hue = torch.atan2(extra[:, 1], extra[:, 0]) % (2 * math.pi)
    assert len(torch.unique((hue // (math.pi / 2)).long())) == 4


def test_gamut_bins_agree_with_an_rgb_cube() -> None:
    # An independent gamut: all colours of a 64-level RGB cube through scikit-image.
    skcolor = pytest.importorskip("skimage.color")
    levels = np.linspace(0.0, 1.0, 64)
    cube = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 1, 3)
    ab = skcolor.rgb2lab(cube)[:, 0, 1:]
    cube_cells = {(int(a), int(b)) for a, b in np.unique(np.round(ab / 10) * 10, axis=0)}
    ours = _as_set(tc.gamut_bins(10.0))
    assert ours <= cube_cells  # every bin holds real sRGB colours
    # Three cells the gamut touches only in thin slivers of L (see the gamut_bins docstring).
    assert cube_cells - ours == {(70, -110), (90, 0), (100, -70)}


@pytest.mark.slow
def test_every_8_bit_srgb_colour_falls_in_or_next_to_a_bin_of_both_sets() -> None:
    # All 256^3 colours through scikit-image (independent of tinct's conversion), by
    # their grid-10 cell (round(ab / 10) * 10).
    skcolor = pytest.importorskip("skimage.color")
    levels = np.arange(256, dtype=np.float64) / 255
    g, b = np.meshgrid(levels, levels, indexing="ij")
    cells: set[tuple[int, int]] = set()
    for r in levels[::-1]:
        rgb = np.stack((np.full_like(g, r), g, b), -1)
        ab = skcolor.rgb2lab(rgb)[..., 1:].reshape(-1, 2)
        cells |= {(int(x), int(y)) for x, y in np.unique(np.round(ab / 10) * 10, axis=0)}
    for name in tc.BIN_SETS:
        bins = _as_set(tc.ab_bins(name))
        outside = cells - bins
        near = {
            (a, b)
            for a, b in outside
            if any((a + da, b + db) in bins for da in (-10, 0, 10) for db in (-10, 0, 10))
        }
        print(f"{name}: {len(cells)} cells hold 8-bit sRGB colours, {len(outside)} not a bin")
        assert near == outside  # each of those is next to a bin
    assert cells - _as_set(tc.zhang_bins()) == set()  # Zhang's set holds every colour


def test_gamut_bins_other_grid_sizes() -> None:
    coarse = tc.gamut_bins(20.0)
    assert coarse.shape == (73, 2)
    assert torch.equal(coarse, torch.round(coarse / 20) * 20)
    # Every grid-10 bin lies inside (or on the edge of) an occupied grid-20 cell.
    near = torch.cdist(tc.gamut_bins(10.0), coarse, p=float("inf")).min(dim=1).values
    assert near.max() <= 10
    assert tc.ab_bins("srgb", 20.0).shape == (73, 2)
    with pytest.raises(ValueError, match="extent"):
        tc.gamut_bins(10.0, extent=60.0)
    with pytest.raises(ValueError, match="grid"):
        tc.gamut_bins(0.0)


def test_ab_bins_by_name() -> None:
    assert torch.equal(tc.ab_bins(), tc.zhang_bins())
    assert torch.equal(tc.ab_bins("srgb"), tc.gamut_bins(10.0))
    with pytest.raises(ValueError, match="zhang313"):
        tc.ab_bins("nope")
    with pytest.raises(ValueError, match="grid 10"):
        tc.ab_bins("zhang313", grid=5.0)


# --- Nearest bin and encoding ------------------------------------------------------------------


def test_nearest_bin_hand_case() -> None:
    bins = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    ab = torch.tensor([[[[1.0, 6.0, -3.0, 4.0]], [[2.0, 1.0, 7.0, 4.0]]]])  # (1, 2, 1, 4)
    index = tc.nearest_bin(ab, bins)
    assert index.dtype == torch.int64 and index.shape == (1, 1, 4)
    assert index.tolist() == [[[0, 1, 2, 0]]]


def test_nearest_bin_matches_brute_force_across_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    ab = _random_ab((2, 9, 11), seed=1)
    bins = tc.zhang_bins()
    expected = _numpy_nearest(ab, bins)
    assert (tc.nearest_bin(ab, bins).numpy() == expected).all()
    monkeypatch.setattr(tq, "_CHUNK_ELEMENTS", 313 * 7)  # 7 pixels per chunk
    assert (tc.nearest_bin(ab, bins).numpy() == expected).all()
    assert (tc.nearest_bin(ab.double(), bins).numpy() == expected).all()


def test_nearest_bin_large_batch_is_cheap() -> None:
    ab = torch.zeros(8, 2, 256, 256)
    ab[:, 0] = 23.0
    index = tc.nearest_bin(ab, tc.zhang_bins())
    assert index.shape == (8, 256, 256)
    assert tc.zhang_bins()[index[0, 0, 0]].tolist() == [20.0, 0.0]
    assert bool((index == index[0, 0, 0]).all())


@pytest.mark.parametrize(
    "fn", [tc.nearest_bin, tc.soft_encode, tc.one_hot_encode], ids=lambda f: f.__name__
)
def test_encoders_reject_bad_shapes(fn) -> None:  # type: ignore[no-untyped-def]
    bins = tc.zhang_bins()
    with pytest.raises(ValueError, match=r"\(1, 3, 4, 4\)"):
        fn(torch.zeros(1, 3, 4, 4), bins)
    with pytest.raises(ValueError, match=r"\(2, 4, 4\)"):
        fn(torch.zeros(2, 4, 4), bins)
    with pytest.raises(ValueError, match=r"\(313, 3\)"):
        fn(torch.zeros(1, 2, 4, 4), torch.zeros(313, 3))


def test_soft_encode_at_a_bin_centre_by_hand() -> None:
    ab = torch.zeros(1, 2, 1, 1)  # bin (0, 0); its 4 grid neighbours are 10 away
    dist = tc.soft_encode(ab, tc.zhang_bins())
    assert dist.shape == (1, 313, 1, 1) and dist.dtype == torch.float32
    values = dist.flatten()
    zero = int((tc.zhang_bins() == 0).all(dim=1).nonzero())
    e = math.exp(-(10**2) / (2 * 5**2))
    assert values[zero].item() == pytest.approx(1 / (1 + 4 * e), rel=1e-6)
    nonzero = values.nonzero().flatten()
    assert len(nonzero) == 5
    for q in nonzero.tolist():
        if q != zero:
            assert values[q].item() == pytest.approx(e / (1 + 4 * e), rel=1e-6)
            assert tc.zhang_bins()[q].norm().item() == pytest.approx(10.0)


def test_soft_encode_matches_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    ab = _random_ab((2, 3, 5), seed=2)
    bins = tc.zhang_bins()
    x = ab.permute(0, 2, 3, 1).reshape(-1, 2).double().numpy()
    c = bins.double().numpy()
    expected = np.zeros((len(x), len(c)))
    for i, point in enumerate(x):  # naive loop, one pixel at a time
        d = np.sqrt(((c - point) ** 2).sum(1))
        near = np.argsort(d, kind="stable")[:5]
        w = np.exp(-(d[near] ** 2) / (2 * 5.0**2))
        expected[i, near] = w / w.sum()
    expected = expected.reshape(2, 3, 5, 313).transpose(0, 3, 1, 2)
    monkeypatch.setattr(tq, "_CHUNK_ELEMENTS", 313 * 4)
    got = tc.soft_encode(ab, bins)
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-6)
    assert torch.allclose(got.sum(dim=1), torch.ones(2, 3, 5))
    assert bool(((got > 0).sum(dim=1) == 5).all())
    # Other neighbour counts and widths.
    wide = tc.soft_encode(ab, bins, neighbours=8, sigma=20.0)
    assert bool(((wide > 0).sum(dim=1) == 8).all())
    assert torch.allclose(wide.sum(dim=1), torch.ones(2, 3, 5))


def test_one_hot_is_soft_with_one_neighbour() -> None:
    ab = _random_ab((2, 4, 4), seed=3)
    bins = tc.zhang_bins()
    one_hot = tc.one_hot_encode(ab, bins)
    assert torch.equal(one_hot, tc.soft_encode(ab, bins, neighbours=1))
    assert torch.equal(one_hot.argmax(dim=1), tc.nearest_bin(ab, bins))
    assert torch.equal(one_hot.sum(dim=1), torch.ones(2, 4, 4))


def test_soft_encode_rejects_bad_parameters() -> None:
    ab, bins = torch.zeros(1, 2, 2, 2), tc.zhang_bins()
    with pytest.raises(ValueError, match="neighbours"):
        tc.soft_encode(ab, bins, neighbours=0)
    with pytest.raises(ValueError, match="neighbours"):
        tc.soft_encode(ab, bins, neighbours=314)
    with pytest.raises(ValueError, match="sigma"):
        tc.soft_encode(ab, bins, sigma=0.0)


# --- Prior -------------------------------------------------------------------------------------


def test_prior_counts_nearest_bins_streamed(tmp_path: Path) -> None:
    bins = tc.zhang_bins()
    batches = [_random_ab((2, 6, 7), seed=s) for s in range(3)]
    expected = np.bincount(
        np.concatenate([_numpy_nearest(ab, bins).ravel() for ab in batches]), minlength=313
    )
    prior = tc.dataset_prior((ab for ab in batches), bins)  # a generator: streamed
    assert prior.counts.tolist() == expected.tolist()
    assert prior.num_pixels == 3 * 2 * 6 * 7
    assert torch.allclose(prior.probabilities, torch.from_numpy(expected / expected.sum()))
    assert prior.probabilities.sum().item() == pytest.approx(1.0)
    # Shards merge to the whole.
    first, rest = tc.BinPrior(bins), tc.dataset_prior(batches[1:], bins)
    first.update(batches[0])
    assert torch.equal(first.merge(rest).counts, prior.counts)
    with pytest.raises(ValueError, match="no pixels"):
        _ = tc.BinPrior(bins).probabilities


def test_prior_save_load_round_trip(tmp_path: Path) -> None:
    bins = tc.gamut_bins(20.0)
    prior = tc.dataset_prior([_random_ab((1, 5, 5), seed=4)], bins)
    path = tmp_path / "sub" / "prior.json"
    assert prior.save(path) == path
    assert [p.name for p in path.parent.iterdir()] == ["prior.json"]  # no temporary left
    loaded = tc.BinPrior.load(path)
    assert torch.equal(loaded.bins, bins) and torch.equal(loaded.counts, prior.counts)
    payload = json.loads(path.read_text())
    assert payload["format"] == "tinct-bin-prior" and len(payload["counts"]) == 73
    prior.update(_random_ab((1, 5, 5), seed=5))
    prior.save(path)  # replaces the old file
    assert torch.equal(tc.BinPrior.load(path).counts, prior.counts)
    other = tc.BinPrior(tc.zhang_bins())
    with pytest.raises(ValueError, match="differ"):
        other.load_state_dict(prior.state_dict())
    (tmp_path / "bad.json").write_text('{"counts": []}')
    with pytest.raises(ValueError, match="not a tinct bin prior"):
        tc.BinPrior.load(tmp_path / "bad.json")


# --- Rebalancing -------------------------------------------------------------------------------


def test_rebalancing_weights_hand_case() -> None:
    # Q = 2, p = (3/4, 1/4), lam = 1/2: mix = (5/8, 3/8), w ∝ (8/5, 8/3), E_p = 28/15.
    w = tc.rebalancing_weights(torch.tensor([0.75, 0.25]))
    assert w.dtype == torch.float32
    assert w.tolist() == pytest.approx([(8 / 5) / (28 / 15), (8 / 3) / (28 / 15)], rel=1e-6)
    # Counts work like probabilities.
    assert torch.allclose(tc.rebalancing_weights(torch.tensor([300, 100])), w)


def test_rebalancing_weights_properties() -> None:
    gen = torch.Generator().manual_seed(0)
    p = torch.rand(313, generator=gen, dtype=torch.float64) ** 4
    p[:20] = 0.0
    p /= p.sum()
    for lam in (0.1, 0.5, 0.9):
        w = tc.rebalancing_weights(p, lam=lam)
        assert (p * w.double()).sum().item() == pytest.approx(1.0, abs=1e-6)
        rarer = p[:, None] < p[None, :]
        assert bool((w[:, None] >= w[None, :])[rarer].all())  # rarer bins weigh more
        clearly = p[:, None] < p[None, :] - 1e-4
        assert bool((w[:, None] > w[None, :])[clearly].all())
    assert torch.allclose(tc.rebalancing_weights(torch.full((313,), 1 / 313)), torch.ones(313))
    assert torch.allclose(tc.rebalancing_weights(p, lam=1.0), torch.ones(313))
    with pytest.raises(ValueError, match="infinite"):
        tc.rebalancing_weights(p, lam=0.0)
    seen = p[20:] / p[20:].sum()
    w0 = tc.rebalancing_weights(seen, lam=0.0)  # no zeros: w = 1 / (Q p), so E_p[w] = 1
    assert torch.allclose(w0.double(), 1 / (293 * seen), rtol=1e-5)
    with pytest.raises(ValueError, match="lam"):
        tc.rebalancing_weights(p, lam=1.5)
    with pytest.raises(ValueError, match="bins"):
        tc.rebalancing_weights(p, smooth_sigma=5.0)
    with pytest.raises(ValueError, match="non-negative"):
        tc.rebalancing_weights(-p)


def test_smoothing_matches_a_loop_and_keeps_expectation_one() -> None:
    bins = tc.zhang_bins()
    gen = torch.Generator().manual_seed(1)
    p = torch.rand(313, generator=gen, dtype=torch.float64) ** 6
    p /= p.sum()
    smoothed = tc.smooth_prior(p, bins, 5.0)
    c = bins.double().numpy()
    expected = np.array(
        [
            sum(p[r].item() * math.exp(-((c[q] - c[r]) ** 2).sum() / 50) for r in range(313))
            for q in range(313)
        ]
    )
    np.testing.assert_allclose(smoothed.numpy(), expected / expected.sum(), rtol=1e-10)
    w = tc.rebalancing_weights(p, smooth_sigma=5.0, bins=bins)
    assert not torch.allclose(w, tc.rebalancing_weights(p))
    assert (smoothed * w.double()).sum().item() == pytest.approx(1.0, abs=1e-6)
    # A kernel much narrower than the grid changes nothing.
    assert torch.allclose(
        tc.rebalancing_weights(p, smooth_sigma=0.5, bins=bins), tc.rebalancing_weights(p)
    )
    with pytest.raises(ValueError, match=r"\(5,\)"):
        tc.smooth_prior(p[:5], bins, 5.0)


# --- Decoding ----------------------------------------------------------------------------------


TWO_BINS = torch.tensor([[0.0, 0.0], [10.0, 20.0]])


def test_decoding_two_bin_hand_case() -> None:
    logits = torch.tensor([0.0, math.log(3.0)]).view(1, 2, 1, 1)  # softmax (1/4, 3/4)
    assert tc.decode_mode(logits, TWO_BINS).flatten().tolist() == [10.0, 20.0]
    assert tc.decode_mean(logits, TWO_BINS).flatten().tolist() == pytest.approx([7.5, 15.0])
    # T = 1/2: f_T(z) ∝ z^2 = (1/16, 9/16) -> (1/10, 9/10).
    annealed = tc.annealed_mean(logits, TWO_BINS, temperature=0.5)
    assert annealed.flatten().tolist() == pytest.approx([9.0, 18.0])


def test_annealed_mean_is_eq_4_4_on_probabilities() -> None:
    gen = torch.Generator().manual_seed(2)
    logits = torch.randn(2, 313, 3, 4, generator=gen) * 3
    bins = tc.zhang_bins()
    z = torch.softmax(logits.double(), dim=1).numpy()
    t = tc.DEFAULT_TEMPERATURE
    assert t == 0.38
    f = np.exp(np.log(z) / t)
    f /= f.sum(axis=1, keepdims=True)
    expected = np.einsum("bqhw,qc->bchw", f, bins.double().numpy())
    got = tc.annealed_mean(logits, bins)
    assert got.shape == (2, 2, 3, 4) and got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-3)
    # Probabilities in, via their log: the same.
    from_probs = tc.annealed_mean(torch.from_numpy(z).float().log(), bins)
    np.testing.assert_allclose(from_probs.numpy(), expected, atol=1e-3)


def test_annealed_mean_limits() -> None:
    gen = torch.Generator().manual_seed(3)
    bins = tc.zhang_bins()
    logits = torch.randn(2, 313, 5, 5, generator=gen)
    winner = torch.randint(313, (2, 5, 5), generator=gen)
    logits.scatter_add_(1, winner.unsqueeze(1), torch.full((2, 1, 5, 5), 8.0))  # clear mode
    mean, mode = tc.decode_mean(logits, bins), tc.decode_mode(logits, bins)
    assert torch.allclose(tc.annealed_mean(logits, bins, temperature=1.0), mean, atol=1e-4)
    assert torch.allclose(tc.annealed_mean(logits, bins, temperature=0.01), mode, atol=1e-3)
    assert torch.equal(tc.annealed_mean(logits, bins, temperature=0.0), mode)
    assert torch.equal(tc.annealed_mean(logits, bins, temperature=-1.0), mode)
    assert torch.equal(mode, bins[winner].permute(0, 3, 1, 2))
    # Sharper is more saturated: the mean is the least colourful.
    chroma = [tc.annealed_mean(logits, bins, temperature=t).norm(dim=1).mean() for t in (1, 0.38)]
    assert chroma[0] < chroma[1]


def test_decoding_upcasts_bf16_and_checks_shapes() -> None:
    gen = torch.Generator().manual_seed(4)
    bins = tc.zhang_bins()
    logits = (torch.randn(1, 313, 2, 2, generator=gen) * 4).bfloat16()
    for fn in (tc.decode_mean, tc.annealed_mean, tc.decode_mode):
        out = fn(logits, bins.bfloat16())
        assert out.dtype == torch.float32
        assert torch.allclose(out, fn(logits.float(), bins), atol=1e-4)
        with pytest.raises(ValueError, match=r"\(1, 312, 2, 2\)"):
            fn(logits[:, :312], bins)


def test_encode_then_decode_recovers_bin_centres() -> None:
    bins = tc.zhang_bins()
    gen = torch.Generator().manual_seed(5)
    pick = torch.randint(313, (2, 4, 4), generator=gen)
    centres = bins[pick].permute(0, 3, 1, 2)
    ab = centres + (torch.rand(2, 2, 4, 4, generator=gen) - 0.5) * 9.9  # inside the cell
    assert torch.equal(tc.decode_mode(tc.one_hot_encode(ab, bins).log(), bins), centres)
    # Soft-encoding the centre of an interior bin is symmetric, so its mean is the centre.
    zero = torch.zeros(1, 2, 1, 1)
    soft = tc.soft_encode(zero, bins)
    assert torch.allclose(tc.decode_mean(soft.log(), bins), zero, atol=1e-5)


def test_decode_mean_has_gradients() -> None:
    logits = torch.zeros(1, 2, 1, 1, requires_grad=True)
    tc.annealed_mean(logits, TWO_BINS).sum().backward()
    assert logits.grad is not None
    # d/dx1 of 30 * sigmoid((x1 - x0) / T) at 0 is 30 / (4T).
    assert logits.grad.flatten().tolist() == pytest.approx([-30 / 4 / 0.38, 30 / 4 / 0.38])
