"""32x32 labelled images for the colour-space grid, as uint8 arrays.

A dataset entry of a grid config names a ``kind``:

* ``cifar10`` / ``cifar100``: the official archives under ``root`` (``download: true``
  fetches them; CIFAR-100 takes ``labels: fine|coarse``). Any folder in CIFAR-10's format
  works as ``cifar10``.
* ``corpus``: the labelled photo corpus at ``root`` (10 source categories) cut into
  ``crops`` random 32x32 crops per photo (``test_crops`` for the test photos) with
  :func:`tinct.data.cifar.random_crops_32`, written once in CIFAR-10's format under the
  run folder and read back with :class:`~tinct.data.cifar.CIFAR10`.
* ``shapes``: ``train`` and ``test`` Shape Set images rendered at 32x32 (classes circle,
  square, triangle; seeds 0 and 2 as :mod:`tinct.data.registry` uses).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DATASET_KINDS", "ImageSet", "load_dataset"]

DATASET_KINDS = ("cifar10", "cifar100", "corpus", "shapes")

_KEYS: dict[str, set[str]] = {
    "cifar10": {"root", "download"},
    "cifar100": {"root", "download", "labels"},
    "corpus": {"root", "crops", "test_crops"},
    "shapes": {"train", "test"},
}


@dataclass
class ImageSet:
    """Train and test images ``(N, 32, 32, 3)`` uint8 with their labels ``(N,)``."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    classes: list[str]


def check_dataset_spec(name: str, spec: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` naming ``name`` if ``spec`` is not a dataset entry."""
    if not isinstance(spec, Mapping) or "kind" not in spec:
        raise ValueError(f"dataset {name!r} needs a 'kind' (one of {', '.join(DATASET_KINDS)})")
    kind = spec["kind"]
    if kind not in DATASET_KINDS:
        raise ValueError(f"dataset {name!r}: unknown kind {kind!r}; known: {DATASET_KINDS}")
    unknown = set(spec) - {"kind"} - _KEYS[kind]
    if unknown:
        raise ValueError(
            f"dataset {name!r}: unknown key(s) {sorted(unknown)} for {kind}; "
            f"known: {sorted(_KEYS[kind])}"
        )
    if kind != "shapes" and "root" not in spec:
        raise ValueError(f"dataset {name!r} ({kind}) needs a 'root' folder")
    for key in ("crops", "test_crops", "train", "test"):
        if key in spec and (not isinstance(spec[key], int) or spec[key] < 1):
            raise ValueError(f"dataset {name!r}: {key} must be a positive integer")


def _cifar(kind: str, spec: Mapping[str, Any]) -> ImageSet:
    from tinct.data.cifar import CIFAR10, CIFAR100

    root = Path(str(spec["root"])).expanduser()
    download = bool(spec.get("download", False))
    sets = []
    for split in ("train", "test"):
        if kind == "cifar10":
            ds: CIFAR10 | CIFAR100 = CIFAR10(root, split, download=download, progress=False)
        else:
            ds = CIFAR100(
                root,
                split,
                download=download,
                progress=False,
                label_type=str(spec.get("labels", "fine")),
            )
        sets.append((ds.data, np.asarray(ds.targets, dtype=np.int64), list(ds.classes)))
    (tri, trl, classes), (tei, tel, _) = sets
    return ImageSet(tri, trl, tei, tel, classes)


def _corpus(spec: Mapping[str, Any], work: Path) -> ImageSet:
    from tinct.data.cifar import random_crops_32, write_cifar10_format
    from tinct.data.photos import CorpusPhotos

    crops = int(spec.get("crops", 16))
    test_crops = int(spec.get("test_crops", crops))
    folder = work / f"corpus-{crops}-{test_crops}" / "cifar-10-batches-py"
    if not (folder / "test_batch").is_file():
        splits: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        classes: list[str] = []
        for split, n, seed in (("train", crops, 1), ("test", test_crops, 2)):
            photos = CorpusPhotos(Path(str(spec["root"])).expanduser(), split, labelled=True)
            classes = list(photos.classes)
            splits[split] = random_crops_32(photos, n, seed=seed)
        write_cifar10_format(folder, splits, classes)
    return _cifar("cifar10", {"root": folder})


def _shapes(spec: Mapping[str, Any]) -> ImageSet:
    from tinct.data.shapes import SHAPES, render_shapes

    arrays = []
    for seed, n in ((0, int(spec.get("train", 2000))), (2, int(spec.get("test", 500)))):
        items = [render_shapes((seed, i), 32) for i in range(n)]
        arrays.append(
            (np.stack([rgb for rgb, _, _ in items]), np.array([y for *_, y in items], np.int64))
        )
    (tri, trl), (tei, tel) = arrays
    return ImageSet(tri, trl, tei, tel, list(SHAPES))


def load_dataset(name: str, spec: Mapping[str, Any], work: Path) -> ImageSet:
    """The train and test images of the dataset entry ``spec`` (see the module doc);
    derived data (corpus crops) is written once under ``work``."""
    check_dataset_spec(name, spec)
    kind = spec["kind"]
    if kind in ("cifar10", "cifar100"):
        data = _cifar(kind, spec)
    elif kind == "corpus":
        data = _corpus(spec, work)
    else:
        data = _shapes(spec)
    if len(data.train_images) == 0 or len(data.test_images) == 0:
        raise ValueError(f"dataset {name!r} has an empty train or test split")
    return data
