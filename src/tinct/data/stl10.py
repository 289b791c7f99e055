"""STL-10 from the official binary archive, memory-mapped.

The archive (https://cs.stanford.edu/~acoates/stl10/) unpacks to ``stl10_binary/``:

* ``train_X.bin`` (5000 images), ``test_X.bin`` (8000), ``unlabeled_X.bin`` (100000, 2.7 GB):
  raw uint8, 27648 bytes per image: the 3 colour channels one after the other, each
  96x96 channel stored **column by column** (Matlab order);
* ``train_y.bin``, ``test_y.bin``: one uint8 label per image, 1..10;
* ``class_names.txt``: the 10 class names, one a line;
* ``fold_indices.txt``: 10 lines of space-separated 0-based indices into the training
  images, the 10 predefined training folds of 1000 images (see :func:`read_folds`).

Image files are opened with :func:`numpy.memmap` (lazily, once per process: a pickled
dataset sent to a ``DataLoader`` worker re-opens its maps), so the unlabelled set is never
read as a whole; only the items asked for are paged in.

Labels: ``RawItem.label`` / ``Sample.label`` is the 0-based class of a labelled image and
``None`` for an unlabelled one. :attr:`STL10.targets` is ``None`` for ``"unlabeled"``; for
``"train+unlabeled"`` it lists the training labels followed by ``-1`` for each unlabelled
image (positions stay aligned with the dataset; :meth:`STL10.class_counts` ignores them).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinct.data.base import ColourDataset, DatasetError, RawItem, Transform
from tinct.data.download import Resource, ensure_dataset

__all__ = ["IMAGE_BYTES", "SPLITS", "STL10", "STL10_RESOURCE", "UNLABELED", "read_folds"]

log = logging.getLogger(__name__)

STL10_RESOURCE = Resource(
    url="http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz",
    filename="stl10_binary.tar.gz",
    md5="91f7769df0f17e558f3565bffb0c7dfb",
    size=2_640_397_119,
)

BASE_FOLDER = "stl10_binary"
SIDE = 96
#: Bytes of one image in an ``*_X.bin`` file (3 x 96 x 96).
IMAGE_BYTES = 3 * SIDE * SIDE
#: Value of :attr:`STL10.targets` for unlabelled images in ``"train+unlabeled"``.
UNLABELED = -1
SPLITS = ("train", "test", "unlabeled", "train+unlabeled")

_PARTS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "train": (("train_X.bin", "train_y.bin"),),
    "test": (("test_X.bin", "test_y.bin"),),
    "unlabeled": (("unlabeled_X.bin", None),),
    "train+unlabeled": (("train_X.bin", "train_y.bin"), ("unlabeled_X.bin", None)),
}


def read_folds(path: str | os.PathLike[str]) -> list[np.ndarray]:
    """The training folds of ``fold_indices.txt``: one int64 array of 0-based indices a line.

    Blank lines are ignored. Raises :class:`DatasetError` naming the file if it is missing
    or holds anything but non-negative integers.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError as err:
        raise DatasetError(path, "file is missing") from err
    except (OSError, UnicodeDecodeError) as err:
        raise DatasetError(path, f"cannot be read ({err})") from err
    folds = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        tokens = line.split()
        if not tokens:
            continue
        if not all(t.isdigit() for t in tokens):
            bad = next(t for t in tokens if not t.isdigit())
            raise DatasetError(path, f"line {lineno}: {bad!r} is not a 0-based image index")
        folds.append(np.array([int(t) for t in tokens], dtype=np.int64))
    if not folds:
        raise DatasetError(path, "holds no folds")
    return folds


@dataclass
class _Part:
    """One image file of the split: which rows of it are used, and their labels."""

    x_path: Path
    count: int  # images in the file
    rows: np.ndarray  # int64 rows of the file used, in order
    labels: np.ndarray | None  # int64 0-based labels of all `count` images, or None


class STL10(ColourDataset):
    """STL-10: 96x96 photos of 10 classes; 5000 train, 8000 test, 100000 unlabelled.

    Args:
        root: the folder holding ``stl10_binary`` (where it is downloaded to), or that
            folder itself.
        split: ``"train"``, ``"test"``, ``"unlabeled"`` or ``"train+unlabeled"``.
        folds: for ``"train"`` and ``"train+unlabeled"``, keep only the training images of
            predefined fold ``folds`` (0-9, a line of ``fold_indices.txt``).
        download: download (2.6 GB) and unpack the archive if the folder is missing.
        space, transform, guidance, strict: see :class:`~tinct.data.base.ColourDataset`.
            With ``strict=False`` an image/label file pair that is missing or malformed is
            skipped as a whole (logged, listed in :attr:`skipped`).
        progress: show a progress bar while downloading.

    Attributes:
        classes: the 10 class names (index = label).
        targets: the labels (see the module documentation for unlabelled images).
        folds: the selected fold, or ``None``.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        *,
        folds: int | None = None,
        download: bool = False,
        space: str = "lab",
        transform: Transform | None = None,
        guidance: Sequence[str] = (),
        strict: bool = True,
        progress: bool = True,
    ) -> None:
        super().__init__(space=space, transform=transform, guidance=guidance, strict=strict)
        if split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}; not {split!r}")
        if folds is not None and split not in ("train", "train+unlabeled"):
            raise ValueError(f"folds select training images: not available for split {split!r}")
        self.split = split
        self.folds = folds
        root = Path(root).expanduser()
        if root.name == BASE_FOLDER or (root / "class_names.txt").is_file():
            self.folder = root
            download_root = root.parent
        else:
            self.folder = root / BASE_FOLDER
            download_root = root
        ensure_dataset(
            self.folder,
            [STL10_RESOURCE],
            download_root,
            download=download,
            progress=progress,
            name="stl10",
        )
        self.classes = self._read_class_names(self.folder / "class_names.txt")

        self._parts: list[_Part] = []
        for x_name, y_name in _PARTS[split]:
            try:
                part = self._open_part(x_name, y_name)
            except DatasetError as err:
                if self.strict:
                    raise
                log.warning("skipping STL-10 file %s", err)
                self.skipped.append((err.path, err.reason))
                continue
            self._parts.append(part)
        self._ends = np.cumsum([len(p.rows) for p in self._parts], dtype=np.int64)
        self._maps: list[np.ndarray] | None = None

        if split == "unlabeled":
            self.targets = None
        else:
            targets: list[int] = []
            for part in self._parts:
                if part.labels is None:
                    targets.extend([UNLABELED] * len(part.rows))
                else:
                    targets.extend(int(v) for v in part.labels[part.rows])
            self.targets = targets

    # -- files ------------------------------------------------------------------------

    @staticmethod
    def _read_class_names(path: Path) -> list[str]:
        try:
            names = [s.strip() for s in path.read_text(encoding="utf-8").splitlines()]
        except FileNotFoundError as err:
            raise DatasetError(path, "file is missing") from err
        except (OSError, UnicodeDecodeError) as err:
            raise DatasetError(path, f"cannot be read ({err})") from err
        names = [n for n in names if n]
        if not names:
            raise DatasetError(path, "holds no class names")
        return names

    def _open_part(self, x_name: str, y_name: str | None) -> _Part:
        x_path = self.folder / x_name
        if not x_path.is_file():
            raise DatasetError(x_path, "file is missing")
        size = x_path.stat().st_size
        if size % IMAGE_BYTES:
            raise DatasetError(
                x_path,
                f"size {size} bytes is not a multiple of {IMAGE_BYTES} (one 3x96x96 image): "
                "the file is truncated or not an STL-10 image file",
            )
        count = size // IMAGE_BYTES
        labels = None
        if y_name is not None:
            y_path = self.folder / y_name
            if not y_path.is_file():
                raise DatasetError(y_path, "file is missing")
            raw = np.fromfile(y_path, dtype=np.uint8)
            if raw.size != count:
                raise DatasetError(
                    y_path, f"holds {raw.size} labels for {count} images in {x_name}"
                )
            if raw.size and (raw.min() < 1 or raw.max() > len(self.classes)):
                raise DatasetError(
                    y_path,
                    f"labels must be 1..{len(self.classes)}, found {raw.min()}..{raw.max()}",
                )
            labels = raw.astype(np.int64) - 1
        rows = np.arange(count, dtype=np.int64)
        if labels is not None and self.folds is not None:
            fold_path = self.folder / "fold_indices.txt"
            all_folds = read_folds(fold_path)
            if not 0 <= self.folds < len(all_folds):
                raise ValueError(
                    f"folds must be in 0..{len(all_folds) - 1} ({fold_path} has "
                    f"{len(all_folds)} folds), not {self.folds}"
                )
            rows = all_folds[self.folds]
            if rows.size and rows.max() >= count:
                raise DatasetError(
                    fold_path,
                    f"fold {self.folds} refers to image {rows.max()}, but {x_name} holds {count}",
                )
        return _Part(x_path, count, rows, labels)

    @property
    def arrays(self) -> list[np.ndarray]:
        """The memory-mapped image files of the split, ``(N, 3, 96, 96)`` uint8 as stored
        (each channel transposed: ``[n, c, column, row]``)."""
        if self._maps is None:
            maps: list[np.ndarray] = []
            for part in self._parts:
                shape = (part.count, 3, SIDE, SIDE)
                if part.count == 0:
                    maps.append(np.zeros(shape, dtype=np.uint8))
                else:
                    maps.append(np.memmap(part.x_path, dtype=np.uint8, mode="r", shape=shape))
            self._maps = maps
        return self._maps

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_maps"] = None  # re-opened on first use; never pickle the mapped data
        return state

    # -- items ------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self._ends[-1]) if len(self._ends) else 0

    def _locate(self, index: int) -> tuple[int, int]:
        p = int(np.searchsorted(self._ends, index, side="right"))
        start = int(self._ends[p - 1]) if p else 0
        return p, int(self._parts[p].rows[index - start])

    def load(self, index: int) -> RawItem:
        p, row = self._locate(index)
        part = self._parts[p]
        stored = self.arrays[p][row]  # (3, column, row)
        rgb = np.array(stored.transpose(2, 1, 0))  # (H, W, 3), a copy out of the map
        label = None if part.labels is None else int(part.labels[row])
        return RawItem(rgb=rgb, label=label, path=part.x_path)

    def class_counts(self) -> dict[str, int]:
        """Labelled items per class name (unlabelled images are not counted)."""
        if not self.targets or not self.classes:
            return {}
        t = np.asarray(self.targets)
        counts = np.bincount(t[t >= 0], minlength=len(self.classes))
        return {name: int(c) for name, c in zip(self.classes, counts, strict=False)}

    def __repr__(self) -> str:
        folds = "" if self.folds is None else f", folds={self.folds}"
        return (
            f"STL10(root={str(self.folder)!r}, split={self.split!r}{folds}, items={len(self)}, "
            f"space={self.space!r})"
        )
