"""Folder datasets: any image folder, class-per-subfolder labels, Imagenette, faces, Flickr30k.

:class:`ImageFolder` reads every image under a folder (recursively, any format
:mod:`tinct.io` reads). When the images sit in first-level subfolders, each
subfolder is a class (``root/<class>/.../<image>``), as in Imagenette and the
Shape Set written by ``tinct data make-shapes``.

Splits (seed 002 uses 80-10-10): ``split="train" | "val" | "test"`` cuts a
fixed-seed random permutation of each class's files (sorted by path first), so
a split does not depend on the file system's order, on which other classes are
selected, or on the machine (:func:`tinct.data.splits.split_indices`);
``split=None`` takes everything.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tinct.data.base import ColourDataset, DatasetError, RawItem, Transform, select_classes
from tinct.data.splits import SPLITS, split_indices
from tinct.io import iter_image_files, read_image_numpy


class ImageFolder(ColourDataset):
    """Every image under ``root``; class labels from first-level subfolders.

    Args:
        root: the folder.
        split: ``None`` (all), or ``"train"``/``"val"``/``"test"`` of a fixed-seed
            per-class split with ``split_fractions``.
        classes: keep only these classes (names or indices); labels keep their
            original indices, so models see the same label for a class however
            the data was filtered.
        labelled: ``None`` = labelled when every image lies in a subfolder of
            ``root``; ``False`` ignores subfolders (all labels ``None``).
        files: use these files (under ``root``) instead of scanning it.
        space, transform, guidance, strict: see :class:`tinct.data.base.ColourDataset`.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        split: str | None = None,
        split_fractions: Sequence[float] = (0.8, 0.1, 0.1),
        split_seed: int = 0,
        classes: Sequence[str | int] | None = None,
        labelled: bool | None = None,
        files: Sequence[str | os.PathLike[str]] | None = None,
        space: str = "lab",
        transform: Transform | None = None,
        guidance: Sequence[str] = (),
        strict: bool = True,
    ) -> None:
        super().__init__(space=space, transform=transform, guidance=guidance, strict=strict)
        self.root = Path(root).expanduser()
        if split is not None and split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS} or None, got {split!r}")
        if not self.root.is_dir():
            raise DatasetError(self.root, "folder does not exist")
        try:
            paths = iter_image_files([self.root]) if files is None else [Path(f) for f in files]
        except FileNotFoundError:
            paths = []
        if not paths:
            raise DatasetError(self.root, "contains no image files")
        rel = [p.relative_to(self.root) for p in paths]
        if labelled is None:
            labelled = all(len(r.parts) > 1 for r in rel)
        if labelled:
            names = sorted({r.parts[0] for r in rel if len(r.parts) > 1})
            if any(len(r.parts) == 1 for r in rel):
                loose = next(r for r in rel if len(r.parts) == 1)
                raise DatasetError(self.root / loose, "labelled folder has an image outside "
                                   "any class subfolder")  # fmt: skip
            self.classes = names
            labels = [names.index(r.parts[0]) for r in rel]
        else:
            self.classes = []
            labels = [-1] * len(rel)
        self.class_filter = select_classes(self.classes, classes, str(self.root))
        keep = np.zeros(len(paths), dtype=bool)
        groups = sorted(set(labels))
        for g in groups:
            members = np.flatnonzero(np.asarray(labels) == g)
            if self.class_filter is not None and g not in self.class_filter:
                continue
            if split is None:
                keep[members] = True
            else:
                key = self.classes[g] if g >= 0 else ""
                parts = split_indices(len(members), split_fractions, seed=split_seed, key=key)
                keep[members[parts[split]]] = True
        self.split = split
        self.files = [p for p, k in zip(paths, keep, strict=True) if k]
        self.labelled = bool(labelled)
        self.targets = [g for g, k in zip(labels, keep, strict=True) if k] if labelled else None

    def __len__(self) -> int:
        return len(self.files)

    def load(self, index: int) -> RawItem:
        label = self.targets[index] if self.targets is not None else None
        path = self.files[index]
        return RawItem(rgb=read_image_numpy(path), label=label, path=path)


# --------------------------------------------------------------------------- Imagenette

#: Imagenette's classes: ImageNet WordNet id -> readable name (fast.ai's README).
IMAGENETTE_CLASSES = {
    "n01440764": "tench",
    "n02102040": "English springer",
    "n02979186": "cassette player",
    "n03000684": "chain saw",
    "n03028079": "church",
    "n03394916": "French horn",
    "n03417042": "garbage truck",
    "n03425413": "gas pump",
    "n03445777": "golf ball",
    "n03888257": "parachute",
}

#: Variant -> (folder, URL, md5). ``None`` is the full-size set.
IMAGENETTE_VARIANTS: dict[int | None, tuple[str, str, str]] = {
    None: (
        "imagenette2",
        "https://s3.amazonaws.com/fast-ai-imageclas/imagenette2.tgz",
        "fe2fc210e6bb7c5664d602c3cd71e612",
    ),
    320: (
        "imagenette2-320",
        "https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-320.tgz",
        "3df6f0d01a2c9592104656642f5e78a3",
    ),
    160: (
        "imagenette2-160",
        "https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-160.tgz",
        "e793b78cc4c9e9a4ccc0c1155377a412",
    ),
}


def imagenette_folder(
    root: str | os.PathLike[str], size: int | None = 160, *, download: bool = False,
    progress: bool = True,
) -> Path:  # fmt: skip
    """The extracted ``imagenette2[-SIZE]`` folder under ``root`` (or ``root`` itself),
    downloaded first when ``download`` is true and it is missing."""
    if size not in IMAGENETTE_VARIANTS:
        raise ValueError(f"Imagenette comes in sizes 160, 320 or None (full), got {size!r}")
    name, url, md5 = IMAGENETTE_VARIANTS[size]
    root = Path(root).expanduser()
    if root.name == name and root.is_dir():
        return root
    from tinct.data.download import Resource, ensure_dataset

    resource = Resource(url=url, filename=url.rsplit("/", 1)[1], md5=md5)
    return ensure_dataset(
        root / name, [resource], root, download=download, progress=progress, name="imagenette"
    )


class Imagenette(ImageFolder):
    """fast.ai's Imagenette (10 easy ImageNet classes), ``train`` or ``val`` split.

    ``size`` picks the 160 px, 320 px (short side) or full-size (``None``) variant.
    Class names are readable (``"tench"``, ...); :attr:`wnids` holds the WordNet ids.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        *,
        size: int | None = 160,
        download: bool = False,
        classes: Sequence[str | int] | None = None,
        space: str = "lab",
        transform: Transform | None = None,
        guidance: Sequence[str] = (),
        strict: bool = True,
        progress: bool = True,
    ) -> None:
        if split not in ("train", "val"):
            raise ValueError(f"Imagenette has splits 'train' and 'val', got {split!r}")
        folder = imagenette_folder(root, size, download=download, progress=progress)
        if not (folder / split).is_dir():
            raise DatasetError(folder / split, "Imagenette split folder is missing")
        wnids = sorted(p.name for p in (folder / split).iterdir() if p.is_dir())
        names = [IMAGENETTE_CLASSES.get(w, w) for w in wnids]
        wanted = None
        if classes is not None:
            wanted = [wnids[i] for i in select_classes(names, classes, "Imagenette") or []]
        super().__init__(folder / split, classes=wanted, labelled=True, space=space,
                         transform=transform, guidance=guidance, strict=strict)  # fmt: skip
        self.wnids = list(self.classes)
        self.classes = [IMAGENETTE_CLASSES.get(w, w) for w in self.wnids]


# --------------------------------------------------------------------------- plain folders


class Faces(ImageFolder):
    """Seed 001's "Faces": a folder of cropped face photos (750 in the seed, any sizes;
    the seed resized them to 128x128 -- add ``transforms.Resize((128, 128))``).

    The seed names no public source, so there is no download: put the photos in
    a folder and pass it as ``root``. Splits as :class:`ImageFolder`.
    """

    def __init__(
        self, root: str | os.PathLike[str], split: str | None = None, **kwargs: object
    ) -> None:
        if not Path(root).expanduser().is_dir():
            raise DatasetError(
                root,
                "faces folder does not exist; seed 001's face set has no public download: "
                "put your face photos (any format) in a folder and pass it as root",
            )
        super().__init__(root, split=split, labelled=False, **kwargs)  # type: ignore[arg-type]


FLICKR30K_URL = "https://shannon.cs.illinois.edu/DenotationGraph/"


class Flickr30k(ImageFolder):
    """Flickr30k's 31,783 photos (seed 003 trains on them): the ``flickr30k-images``
    folder of JPEGs under ``root`` (or ``root`` itself), split 80-10-10 by default.

    Flickr30k is distributed only after accepting its terms on a request form
    (:data:`FLICKR30K_URL`), so tinct cannot download it for you.
    """

    def __init__(
        self, root: str | os.PathLike[str], split: str | None = None, **kwargs: object
    ) -> None:
        folder = Path(root).expanduser()
        if (folder / "flickr30k-images").is_dir():
            folder = folder / "flickr30k-images"
        if not folder.is_dir():
            raise DatasetError(
                folder,
                f"Flickr30k is not there; it cannot be downloaded automatically: request it "
                f"at {FLICKR30K_URL}, extract flickr30k-images/ and pass its folder as root",
            )
        super().__init__(folder, split=split, labelled=False, **kwargs)  # type: ignore[arg-type]
