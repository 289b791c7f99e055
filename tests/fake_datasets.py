"""Miniature datasets written in exactly the on-disk formats of the real ones.

* :func:`write_cifar10` / :func:`write_cifar100`: ``cifar-10-batches-py`` / ``cifar-100-python``
  folders of Python-2-style protocol-2 pickles (byte-string keys and values written as
  Python 2 ``str`` opcodes, numpy arrays referring to ``numpy.core.multiarray``), with the
  real entries (``batch_label``, ``labels`` or ``fine_labels``/``coarse_labels``, ``data``,
  ``filenames``; ``batches.meta``/``meta`` with the real class names).
* :func:`write_stl10`: ``stl10_binary`` with column-major ``*_X.bin``, 1-based ``*_y.bin``,
  ``class_names.txt`` and ``fold_indices.txt``.
* :func:`write_voc`: ``VOCdevkit/VOC2012`` with JPEG photos, palette PNG masks (standard VOC
  colour map, 255-valued void borders around objects) and the segmentation image lists.

Each writer returns what it wrote, so tests can compare loaded items with the truth.
"""

from __future__ import annotations

import io
import pickle
import struct
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from numpy._core import multiarray as _multiarray
from PIL import Image, ImageDraw

from helpers import synthetic_photo

CIFAR10_CLASSES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]
CIFAR100_FINE = [
    "apple",
    "aquarium_fish",
    "baby",
    "bear",
    "beaver",
    "bed",
    "bee",
    "beetle",
    "bicycle",
    "bottle",
    "bowl",
    "boy",
    "bridge",
    "bus",
    "butterfly",
    "camel",
    "can",
    "castle",
    "caterpillar",
    "cattle",
    "chair",
    "chimpanzee",
    "clock",
    "cloud",
    "cockroach",
    "couch",
    "crab",
    "crocodile",
    "cup",
    "dinosaur",
    "dolphin",
    "elephant",
    "flatfish",
    "forest",
    "fox",
    "girl",
    "hamster",
    "house",
    "kangaroo",
    "keyboard",
    "lamp",
    "lawn_mower",
    "leopard",
    "lion",
    "lizard",
    "lobster",
    "man",
    "maple_tree",
    "motorcycle",
    "mountain",
    "mouse",
    "mushroom",
    "oak_tree",
    "orange",
    "orchid",
    "otter",
    "palm_tree",
    "pear",
    "pickup_truck",
    "pine_tree",
    "plain",
    "plate",
    "poppy",
    "porcupine",
    "possum",
    "rabbit",
    "raccoon",
    "ray",
    "road",
    "rocket",
    "rose",
    "sea",
    "seal",
    "shark",
    "shrew",
    "skunk",
    "skyscraper",
    "snail",
    "snake",
    "spider",
    "squirrel",
    "streetcar",
    "sunflower",
    "sweet_pepper",
    "table",
    "tank",
    "telephone",
    "television",
    "tiger",
    "tractor",
    "train",
    "trout",
    "tulip",
    "turtle",
    "wardrobe",
    "whale",
    "willow_tree",
    "wolf",
    "woman",
    "worm",
]
CIFAR100_COARSE = [
    "aquatic_mammals",
    "fish",
    "flowers",
    "food_containers",
    "fruit_and_vegetables",
    "household_electrical_devices",
    "household_furniture",
    "insects",
    "large_carnivores",
    "large_man-made_outdoor_things",
    "large_natural_outdoor_scenes",
    "large_omnivores_and_herbivores",
    "medium_mammals",
    "non-insect_invertebrates",
    "people",
    "reptiles",
    "small_mammals",
    "trees",
    "vehicles_1",
    "vehicles_2",
]
assert len(CIFAR100_FINE) == 100 and len(CIFAR100_COARSE) == 20
STL10_CLASSES = [
    "airplane",
    "bird",
    "car",
    "cat",
    "deer",
    "dog",
    "horse",
    "monkey",
    "ship",
    "truck",
]


# -- Python 2 pickles -----------------------------------------------------------------------


# The pure-Python pickler, whose per-type ``dispatch`` table can be extended.
_PurePickler: Any = getattr(pickle, "_Pickler")  # noqa: B009 -- private, not in typeshed


class _Py2Pickler(_PurePickler):
    """Writes ``bytes`` as Python 2 ``str`` (BINSTRING opcodes) and numpy arrays with the
    ``numpy.core.multiarray`` name, like the cPickle files of the CIFAR archives."""

    dispatch: ClassVar[dict[type, Any]] = dict(_PurePickler.dispatch)

    def save_py2_str(self, obj: bytes) -> None:
        n = len(obj)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str

    def save_global(self, obj: Any, name: str | None = None) -> None:
        if obj is _multiarray._reconstruct:
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
            return
        super().save_global(obj, name)


def _to_bytes(obj: Any) -> Any:
    """str -> bytes throughout dicts and lists (Python 2 ``str`` everywhere, as in CIFAR)."""
    if isinstance(obj, str):
        return obj.encode("latin1")
    if isinstance(obj, dict):
        return {_to_bytes(k): _to_bytes(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_bytes(v) for v in obj]
    return obj


def write_py2_pickle(path: Path, obj: dict[str, Any], *, py2: bool = True) -> None:
    """Pickle ``obj`` at protocol 2 with byte-string keys and strings.

    ``py2=True`` writes them as Python 2 ``str`` (what the real files hold: they load as
    ``str`` with ``encoding="latin1"``, as ``bytes`` with ``encoding="bytes"``);
    ``py2=False`` as Python 3 ``bytes`` (they always load as ``bytes``).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    data = _to_bytes(obj)
    buf = io.BytesIO()
    if py2:
        _Py2Pickler(buf, protocol=2).dump(data)
    else:
        pickle.dump(data, buf, protocol=2)
    path.write_bytes(buf.getvalue())


# -- CIFAR ----------------------------------------------------------------------------------


@dataclass
class FakeSplit:
    """Images ``(N, H, W, 3)`` uint8 as a loader should return them, and their labels."""

    images: np.ndarray
    labels: np.ndarray  # int64; fine labels for CIFAR-100
    coarse: np.ndarray | None = None  # CIFAR-100 coarse labels


@dataclass
class FakeDataset:
    folder: Path  # the dataset folder (cifar-10-batches-py, stl10_binary, VOCdevkit/VOC2012)
    classes: list[str]
    splits: dict[str, FakeSplit] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)  # name -> path of each data file


def _cifar_rows(images: np.ndarray) -> np.ndarray:
    """``(N, 32, 32, 3)`` -> ``(N, 3072)`` channel-planar rows, as stored."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2).reshape(len(images), -1))


def write_cifar10(
    root: Path, n_per_batch: int = 3, *, n_test: int | None = None, seed: int = 0, py2: bool = True
) -> FakeDataset:
    """``root/cifar-10-batches-py`` with 5 training batches of ``n_per_batch`` images and a
    test batch of ``n_test`` (default ``n_per_batch``)."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    fake = FakeDataset(folder, list(CIFAR10_CLASSES))
    n_test = n_per_batch if n_test is None else n_test
    write_py2_pickle(
        folder / "batches.meta",
        {"num_cases_per_batch": n_per_batch, "label_names": CIFAR10_CLASSES, "num_vis": 3072},
        py2=py2,
    )
    batches = [(f"data_batch_{i}", f"training batch {i} of 5", n_per_batch) for i in range(1, 6)]
    batches.append(("test_batch", "testing batch 1 of 1", n_test))
    train_images, train_labels = [], []
    for name, batch_label, n in batches:
        images = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n).astype(np.int64)
        write_py2_pickle(
            folder / name,
            {
                "batch_label": batch_label,
                "labels": [int(v) for v in labels],
                "data": _cifar_rows(images),
                "filenames": [
                    f"{CIFAR10_CLASSES[v]}_s_{rng.integers(1_000_000):06d}.png" for v in labels
                ],
            },
            py2=py2,
        )
        fake.files[name] = folder / name
        if name == "test_batch":
            fake.splits["test"] = FakeSplit(images, labels)
        else:
            train_images.append(images)
            train_labels.append(labels)
    fake.splits["train"] = FakeSplit(np.concatenate(train_images), np.concatenate(train_labels))
    fake.files["batches.meta"] = folder / "batches.meta"
    return fake


#: Fine class -> coarse class of the fake CIFAR-100 (consistent, not the real grouping).
FAKE_FINE_TO_COARSE = np.arange(100) % 20


def write_cifar100(
    root: Path, n_train: int = 8, n_test: int = 4, *, seed: int = 0, py2: bool = True
) -> FakeDataset:
    """``root/cifar-100-python`` with ``train``, ``test`` and ``meta``."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-100-python"
    fake = FakeDataset(folder, list(CIFAR100_FINE))
    write_py2_pickle(
        folder / "meta",
        {"fine_label_names": CIFAR100_FINE, "coarse_label_names": CIFAR100_COARSE},
        py2=py2,
    )
    for name, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
        fine = rng.integers(0, 100, size=n).astype(np.int64)
        coarse = FAKE_FINE_TO_COARSE[fine].astype(np.int64)
        write_py2_pickle(
            folder / name,
            {
                "filenames": [f"{CIFAR100_FINE[v]}_s_{i:06d}.png" for i, v in enumerate(fine)],
                "batch_label": f"{'training' if name == 'train' else 'testing'} batch 1 of 1",
                "fine_labels": [int(v) for v in fine],
                "coarse_labels": [int(v) for v in coarse],
                "data": _cifar_rows(images),
            },
            py2=py2,
        )
        fake.splits[name] = FakeSplit(images, fine, coarse)
        fake.files[name] = folder / name
    fake.files["meta"] = folder / "meta"
    return fake


# -- STL-10 ---------------------------------------------------------------------------------


def _stl_bytes(images: np.ndarray) -> bytes:
    """``(N, 96, 96, 3)`` -> the ``*_X.bin`` layout: per image, per channel, column-major."""
    return np.ascontiguousarray(images.transpose(0, 3, 2, 1)).tobytes()


def write_stl10(
    root: Path,
    n_train: int = 10,
    n_test: int = 4,
    n_unlabeled: int = 6,
    *,
    n_folds: int = 10,
    fold_size: int | None = None,
    seed: int = 0,
) -> FakeDataset:
    """``root/stl10_binary`` with the 7 files of the real archive.

    ``fold_indices.txt`` has ``n_folds`` lines of ``fold_size`` (default ``n_train // 2``)
    distinct 0-based training indices each; they are returned in ``fake.splits`` as
    ``fold<k>`` (the images and labels of that fold).
    """
    rng = np.random.default_rng(seed)
    folder = root / "stl10_binary"
    folder.mkdir(parents=True, exist_ok=True)
    fake = FakeDataset(folder, list(STL10_CLASSES))
    (folder / "class_names.txt").write_text("".join(f"{c}\n" for c in STL10_CLASSES))
    for name, n, labelled in (
        ("train", n_train, True),
        ("test", n_test, True),
        ("unlabeled", n_unlabeled, False),
    ):
        images = rng.integers(0, 256, size=(n, 96, 96, 3), dtype=np.uint8)
        (folder / f"{name}_X.bin").write_bytes(_stl_bytes(images))
        fake.files[f"{name}_X.bin"] = folder / f"{name}_X.bin"
        labels = rng.integers(0, 10, size=n).astype(np.int64)
        if labelled:
            (folder / f"{name}_y.bin").write_bytes((labels + 1).astype(np.uint8).tobytes())
            fake.files[f"{name}_y.bin"] = folder / f"{name}_y.bin"
        fake.splits[name] = FakeSplit(images, labels if labelled else np.full(n, -1))
    size = n_train // 2 if fold_size is None else fold_size
    lines = []
    train = fake.splits["train"]
    for k in range(n_folds):
        fold = rng.choice(n_train, size=size, replace=False).astype(np.int64)
        lines.append(" ".join(str(int(i)) for i in fold) + " \n")
        fake.splits[f"fold{k}"] = FakeSplit(train.images[fold], train.labels[fold])
    (folder / "fold_indices.txt").write_text("".join(lines))
    fake.files["fold_indices.txt"] = folder / "fold_indices.txt"
    fake.files["class_names.txt"] = folder / "class_names.txt"
    return fake


# -- PASCAL VOC -----------------------------------------------------------------------------


def voc_colour_map() -> np.ndarray:
    """The standard VOC palette, ``(256, 3)`` uint8 (written independently of tinct's)."""
    cmap = np.zeros((256, 3), dtype=np.uint8)
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        cmap[i] = (r, g, b)
    return cmap


@dataclass
class FakeVOC:
    folder: Path  # VOCdevkit/VOC2012
    ids: list[str]
    splits: dict[str, list[str]]
    images: dict[str, np.ndarray]  # id -> (H, W, 3) uint8 as Pillow decodes the JPEG
    masks: dict[str, np.ndarray]  # id -> (H, W) uint8 class indices, 255 = void


def _voc_mask(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Background with 1-3 objects of random classes, each outlined by a 255 void border."""
    im = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(im)
    for _ in range(int(rng.integers(1, 4))):
        cls = int(rng.integers(1, 21))
        x0, y0 = int(rng.integers(0, width // 2)), int(rng.integers(0, height // 2))
        x1 = min(width - 1, x0 + int(rng.integers(8, width // 2 + 8)))
        y1 = min(height - 1, y0 + int(rng.integers(8, height // 2 + 8)))
        box = (x0, y0, x1, y1)
        if rng.random() < 0.5:
            draw.ellipse(box, fill=cls, outline=255, width=2)
        else:
            draw.rectangle(box, fill=cls, outline=255, width=2)
    return np.asarray(im).copy()


def write_voc(
    root: Path, n: int = 6, *, seed: int = 0, sizes: tuple[tuple[int, int], ...] | None = None
) -> FakeVOC:
    """``root/VOCdevkit/VOC2012`` with ``n`` photos (ids ``2007_000000``...), their masks and
    ``ImageSets/Segmentation/{train,val,trainval}.txt`` (first half train, rest val).

    ``sizes`` are the ``(height, width)`` of the images in turn (default: a few small
    landscape and portrait sizes, like VOC's mix).
    """
    rng = np.random.default_rng(seed)
    folder = root / "VOCdevkit" / "VOC2012"
    for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation", "Annotations"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    sizes = sizes or ((36, 48), (48, 36), (40, 52))
    palette = voc_colour_map().reshape(-1).tobytes()
    ids = [f"2007_{i:06d}" for i in range(n)]
    images: dict[str, np.ndarray] = {}
    masks: dict[str, np.ndarray] = {}
    for i, image_id in enumerate(ids):
        height, width = sizes[i % len(sizes)]
        jpeg = folder / "JPEGImages" / f"{image_id}.jpg"
        Image.fromarray(synthetic_photo(height, width, seed=seed * 1000 + i)).save(jpeg, quality=90)
        with Image.open(jpeg) as im:
            images[image_id] = np.asarray(im.convert("RGB")).copy()
        mask = _voc_mask(height, width, rng)
        png = Image.frombytes("P", (width, height), mask.tobytes())
        png.putpalette(palette)
        png.save(folder / "SegmentationClass" / f"{image_id}.png")
        masks[image_id] = mask
    half = max(1, n // 2)
    splits = {"train": ids[:half], "val": ids[half:], "trainval": ids}
    for name, members in splits.items():
        (folder / "ImageSets" / "Segmentation" / f"{name}.txt").write_text(
            "".join(f"{m}\n" for m in members)
        )
    return FakeVOC(folder, ids, splits, images, masks)


# -- archives -------------------------------------------------------------------------------


def tar_gz_bytes(folder: Path) -> bytes:
    """``folder`` packed as a .tar.gz whose single top-level entry is ``folder.name``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        tf.add(folder, arcname=folder.name)
    return buf.getvalue()
