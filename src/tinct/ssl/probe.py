"""Linear evaluation: frozen features -> logistic regression (scikit-learn, as seed 000
section 3.5.4 does), with STL-10's protocol or cross-validation over any labelled set.

STL-10 (seed 000 tables 3.1/3.2): train on each of the ten predefined folds of 1000
labels and test on the 8000 test images (mean and standard deviation), and once on all
5000 labels. Any other labelled dataset or class folder: ``k``-fold cross-validation over
its items (stratified; all crops of an item stay in one fold), mean and standard deviation
over the folds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from tinct.ssl.encoders import FeatureEncoder
from tinct.ssl.views import LabelledViews, class_folds

__all__ = ["FoldScores", "extract_features", "fit_probe", "probe_folds", "probe_train_test"]


@dataclass
class FoldScores:
    """Test accuracies (0..1) of one evaluation, one per fold (or one)."""

    accuracies: list[float] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return float(np.mean(self.accuracies))

    @property
    def std(self) -> float:
        return float(np.std(self.accuracies, ddof=1)) if len(self.accuracies) > 1 else 0.0

    def as_dict(self) -> dict[str, float | list[float]]:
        return {"mean": self.mean, "std": self.std, "folds": list(self.accuracies)}


@torch.no_grad()
def extract_features(
    encoder: FeatureEncoder, images: np.ndarray, *, batch_size: int = 128, progress: bool = False
) -> np.ndarray:
    """Frozen features ``(N, D)`` float32 of uint8 images ``(N, 3, S, S)`` (eval mode)."""
    was_training = encoder.training
    encoder.eval()
    out = []
    steps = range(0, len(images), batch_size)
    for start in tqdm(steps, desc="features", unit="batch", disable=not progress):
        batch = torch.from_numpy(images[start : start + batch_size]).float() / 255.0
        out.append(encoder(batch).float().numpy())
    encoder.train(was_training)
    return np.concatenate(out).astype(np.float32)


def fit_probe(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    *,
    c: float = 1.0,
    max_iter: int = 2000,
) -> float:
    """Accuracy on the test set of an L2-regularised multinomial logistic regression
    (inverse strength ``c``) fitted on standardised training features."""
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
    except ImportError as err:  # pragma: no cover - the ssl extra
        raise ImportError("the linear probe needs scikit-learn: pip install 'tinct[ssl]'") from err
    if len(np.unique(train_y)) < 2:
        raise ValueError("the probe needs at least two classes in the training labels")
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter))
    probe.fit(train_x, train_y)
    return float(probe.score(test_x, test_y))


def probe_folds(
    features: np.ndarray,
    views: LabelledViews,
    *,
    k: int = 5,
    seed: int = 0,
    c: float = 1.0,
) -> FoldScores:
    """``k``-fold cross-validation over the items of ``views`` (features row-aligned)."""
    item_labels = np.zeros(int(views.items.max()) + 1, np.int64) - 1
    item_labels[views.items] = views.labels
    present = np.flatnonzero(item_labels >= 0)
    folds = class_folds(item_labels[present], k, seed=seed)
    scores = FoldScores()
    for fold in folds:
        test_items = present[fold]
        test = np.isin(views.items, test_items)
        scores.accuracies.append(
            fit_probe(features[~test], views.labels[~test], features[test], views.labels[test], c=c)
        )
    return scores


def probe_train_test(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    test_features: np.ndarray,
    test_labels: np.ndarray,
    *,
    folds: Sequence[np.ndarray] | None = None,
    c: float = 1.0,
) -> FoldScores:
    """Fit on the training set (or on each of ``folds``, index arrays into it) and score on
    the test set: STL-10's protocol when ``folds`` are its ten folds of 1000."""
    scores = FoldScores()
    for fold in folds if folds is not None else [np.arange(len(train_labels))]:
        scores.accuracies.append(
            fit_probe(train_features[fold], train_labels[fold], test_features, test_labels, c=c)
        )
    return scores
