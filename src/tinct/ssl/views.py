"""Labelled images for the downstream evaluations, and the folds they are split into.

:func:`labelled_views` turns any labelled dataset (STL-10, CIFAR, the labelled corpus, a
class folder) into square uint8 images of one size with their labels and the item each
came from; :func:`class_folds` deals items into stratified folds (whole items, so crops of
one photo never sit on both sides of a split); :func:`stl10_folds` reads STL-10's ten
predefined training folds of 1000 labels (seed 000 section 3.4.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from tinct.data.base import ColourDataset
from tinct.data.stl10 import STL10, read_folds

__all__ = ["LabelledViews", "class_folds", "labelled_views", "stl10_folds"]


@dataclass
class LabelledViews:
    """``images`` ``(N, 3, S, S)`` uint8, ``labels`` ``(N,)``, ``items`` ``(N,)`` (which
    dataset item each image was cut from), ``classes`` (index = label)."""

    images: np.ndarray
    labels: np.ndarray
    items: np.ndarray
    classes: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray) -> LabelledViews:
        return LabelledViews(
            self.images[index], self.labels[index], self.items[index], self.classes
        )

    def of_items(self, items: np.ndarray) -> LabelledViews:
        """The images cut from the given items."""
        return self.subset(np.flatnonzero(np.isin(self.items, items)))


def _square(
    rgb: np.ndarray, size: int, rng: np.random.Generator, scale: tuple[float, float]
) -> np.ndarray:
    h, w = rgb.shape[:2]
    short = min(h, w)
    if scale == (1.0, 1.0):
        side, top, left = short, (h - short) // 2, (w - short) // 2
    else:
        side = max(1, round(short * rng.uniform(*scale)))
        top = int(rng.integers(0, h - side + 1))
        left = int(rng.integers(0, w - side + 1))
    crop = torch.from_numpy(np.array(rgb[top : top + side, left : left + side], copy=True))
    x = crop.permute(2, 0, 1)[None].float()
    if side != size:
        x = F.interpolate(
            x, size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
    return x[0].round().clamp(0, 255).to(torch.uint8).numpy()


def labelled_views(
    dataset: ColourDataset,
    *,
    size: int,
    crops_per_item: int = 1,
    scale: tuple[float, float] = (1.0, 1.0),
    seed: int = 0,
    progress: bool = False,
) -> LabelledViews:
    """Square views of every item of a labelled dataset: with ``scale`` (1, 1) the centre
    square of the short side, otherwise ``crops_per_item`` random squares of ``scale`` x
    the short side; each resized to ``size`` (antialiased). Deterministic for ``seed``."""
    if crops_per_item < 1:
        raise ValueError(f"crops_per_item must be >= 1, got {crops_per_item}")
    if not 0 < scale[0] <= scale[1] <= 1:
        raise ValueError(f"scale must satisfy 0 < low <= high <= 1, got {scale}")
    rng = np.random.default_rng(seed)
    n_crops = 1 if scale == (1.0, 1.0) else crops_per_item
    images, labels, items = [], [], []
    for index in tqdm(range(len(dataset)), desc="cutting views", unit="img", disable=not progress):
        item = dataset.load(index)
        if item.label is None:
            raise ValueError(f"item {index} of {dataset!r} has no class label")
        for _ in range(n_crops):
            images.append(_square(item.rgb, size, rng, scale))
            labels.append(int(item.label))
            items.append(index)
    if not images:
        raise ValueError(f"{dataset!r} has no items")
    return LabelledViews(
        np.stack(images),
        np.asarray(labels, np.int64),
        np.asarray(items, np.int64),
        list(getattr(dataset, "classes", []) or []),
    )


def class_folds(labels: Sequence[int] | np.ndarray, k: int, *, seed: int = 0) -> list[np.ndarray]:
    """Item indices dealt into ``k`` folds class by class (stratified), after a seeded
    shuffle; every item is in exactly one fold."""
    labels = np.asarray(labels)
    if k < 2 or k > len(labels):
        raise ValueError(f"need 2 <= k <= {len(labels)} folds, got {k}")
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    offset = 0
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        for j, item in enumerate(members):
            folds[(offset + j) % k].append(int(item))
        offset += len(members)  # the next class starts where this one stopped
    return [np.sort(np.asarray(f, np.int64)) for f in folds]


def stl10_folds(dataset: STL10 | str | Path) -> list[np.ndarray]:
    """STL-10's ten predefined folds of 1000 training images (indices into ``train``)."""
    folder = dataset.folder if isinstance(dataset, STL10) else Path(dataset)
    if not (folder / "fold_indices.txt").is_file() and (folder / "stl10_binary").is_dir():
        folder = folder / "stl10_binary"
    return read_folds(folder / "fold_indices.txt")
