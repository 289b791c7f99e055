"""The evaluation protocols behind ``tinct ssl probe`` and ``tinct ssl finetune``.

``data`` names a labelled dataset of ``tinct data list`` (``stl10``, ``cifar10``,
``corpus-labelled``...) or a class folder (``root/<class>/<image>``). STL-10 gets its own
protocol (ten folds of 1000 labels and all 5000, tested on the test split); every other
set gets k-fold cross-validation over its items.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinct.data.base import ColourDataset
from tinct.ssl.encoders import FeatureEncoder
from tinct.ssl.finetune import Classifier, finetune, split_by_items
from tinct.ssl.probe import FoldScores, extract_features, probe_folds, probe_train_test
from tinct.ssl.views import LabelledViews, class_folds, labelled_views, stl10_folds

__all__ = ["LabelledData", "finetune_protocol", "load_labelled", "probe_protocol"]


@dataclass
class LabelledData:
    """Views to evaluate on: ``test`` is None for cross-validation; ``folds`` (STL-10) are
    index arrays into ``train``."""

    name: str
    train: LabelledViews
    test: LabelledViews | None = None
    folds: list[np.ndarray] | None = None


def _open(data: str, root: str | None, split: str | None) -> ColourDataset:
    from tinct.data.folders import ImageFolder
    from tinct.data.registry import DATASETS, dataset_info, open_dataset

    if data in DATASETS:
        info = dataset_info(data)
        return open_dataset(
            data, root, split or ("all" if "all" in info.splits else info.splits[0])
        )
    folder = Path(data).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"--data {data!r} is neither a dataset ({', '.join(DATASETS)}) nor a folder"
        )
    return ImageFolder(folder)


def load_labelled(
    data: str,
    *,
    root: str | None = None,
    split: str | None = None,
    size: int = 96,
    crops: int = 1,
    scale: tuple[float, float] = (1.0, 1.0),
    seed: int = 0,
    progress: bool = False,
) -> LabelledData:
    """Views of a labelled dataset at ``size`` px (see :func:`labelled_views`)."""
    if data == "stl10":
        from tinct.data.registry import open_dataset

        train_set = open_dataset("stl10", root, "train")
        train = labelled_views(train_set, size=size, progress=progress)
        test = labelled_views(open_dataset("stl10", root, "test"), size=size, progress=progress)
        return LabelledData("stl10", train, test, stl10_folds(train_set))  # type: ignore[arg-type]
    dataset = _open(data, root, split)
    views = labelled_views(
        dataset, size=size, crops_per_item=crops, scale=scale, seed=seed, progress=progress
    )
    return LabelledData(data, views)


def probe_protocol(
    encoder: FeatureEncoder,
    data: LabelledData,
    *,
    k: int = 5,
    seed: int = 0,
    c: float = 1.0,
    progress: bool = False,
) -> dict[str, FoldScores]:
    """Linear-probe accuracies: ``{"1000 labels": ..., "5000 labels": ...}`` on STL-10,
    ``{"5-fold": ...}`` (k folds) elsewhere."""
    train_x = extract_features(encoder, data.train.images, progress=progress)
    if data.test is None:
        return {f"{k}-fold": probe_folds(train_x, data.train, k=k, seed=seed, c=c)}
    test_x = extract_features(encoder, data.test.images, progress=progress)
    out = {}
    if data.folds is not None:
        out["1000 labels"] = probe_train_test(
            train_x, data.train.labels, test_x, data.test.labels, folds=data.folds, c=c
        )
    out[f"{len(data.train)} labels"] = probe_train_test(
        train_x, data.train.labels, test_x, data.test.labels, c=c
    )
    return out


def finetune_protocol(
    make_encoder: Callable[[], FeatureEncoder],
    data: LabelledData,
    *,
    mode: str,
    freeze_blocks: int = 0,
    steps: int = 200,
    batch_size: int = 64,
    lr_top: float = 1e-2,
    lr_body: float = 1e-3,
    dropout: float = 0.5,
    k: int = 5,
    max_folds: int | None = None,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """Fine-tune a fresh copy of the encoder per fold; test accuracy per fold (STL-10:
    its folds of 1000 against the test split; elsewhere k-fold cross-validation),
    ``max_folds`` of them. Returns the scores and the budget per fold."""
    base = make_encoder()
    n_classes = len(data.train.classes) or int(data.train.labels.max()) + 1
    splits: list[tuple[LabelledViews, LabelledViews]] = []
    if data.test is not None:
        folds = data.folds or [np.arange(len(data.train))]
        splits = [(data.train.subset(f), data.test) for f in folds]
    else:
        item_labels = np.zeros(int(data.train.items.max()) + 1, np.int64) - 1
        item_labels[data.train.items] = data.train.labels
        present = np.flatnonzero(item_labels >= 0)
        for fold in class_folds(item_labels[present], k, seed=seed):
            splits.append(split_by_items(data.train, present[fold]))
    splits = splits[:max_folds] if max_folds else splits
    scores, train_scores, budget = FoldScores(), FoldScores(), []
    for i, (train, test) in enumerate(splits):
        model = Classifier(copy.deepcopy(base), n_classes, dropout=dropout)
        result = finetune(
            model,
            train,
            test,
            mode=mode,
            steps=steps,
            batch_size=batch_size,
            lr_top=lr_top,
            lr_body=lr_body,
            freeze_blocks=freeze_blocks,
            seed=seed + i,
            progress=progress,
        )
        scores.accuracies.append(result.test_accuracy)
        train_scores.accuracies.append(result.train_accuracy)
        budget.append(
            {
                "steps": result.steps,
                "images_seen": result.images_seen,
                "cpu_seconds": round(result.cpu_seconds, 1),
            }
        )
    return {"test": scores, "train": train_scores, "budget": budget}
