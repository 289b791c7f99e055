"""Training data named by a resolved config: the train/val datasets ``tinct train`` reads.

* ``data.kind`` ``"corpus"``: the offline corpus's own train/val split (by content hash);
  ``"folder"``: every image under ``data.root``, validated on ``data.val_root`` or on a
  ``data.val_fraction`` of it split by the hash of each file's relative path
  (:func:`tinct.data.splits.split_indices`); both become random resized crops held in
  memory (:class:`~tinct.data.crops.PhotoCrops`).
* ``"dataset"``: a named dataset (:func:`tinct.data.registry.open_dataset`) with the
  seed 001 augmentations, a random resized crop and flip for training, and a resize and
  centre crop of evenly spaced items for validation.

The functions take the typed ``data`` section of a training config,
:class:`DataSection` (declared here, next to what reads it; :mod:`tinct.train.sections`
builds it from a config file and checks each value against its field's metadata).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset, Subset

from tinct.data.corpus import corpus_files
from tinct.data.crops import PhotoCrops, samples_for
from tinct.data.sample import GUIDANCE_MAPS, Sample
from tinct.data.splits import split_indices
from tinct.io import iter_image_files

__all__ = [
    "KINDS",
    "AugmentSection",
    "DataSection",
    "SampleSource",
    "build_datasets",
    "split_files",
]

#: What ``data.kind`` may be.
KINDS = ("corpus", "folder", "dataset")


def _augmentations() -> Any:
    from tinct.data.transforms import SEED001_AUGMENTATIONS

    return SEED001_AUGMENTATIONS


@dataclass
class AugmentSection:
    """``data.augment``: random resized crop ``scale``, flips, and seed 001's
    augmentations (flip, rotation, shift, brightness, zoom; section 4.1.3), applied before
    the crop ("dataset" kind only)."""

    hflip: bool = True
    scale: list[float] = field(default_factory=lambda: [0.5, 1.0])
    seed001: list[str] = field(default_factory=list, metadata={"choices": _augmentations})


@dataclass
class DataSection:
    """``data``: what to train on.

    ``kind``: "corpus" (the offline photo corpus built by ``tinct data build-corpus``;
    ``root`` = its folder), "folder" (any folder of images; ``val_root`` optional, else a
    split of ``root``) or "dataset" (a dataset of ``tinct data list`` by ``name``; ``root``
    = the data root, None for $TINCT_DATA / ~/.cache/tinct/datasets), with its splits and
    ``classes``. ``guidance``: maps to attach to every sample, computed from its crop
    (``edges``: Canny, ``saliency``: spectral residual; :mod:`tinct.data.guidance`), for
    the guided models of seed 003.
    """

    kind: str = field(default="corpus", metadata={"choices": lambda: KINDS})
    root: str | None = "corpus"
    val_root: str | None = None
    name: str | None = None
    train_split: str | None = None
    val_split: str | None = None
    classes: list[Any] | None = None
    space: str = "lab"
    image_size: int = field(default=176, metadata={"minimum": 32})
    val_size: int = field(default=256, metadata={"minimum": 32})
    cache_short_side: int | None = field(default=512, metadata={"minimum": 1})
    samples_per_epoch: int = field(default=4000, metadata={"minimum": 1})
    max_val_images: int = field(default=64, metadata={"minimum": 1})
    val_fraction: float = field(default=0.1, metadata={"minimum": 0.0})
    augment: AugmentSection = field(default_factory=AugmentSection)
    num_workers: int = field(default=1, metadata={"minimum": 0})
    guidance: list[str] = field(default_factory=list, metadata={"choices": lambda: GUIDANCE_MAPS})


#: What training reads: a sized, indexable dataset of samples.
SampleSource = Dataset[Sample | None]


def split_files(data: DataSection) -> tuple[list[Path], list[Path]]:
    """Training and validation files of a ``corpus`` or ``folder`` data section."""
    if data.root is None:
        raise ValueError(f"data.root must name the {data.kind} folder")
    root = Path(data.root).expanduser()
    if data.kind == "corpus":
        return corpus_files(root, "train"), corpus_files(root, "val")
    files = iter_image_files([root])
    if data.val_root:
        return files, iter_image_files([Path(data.val_root).expanduser()])
    # A deterministic split by the hash of each file's path: stable when files are added.
    frac = data.val_fraction
    digests = [hashlib.sha256(str(p.relative_to(root)).encode()).hexdigest() for p in files]
    parts = split_indices(len(files), (1.0 - frac, frac, 0.0), digests=digests, buckets=10_000)
    train = [files[i] for i in parts["train"]]
    val = [files[i] for i in parts["val"]]
    if not val:  # tiny folders: validate on the training photos
        val = train[: max(1, min(len(train), 4))]
    return train, val


def build_datasets(
    data: DataSection, *, progress: bool = True
) -> tuple[SampleSource, SampleSource]:
    """Training and validation datasets of a data section.

    Photos (``corpus``/``folder``) become random resized crops held in memory
    (:class:`~tinct.data.crops.PhotoCrops`); a named ``dataset`` gets the seed 001
    augmentations listed in ``augment.seed001``, then a random resized crop (and
    flip) for training, and a resize + centre crop for validation.
    """
    augment = data.augment
    if data.kind == "dataset":
        return _named_datasets(data)
    train_files, val_files = split_files(data)
    if not train_files:
        raise ValueError(f"no training images found under {data.root}")
    val_files = val_files[: data.max_val_images]
    train_set = PhotoCrops(
        train_files,
        size=data.image_size,
        train=True,
        samples_per_image=samples_for(len(train_files), data.samples_per_epoch),
        cache_short_side=data.cache_short_side,
        scale=(augment.scale[0], augment.scale[1]),
        hflip=augment.hflip,
        space=data.space,
        guidance=data.guidance,
        progress=progress,
    )
    val_set = PhotoCrops(
        val_files,
        size=data.val_size,
        train=False,
        cache_short_side=data.cache_short_side,
        space=data.space,
        guidance=data.guidance,
        progress=progress,
    )
    return train_set, val_set


def _named_datasets(data: DataSection) -> tuple[SampleSource, SampleSource]:
    from tinct.data.registry import dataset_info, open_dataset
    from tinct.data.transforms import (
        CenterCrop,
        Compose,
        RandomHorizontalFlip,
        RandomResizedCrop,
        Resize,
        seed001_augmentation,
    )

    augment = data.augment
    if data.name is None:
        raise ValueError("data.name must name a dataset when data.kind is 'dataset'")
    info = dataset_info(data.name)
    train_split = data.train_split or info.splits[0]
    val_split = data.val_split or ("val" if "val" in info.splits else "test")
    steps: list[Any] = []
    if augment.seed001:
        steps.append(seed001_augmentation(augment.seed001))
    steps.append(RandomResizedCrop(data.image_size, (augment.scale[0], augment.scale[1])))
    if augment.hflip:
        steps.append(RandomHorizontalFlip())
    size = data.val_size
    extra: dict[str, Any] = {"space": data.space, "guidance": tuple(data.guidance)}
    if data.classes is not None:
        extra["classes"] = data.classes
    train_set = open_dataset(data.name, data.root, train_split, transform=Compose(steps), **extra)
    val_full = open_dataset(
        data.name, data.root, val_split,
        transform=Compose([Resize(size), CenterCrop(size)]), **extra,
    )  # fmt: skip
    n_val = min(len(val_full), data.max_val_images)
    # Evenly spaced validation items: every class of a class-sorted set is represented.
    picks = [round(i * (len(val_full) - 1) / max(1, n_val - 1)) for i in range(n_val)]
    return train_set, Subset(val_full, sorted(set(picks)))
