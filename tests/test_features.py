"""Feature metrics: EfficientNet-Lite0 classifier, streaming statistics, Fréchet distance,
top-1 agreement and the user-supplied Inception plumbing."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch
from skimage import data
from torch import Tensor, nn

from tinct.eval.features import (
    LITE_FEATURE_DIM,
    LITE_NUM_CLASSES,
    FeatureStats,
    InceptionFeatures,
    LiteClassifier,
    fd_lite,
    frechet_distance,
    load_inception_features,
    top1_agreement,
)
from tinct.nn.backbones import efficientnet_lite_weights_path


@pytest.fixture(scope="module")
def classifier() -> LiteClassifier:
    return LiteClassifier()


@pytest.fixture(scope="module")
def photos() -> dict[str, Tensor]:
    """scikit-image sample photos as RGB (1, 3, H, W) in [0, 1], at their own sizes."""
    return {
        name: torch.from_numpy(getattr(data, name)()).permute(2, 0, 1)[None].float() / 255
        for name in ("coffee", "chelsea", "astronaut")
    }


# --- LiteClassifier ------------------------------------------------------------------


def test_classifier_outputs_and_frozen(classifier: LiteClassifier) -> None:
    features, logits = classifier(torch.rand(2, 3, 50, 70))
    assert features.shape == (2, LITE_FEATURE_DIM) and logits.shape == (2, LITE_NUM_CLASSES)
    assert features.dtype == logits.dtype == torch.float32
    assert (features >= 0).all() and (features <= 6).all()  # pooled ReLU6 activations
    classifier.train()
    assert not classifier.training and not any(m.training for m in classifier.modules())
    assert not any(p.requires_grad for p in classifier.parameters())
    with pytest.raises(ValueError, match="RGB"):
        classifier(torch.rand(2, 1, 32, 32))


def test_classifier_recognises_sample_photos(
    classifier: LiteClassifier, photos: dict[str, Tensor]
) -> None:
    batch = {name: classifier(rgb)[1].topk(5).indices[0].tolist() for name, rgb in photos.items()}
    # coffee: espresso (967), cup (968) or coffee mug (504); chelsea: a cat (281-285).
    assert {967, 968, 504} & set(batch["coffee"]), batch["coffee"]
    assert set(range(281, 286)) & set(batch["chelsea"]), batch["chelsea"]


def test_fused_matches_library_forward(
    classifier: LiteClassifier, photos: dict[str, Tensor]
) -> None:
    # Unfused, loaded through state_dict_path: logits must be the library's own forward,
    # features the input of its final linear layer; the fused default must agree.
    plain = LiteClassifier(state_dict_path=efficientnet_lite_weights_path(), fuse=False)
    x = torch.nn.functional.interpolate(
        photos["chelsea"], size=(224, 224), mode="bilinear", antialias=True
    )
    features, logits = plain(photos["chelsea"])
    with torch.inference_mode():
        reference = plain.net((x - 0.5) / 0.5)
    torch.testing.assert_close(logits, reference, rtol=0, atol=1e-5)
    torch.testing.assert_close(plain.net._fc(features), logits, rtol=0, atol=1e-5)
    fused_features, fused_logits = classifier(photos["chelsea"])
    assert classifier.fused and not plain.fused
    torch.testing.assert_close(fused_features, features, rtol=0, atol=1e-4)
    torch.testing.assert_close(fused_logits, logits, rtol=0, atol=1e-4)


def test_top1_agreement_on_real_logits(
    classifier: LiteClassifier, photos: dict[str, Tensor]
) -> None:
    _, logits = classifier(torch.cat([photos["coffee"][..., :300, :451], photos["chelsea"]]))
    assert top1_agreement(logits, logits).tolist() == [1.0, 1.0]
    assert top1_agreement(logits, logits.flip(0)).tolist() == [0.0, 0.0]


# --- top1_agreement ------------------------------------------------------------------


def test_top1_agreement() -> None:
    a = torch.tensor([[0.1, 0.9, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    b = torch.tensor([[0.0, 5.0, 1.0], [0.0, 1.0, 0.0], [0.0, -1.0, 3.0]])
    agreement = top1_agreement(a, b)
    assert agreement.dtype == torch.float32
    assert agreement.tolist() == [1.0, 0.0, 1.0]
    with pytest.raises(ValueError):
        top1_agreement(a, b[:2])


# --- FeatureStats --------------------------------------------------------------------


def random_features(n: int, d: int, seed: int, offset: float = 0.0) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    mixing = torch.randn(d, d, generator=g, dtype=torch.float64)
    return torch.randn(n, d, generator=g, dtype=torch.float64) @ mixing + offset


def test_feature_stats_match_numpy_over_uneven_batches() -> None:
    x = random_features(57, 12, 0)
    stats = FeatureStats()
    for chunk in (x[:1], x[1:1], x[1:20], x[20:21], x[21:].float()):
        stats.update(chunk)
    assert stats.n == 57 and stats.dim == 12
    reference = x.clone()
    reference[21:] = reference[21:].float().double()
    np.testing.assert_allclose(stats.mean.numpy(), reference.numpy().mean(0), rtol=1e-12)
    np.testing.assert_allclose(
        stats.covariance.numpy(), np.cov(reference.numpy(), rowvar=False), rtol=1e-10, atol=1e-12
    )
    assert stats.mean.dtype == stats.covariance.dtype == torch.float64
    assert torch.equal(stats.covariance, stats.covariance.T)


def test_feature_stats_no_cancellation_with_large_offset() -> None:
    x = random_features(300, 8, 1)
    shifted = FeatureStats()
    for chunk in (x + 1e8).split(64):
        shifted.update(chunk)
    np.testing.assert_allclose(
        shifted.covariance.numpy(), np.cov(x.numpy(), rowvar=False), rtol=1e-6, atol=1e-6
    )


def test_feature_stats_merge_and_resume(tmp_path: Path) -> None:
    x = random_features(40, 6, 2)
    whole = FeatureStats()
    whole.update(x)
    first, second = FeatureStats(), FeatureStats()
    first.update(x[:15])
    second.update(x[15:])
    merged = first.merge(second)
    assert merged.n == 40 and first.n == 15  # merge leaves its inputs alone
    torch.testing.assert_close(merged.mean, whole.mean, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(merged.covariance, whole.covariance, rtol=1e-12, atol=1e-12)
    assert first.merge(FeatureStats()).n == 15 and FeatureStats().merge(first).n == 15

    torch.save(first.state_dict(), tmp_path / "stats.pt")
    resumed = FeatureStats()
    resumed.load_state_dict(torch.load(tmp_path / "stats.pt", weights_only=True))
    resumed.update(x[15:])
    torch.testing.assert_close(resumed.covariance, whole.covariance, rtol=1e-12, atol=1e-12)

    empty = FeatureStats(6)
    empty.load_state_dict(FeatureStats(6).state_dict())
    assert empty.n == 0 and empty.dim == 6


def test_feature_stats_errors() -> None:
    stats = FeatureStats(4)
    with pytest.raises(ValueError, match="no features"):
        _ = stats.mean
    stats.update(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="at least 2"):
        _ = stats.covariance
    with pytest.raises(ValueError, match="dimension"):
        stats.update(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="dimension"):
        stats.merge(FeatureStats(5))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        stats.update(torch.zeros(4))


# --- frechet_distance / fd_lite ------------------------------------------------------


def scipy_frechet(m1: np.ndarray, s1: np.ndarray, m2: np.ndarray, s2: np.ndarray) -> float:
    root = scipy.linalg.sqrtm(s1 @ s2)
    return float(np.real(((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * root)))


@pytest.mark.parametrize("n", [200, 40], ids=["full-rank", "rank-deficient"])
def test_frechet_matches_scipy(n: int) -> None:
    a, b = random_features(n, 64, 3), random_features(n, 64, 4, offset=0.5)
    m1, s1, m2, s2 = a.mean(0), a.T.cov(), b.mean(0), b.T.cov()
    ours = frechet_distance(m1, s1, m2, s2)
    reference = scipy_frechet(*(t.numpy() for t in (m1, s1, m2, s2)))
    # scipy's sqrtm of the singular product is only accurate to ~1e-8 relative.
    assert ours == pytest.approx(reference, rel=1e-6)
    assert frechet_distance(m2, s2, m1, s1) == pytest.approx(ours, rel=1e-10)


def test_frechet_exact_for_commuting_singular_covariances() -> None:
    # Shared eigenvectors: Tr((S1 S2)^1/2) = sum sqrt(a_i b_i), zeros included.
    g = torch.Generator().manual_seed(5)
    q, _ = torch.linalg.qr(torch.randn(16, 16, generator=g, dtype=torch.float64))
    a = torch.rand(16, generator=g, dtype=torch.float64) * 3
    b = torch.rand(16, generator=g, dtype=torch.float64) * 2
    a[:5], b[3:9] = 0, 0
    s1, s2 = (q * a) @ q.T, (q * b) @ q.T
    m1, m2 = torch.zeros(16, dtype=torch.float64), torch.full((16,), 0.25, dtype=torch.float64)
    expected = 16 * 0.25**2 + float((a.sqrt() - b.sqrt()).pow(2).sum())
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(expected, rel=1e-12)


def test_frechet_one_dimensional_gaussians() -> None:
    m1, sd1, m2, sd2 = 1.5, 2.0, -0.5, 0.5
    fd = frechet_distance(
        torch.tensor([m1]), torch.tensor([[sd1**2]]), torch.tensor([m2]), torch.tensor([[sd2**2]])
    )
    assert fd == pytest.approx((m1 - m2) ** 2 + (sd1 - sd2) ** 2, rel=1e-12)


def test_frechet_identical_statistics_near_zero() -> None:
    # 38 images, more feature dimensions than images: a rank-37 covariance, as with the
    # 38-photo test set and D = 1280 (512 here to keep the eigendecompositions quick).
    x = random_features(38, 512, 6).float().abs()
    stats = FeatureStats()
    stats.update(x)
    cov = stats.covariance
    assert fd_lite(stats, stats) < 1e-6 * float(torch.trace(cov))


def test_fd_lite_equals_frechet_of_the_statistics() -> None:
    a, b = random_features(30, 10, 7), random_features(25, 10, 8, offset=1.0)
    pred, true = FeatureStats(), FeatureStats()
    pred.update(a)
    true.update(b)
    expected = frechet_distance(a.mean(0), a.T.cov(), b.mean(0), b.T.cov())
    assert fd_lite(pred, true) == pytest.approx(expected, rel=1e-10)
    with pytest.raises(ValueError):
        frechet_distance(a.mean(0), a.T.cov(), b.mean(0)[:5], b.T.cov())


# --- Inception plumbing --------------------------------------------------------------


class FakeInception(nn.Module):
    """Same calling convention as NVlabs' inception-2015-12-05.pt: uint8 NCHW in,
    (B, 2048) out with ``return_features=True``. Feature k is the mean of channel k % 3."""

    def forward(self, x: Tensor, return_features: bool = False) -> Tensor:
        assert x.dtype == torch.uint8, "expected uint8 images"
        assert x.dim() == 4 and x.shape[1] == 3, "expected NCHW RGB"
        if not return_features:
            return torch.zeros(x.shape[0], 1008)
        means = x.float().mean(dim=(2, 3))
        return means.repeat(1, 683)[:, :2048]


# TorchScript is deprecated in torch 2.13, but the NVlabs Inception file is TorchScript.
pytestmark_jit = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")


@pytestmark_jit
def test_inception_features_plumbing(tmp_path: Path) -> None:
    path = tmp_path / "fake-inception.pt"
    torch.jit.script(FakeInception()).save(str(path))
    extract = load_inception_features(path)
    assert isinstance(extract, InceptionFeatures)
    rgb = torch.rand(3, 3, 20, 30)
    features = extract(rgb)
    assert features.shape == (3, 2048) and features.dtype == torch.float32
    expected = (rgb * 255).round().mean(dim=(2, 3))
    torch.testing.assert_close(features[:, :3], expected, rtol=0, atol=1e-3)
    assert float(features.max()) <= 255
    torch.testing.assert_close(extract(torch.ones(1, 3, 8, 8)), torch.full((1, 2048), 255.0))


@pytestmark_jit
def test_inception_features_errors(tmp_path: Path) -> None:
    missing = tmp_path / "inception-2015-12-05.pt"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        load_inception_features(missing)
    garbage = tmp_path / "not-torchscript.pt"
    torch.save({"weights": torch.zeros(3)}, garbage)
    with pytest.raises(ValueError, match=re.escape(str(garbage))):
        load_inception_features(garbage)
