"""CIFAR-10 and CIFAR-100 from the official "python version" archives.

The archives (https://www.cs.toronto.edu/~kriz/cifar.html) unpack to

* ``cifar-10-batches-py/``: ``data_batch_1`` ... ``data_batch_5`` (train, 10000 images
  each), ``test_batch`` and ``batches.meta`` (``label_names``);
* ``cifar-100-python/``: ``train`` (50000), ``test`` (10000) and ``meta``
  (``fine_label_names``, ``coarse_label_names``).

Every file is a Python 2 pickle of a dict: ``data`` is a uint8 ``(N, 3072)`` array, each row
one 32x32 image stored channel by channel (1024 red, 1024 green, 1024 blue values, rows in
order), and ``labels`` (CIFAR-10) or ``fine_labels``/``coarse_labels`` (CIFAR-100) are lists
of ints. Python 2 strings load as ``str`` with ``encoding="latin1"`` (used here, as numpy
needs for arrays) but files written by Python 3 with ``bytes`` keys load as ``bytes``: both
are accepted. The pickles are read with an unpickler that only resolves the few numpy names
an array needs, so a tampered file cannot run code.

Corrupt, truncated or missing batch files raise :class:`~tinct.data.base.DatasetError`
naming the file; with ``strict=False`` that whole batch is skipped with a warning and
recorded in :attr:`~tinct.data.base.ColourDataset.skipped`.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from tinct.data.base import ColourDataset, DatasetError, RawItem, Transform, select_classes
from tinct.data.download import Resource, ensure_dataset
from tinct.io.resize import resize

__all__ = [
    "CIFAR10",
    "CIFAR10_RESOURCE",
    "CIFAR100",
    "CIFAR100_RESOURCE",
    "load_cifar_pickle",
    "random_crops_32",
    "write_cifar10_format",
]

log = logging.getLogger(__name__)

CIFAR10_RESOURCE = Resource(
    url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    filename="cifar-10-python.tar.gz",
    md5="c58f30108f718f92721af3b95e74349a",
    size=170_498_071,
)
CIFAR100_RESOURCE = Resource(
    url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    filename="cifar-100-python.tar.gz",
    md5="eb9058c3a382ffc7106e4002c42a8d85",
    size=169_001_437,
)

_SIDE = 32
_ROW = 3 * _SIDE * _SIDE

# The globals a pickled numpy array refers to (Python 2 and 3 spellings) and the one a
# Python 3 pickle of ``bytes`` at protocol 2 uses. Nothing else may be resolved.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _ForbiddenGlobal(pickle.UnpicklingError):
    pass


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise _ForbiddenGlobal(
                f"not a CIFAR pickle: it refers to {module}.{name} (refused; only numpy "
                "arrays are loaded)"
            )
        return super().find_class(module, name)


def load_cifar_pickle(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load one CIFAR pickle as a dict with ``str`` keys.

    Raises:
        DatasetError: naming ``path``, if it is missing, truncated or not a CIFAR pickle.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(path, "file is missing")
    try:
        with path.open("rb") as f:
            obj = _SafeUnpickler(f, encoding="latin1").load()
    except _ForbiddenGlobal as err:
        raise DatasetError(path, str(err)) from err
    except Exception as err:  # pickle raises almost anything on a damaged stream
        raise DatasetError(
            path, f"corrupt or truncated pickle ({type(err).__name__}: {err})"
        ) from err
    if not isinstance(obj, dict):
        raise DatasetError(path, f"holds a {type(obj).__name__}, expected a dict")
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in obj.items()}


def _names(value: Any, path: Path, key: str) -> list[str]:
    if not isinstance(value, list | tuple) or not value:
        raise DatasetError(path, f"{key!r} is not a list of class names")
    return [v.decode("latin1") if isinstance(v, bytes) else str(v) for v in value]


class _CIFAR(ColourDataset):
    """Shared loader of the two CIFAR variants (see :class:`CIFAR10`)."""

    name: ClassVar[str]
    base_folder: ClassVar[str]
    meta_file: ClassVar[str]
    split_files: ClassVar[dict[str, tuple[str, ...]]]

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        *,
        download: bool = False,
        classes: Sequence[str | int] | None = None,
        space: str = "lab",
        transform: Transform | None = None,
        guidance: Sequence[str] = (),
        strict: bool = True,
        progress: bool = True,
    ) -> None:
        super().__init__(space=space, transform=transform, guidance=guidance, strict=strict)
        if split not in self.split_files:
            raise ValueError(f"split must be one of {', '.join(self.split_files)}; not {split!r}")
        self.split = split
        root = Path(root).expanduser()
        if root.name == self.base_folder or (root / self.meta_file).is_file():
            self.folder = root
            download_root = root.parent
        else:
            self.folder = root / self.base_folder
            download_root = root
        ensure_dataset(
            self.folder,
            self._resources(),
            download_root,
            download=download,
            progress=progress,
            name=self.name,
        )
        self.classes = self._class_names(load_cifar_pickle(self.folder / self.meta_file))
        self.class_filter = select_classes(self.classes, classes)

        images: list[np.ndarray] = []
        labels: list[np.ndarray] = []
        for filename in self.split_files[split]:
            path = self.folder / filename
            try:
                batch_images, batch_labels = self._read_batch(path)
            except DatasetError as err:
                if self.strict:
                    raise
                log.warning("skipping CIFAR batch %s", err)
                self.skipped.append((err.path, err.reason))
                continue
            if self.class_filter is not None:
                keep = np.isin(batch_labels, self.class_filter)
                batch_images, batch_labels = batch_images[keep], batch_labels[keep]
            images.append(batch_images)
            labels.append(batch_labels)
        #: ``(N, 32, 32, 3)`` uint8 images, in file order (after class filtering).
        self.data: np.ndarray = (
            np.concatenate(images) if images else np.zeros((0, _SIDE, _SIDE, 3), np.uint8)
        )
        self._labels = np.concatenate(labels) if labels else np.zeros(0, np.int64)
        self.targets = self._labels.tolist()

    @classmethod
    def _resources(cls) -> list[Resource]:
        raise NotImplementedError

    def _class_names(self, meta: dict[str, Any]) -> list[str]:
        raise NotImplementedError

    def _label_key(self) -> str:
        raise NotImplementedError

    def _read_batch(self, path: Path) -> tuple[np.ndarray, np.ndarray]:
        """``(N, 32, 32, 3)`` uint8 images and ``(N,)`` int64 labels of one batch file."""
        batch = load_cifar_pickle(path)
        key = self._label_key()
        for needed in ("data", key):
            if needed not in batch:
                raise DatasetError(path, f"no {needed!r} entry (keys: {sorted(batch)})")
        data = batch["data"]
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2:
            raise DatasetError(path, "'data' is not a 2-D uint8 array")
        if data.shape[1] != _ROW:
            raise DatasetError(
                path, f"'data' rows hold {data.shape[1]} values, expected {_ROW} (3x32x32)"
            )
        try:
            labels = np.asarray(batch[key], dtype=np.int64)
        except (TypeError, ValueError) as err:
            raise DatasetError(path, f"{key!r} is not a list of integers ({err})") from err
        if labels.shape != (data.shape[0],):
            raise DatasetError(
                path, f"{labels.size} {key} for {data.shape[0]} images (they must match)"
            )
        if labels.size and (labels.min() < 0 or labels.max() >= len(self.classes)):
            raise DatasetError(
                path,
                f"{key} outside 0..{len(self.classes) - 1} (min {labels.min()}, "
                f"max {labels.max()})",
            )
        images = data.reshape(-1, 3, _SIDE, _SIDE).transpose(0, 2, 3, 1)
        return np.ascontiguousarray(images), labels

    def __len__(self) -> int:
        return len(self.data)

    def load(self, index: int) -> RawItem:
        return RawItem(rgb=self.data[index], label=int(self._labels[index]))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(root={str(self.folder)!r}, split={self.split!r}, "
            f"items={len(self)}, space={self.space!r})"
        )


class CIFAR10(_CIFAR):
    """CIFAR-10: 60000 32x32 photos of 10 classes (50000 train, 10000 test).

    Args:
        root: the folder holding ``cifar-10-batches-py`` (where it is downloaded to), or
            that folder itself.
        split: ``"train"`` or ``"test"``.
        download: download (163 MB) and unpack the archive if the folder is missing.
        classes: keep only these classes (names or indices); labels keep their original
            indices and :attr:`classes` stays the full list.
        space, transform, guidance, strict: see :class:`~tinct.data.base.ColourDataset`.
        progress: show a progress bar while downloading.

    Attributes:
        classes: the 10 class names (index = label).
        class_filter: sorted indices of the kept classes, or ``None`` for all.
        data: ``(N, 32, 32, 3)`` uint8 images.
        targets: the ``N`` labels.
    """

    name = "cifar10"
    base_folder = "cifar-10-batches-py"
    meta_file = "batches.meta"
    split_files: ClassVar[dict[str, tuple[str, ...]]] = {
        "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
        "test": ("test_batch",),
    }

    @classmethod
    def _resources(cls) -> list[Resource]:
        return [CIFAR10_RESOURCE]

    def _class_names(self, meta: dict[str, Any]) -> list[str]:
        path = self.folder / self.meta_file
        if "label_names" not in meta:
            raise DatasetError(path, "no 'label_names' entry")
        return _names(meta["label_names"], path, "label_names")

    def _label_key(self) -> str:
        return "labels"


class CIFAR100(_CIFAR):
    """CIFAR-100: 60000 32x32 photos of 100 fine classes in 20 coarse groups.

    Arguments as :class:`CIFAR10` (the folder is ``cifar-100-python``), plus:

    Args:
        label_type: ``"fine"`` (100 classes, default) or ``"coarse"`` (20 superclasses):
            which labels :attr:`targets`, :attr:`classes` and ``classes=`` refer to.
    """

    name = "cifar100"
    base_folder = "cifar-100-python"
    meta_file = "meta"
    split_files: ClassVar[dict[str, tuple[str, ...]]] = {"train": ("train",), "test": ("test",)}

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        *,
        label_type: str = "fine",
        download: bool = False,
        classes: Sequence[str | int] | None = None,
        space: str = "lab",
        transform: Transform | None = None,
        guidance: Sequence[str] = (),
        strict: bool = True,
        progress: bool = True,
    ) -> None:
        if label_type not in ("fine", "coarse"):
            raise ValueError(f"label_type must be 'fine' or 'coarse', not {label_type!r}")
        self.label_type = label_type
        super().__init__(
            root,
            split,
            download=download,
            classes=classes,
            space=space,
            transform=transform,
            guidance=guidance,
            strict=strict,
            progress=progress,
        )

    @classmethod
    def _resources(cls) -> list[Resource]:
        return [CIFAR100_RESOURCE]

    def _class_names(self, meta: dict[str, Any]) -> list[str]:
        path = self.folder / self.meta_file
        key = f"{self.label_type}_label_names"
        if key not in meta:
            raise DatasetError(path, f"no {key!r} entry")
        return _names(meta[key], path, key)

    def _label_key(self) -> str:
        return f"{self.label_type}_labels"


def write_cifar10_format(
    folder: str | os.PathLike[str],
    splits: dict[str, tuple[np.ndarray, np.ndarray]],
    classes: Sequence[str],
) -> Path:
    """Write images in CIFAR-10's on-disk format, readable by :class:`CIFAR10`.

    ``splits`` maps ``"train"`` and ``"test"`` to ``(images (N, 32, 32, 3) uint8,
    labels (N,))``; the training images are spread over the five ``data_batch_*``
    files, the test images go to ``test_batch``, the class names to ``batches.meta``.
    Returns ``folder`` (pass it, or its parent, as the dataset root).
    """
    from tinct.io import atomic_path

    missing = {"train", "test"} - set(splits)
    if missing:
        raise ValueError(f"splits needs 'train' and 'test', missing {sorted(missing)}")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)

    def dump(name: str, payload: dict[str, Any]) -> None:
        with atomic_path(out / name) as tmp, tmp.open("wb") as fh:
            pickle.dump(payload, fh, protocol=2)

    checked: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for split, (images, labels) in splits.items():
        images = np.asarray(images)
        labels = np.asarray(labels, dtype=np.int64)
        if images.dtype != np.uint8 or images.shape[1:] != (_SIDE, _SIDE, 3):
            raise ValueError(
                f"{split} images must be (N, 32, 32, 3) uint8, got {images.shape} {images.dtype}"
            )
        if labels.shape != (len(images),) or (
            labels.size and (labels.min() < 0 or labels.max() >= len(classes))
        ):
            raise ValueError(f"{split} labels must be (N,) integers in 0..{len(classes) - 1}")
        checked[split] = (images, labels)
    dump(
        "batches.meta",
        {"num_cases_per_batch": 0, "label_names": list(classes), "num_vis": _ROW},
    )
    train_images, train_labels = checked["train"]
    parts = np.array_split(np.arange(len(train_images)), 5)
    batches = [(f"data_batch_{i + 1}", idx) for i, idx in enumerate(parts)]
    test_images, test_labels = checked["test"]
    for name, images, labels in [
        *((n, train_images[i], train_labels[i]) for n, i in batches),
        ("test_batch", test_images, test_labels),
    ]:
        rows = np.ascontiguousarray(images.transpose(0, 3, 1, 2).reshape(len(images), _ROW))
        dump(
            name,
            {
                "batch_label": name,
                "labels": [int(v) for v in labels],
                "data": rows,
                "filenames": [f"{classes[v]}_{i:06d}.png" for i, v in enumerate(labels)],
            },
        )
    return out


def random_crops_32(
    dataset: ColourDataset,
    crops_per_image: int,
    *,
    scale: tuple[float, float] = (0.3, 1.0),
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """``crops_per_image`` random square crops of every raw item of a labelled dataset,
    each ``scale`` x the short side, area-resized to 32x32: ``(images, labels)`` for
    :func:`write_cifar10_format` (how tinct builds an offline stand-in for CIFAR-10
    from labelled photos)."""
    if crops_per_image < 1:
        raise ValueError(f"crops_per_image must be >= 1, got {crops_per_image}")
    rng = np.random.default_rng(seed)
    images: list[np.ndarray] = []
    labels: list[int] = []
    for index in range(len(dataset)):
        item = dataset.load(index)
        if item.label is None:
            raise ValueError(f"item {index} of {dataset!r} has no class label")
        h, w = item.rgb.shape[:2]
        short = min(h, w)
        for _ in range(crops_per_image):
            side = max(1, round(short * rng.uniform(*scale)))
            top = int(rng.integers(0, h - side + 1))
            left = int(rng.integers(0, w - side + 1))
            crop = np.ascontiguousarray(item.rgb[top : top + side, left : left + side])
            images.append(resize(crop, _SIDE, _SIDE, shrink="box", enlarge="box"))
            labels.append(int(item.label))
    return np.stack(images).astype(np.uint8), np.asarray(labels, dtype=np.int64)
