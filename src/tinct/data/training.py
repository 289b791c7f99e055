"""Training data named by a resolved config: the train/val datasets ``tinct train`` reads.

* ``data.kind`` ``"corpus"``: the offline corpus's own train/val split (by content hash);
  ``"folder"``: every image under ``data.root``, validated on ``data.val_root`` or on a
  ``data.val_fraction`` of it split by the hash of each file's relative path
  (:func:`tinct.data.splits.split_indices`); both become random resized crops held in
  memory (:class:`~tinct.data.crops.PhotoCrops`).
* ``"dataset"``: a named dataset (:func:`tinct.data.registry.open_dataset`) with the
  seed 001 augmentations, a random resized crop and flip for training, and a resize and
  centre crop of evenly spaced items for validation.

The functions take the resolved config dict (:func:`tinct.train.resolve_config`) and
read only its ``data`` section.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset, Subset

from tinct.data.corpus import corpus_files
from tinct.data.crops import PhotoCrops, samples_for
from tinct.data.sample import Sample
from tinct.data.splits import split_indices
from tinct.io import iter_image_files

__all__ = ["SampleSource", "build_datasets", "split_files"]

#: What training reads: a sized, indexable dataset of samples.
SampleSource = Dataset[Sample | None]


def split_files(config: dict[str, Any]) -> tuple[list[Path], list[Path]]:
    """Training and validation files named by ``config["data"]``."""
    data = config["data"]
    root = Path(data["root"]).expanduser()
    if data["kind"] == "corpus":
        return corpus_files(root, "train"), corpus_files(root, "val")
    files = iter_image_files([root])
    if data["val_root"]:
        return files, iter_image_files([Path(data["val_root"]).expanduser()])
    # A deterministic split by the hash of each file's path: stable when files are added.
    frac = float(data["val_fraction"])
    digests = [hashlib.sha256(str(p.relative_to(root)).encode()).hexdigest() for p in files]
    parts = split_indices(len(files), (1.0 - frac, frac, 0.0), digests=digests, buckets=10_000)
    train = [files[i] for i in parts["train"]]
    val = [files[i] for i in parts["val"]]
    if not val:  # tiny folders: validate on the training photos
        val = train[: max(1, min(len(train), 4))]
    return train, val


def build_datasets(
    config: dict[str, Any], *, progress: bool = True
) -> tuple[SampleSource, SampleSource]:
    """Training and validation datasets named by ``config["data"]``.

    Photos (``corpus``/``folder``) become random resized crops held in memory
    (:class:`~tinct.data.crops.PhotoCrops`); a named ``dataset`` gets the seed 001
    augmentations listed in ``augment.seed001``, then a random resized crop (and
    flip) for training, and a resize + centre crop for validation.
    """
    data = config["data"]
    augment = data["augment"]
    if data["kind"] == "dataset":
        return _named_datasets(config)
    train_files, val_files = split_files(config)
    if not train_files:
        raise ValueError(f"no training images found under {data['root']}")
    val_files = val_files[: int(data["max_val_images"])]
    train_set = PhotoCrops(
        train_files,
        size=int(data["image_size"]),
        train=True,
        samples_per_image=samples_for(len(train_files), int(data["samples_per_epoch"])),
        cache_short_side=data["cache_short_side"],
        scale=tuple(augment["scale"]),
        hflip=bool(augment["hflip"]),
        space=data["space"],
        progress=progress,
    )
    val_set = PhotoCrops(
        val_files,
        size=int(data["val_size"]),
        train=False,
        cache_short_side=data["cache_short_side"],
        space=data["space"],
        progress=progress,
    )
    return train_set, val_set


def _named_datasets(config: dict[str, Any]) -> tuple[SampleSource, SampleSource]:
    from tinct.data.registry import dataset_info, open_dataset
    from tinct.data.transforms import (
        CenterCrop,
        Compose,
        RandomHorizontalFlip,
        RandomResizedCrop,
        Resize,
        seed001_augmentation,
    )

    data = config["data"]
    augment = data["augment"]
    info = dataset_info(data["name"])
    train_split = data["train_split"] or info.splits[0]
    val_split = data["val_split"] or ("val" if "val" in info.splits else "test")
    steps: list[Any] = []
    if augment.get("seed001"):
        steps.append(seed001_augmentation(augment["seed001"]))
    steps.append(RandomResizedCrop(int(data["image_size"]), tuple(augment["scale"])))
    if augment["hflip"]:
        steps.append(RandomHorizontalFlip())
    size = int(data["val_size"])
    extra: dict[str, Any] = {"space": data["space"]}
    if data["classes"] is not None:
        extra["classes"] = data["classes"]
    train_set = open_dataset(
        data["name"], data["root"], train_split, transform=Compose(steps), **extra
    )
    val_full = open_dataset(
        data["name"], data["root"], val_split,
        transform=Compose([Resize(size), CenterCrop(size)]), **extra,
    )  # fmt: skip
    n_val = min(len(val_full), int(data["max_val_images"]))
    # Evenly spaced validation items: every class of a class-sorted set is represented.
    picks = [round(i * (len(val_full) - 1) / max(1, n_val - 1)) for i in range(n_val)]
    return train_set, Subset(val_full, sorted(set(picks)))
