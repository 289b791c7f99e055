"""The offline photo corpus as a dataset, with categories its sources give the photos.

The corpus (``tinct data build-corpus``) is a few hundred real photographs from
Debian and PyPI packages, split train/val/test by content hash. Some sources
file their photos by subject, and :func:`photo_category` turns that into a
class label: GCompris' categorisation activity (fishes, tools, renewable
energy, monuments), its explore activities (animals, monuments, music
instruments) and Scratch's backdrop library (outdoors, nature, sports,
indoors); MATE's "nature" wallpapers join nature. The other photos
(wallpapers, scikit-image samples, GCompris' mixed "erase" pictures...) have
no category and are left out of the labelled set.

What the labelled set is: a small (271 photos, 10 classes of 5 to 76 photos)
real-photo classification set for demos and tests of the classification and
self-supervised code that needs no download. What it is not: a benchmark --
classes are tiny, some overlap (a monument is also "outdoors"), and categories
are whatever the packagers chose, not curated labels.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from tinct.data.base import ColourDataset, RawItem, Transform, select_classes
from tinct.data.corpus import load_manifest
from tinct.data.splits import SPLITS
from tinct.io import read_image_numpy
from tinct.io.resize import resize_short_side

# (pattern on the photo's path inside its source, category); first match wins.
_CATEGORY_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"/categorization/resource/images/(fishes|tools|renewable|monuments)/"), r"\1"),
    (re.compile(r"/explore_(world|farm)_animals/"), "animals"),
    (re.compile(r"/explore_monuments/"), "monuments"),
    (re.compile(r"/explore_world_music/"), "music"),
    (re.compile(r"scratch/Media/Backgrounds/(Outdoors|Nature|Sports|Indoors)/"), r"\1"),
    (re.compile(r"backgrounds/mate/nature/"), "nature"),
)


def photo_category(path: str) -> str | None:
    """Category of a corpus photo from its path inside its source, or ``None``."""
    for pattern, name in _CATEGORY_RULES:
        m = pattern.search(path)
        if m:
            return m.expand(name).lower()
    return None


class CorpusPhotos(ColourDataset):
    """Photos of the built corpus at ``root``.

    Args:
        split: ``"train"``, ``"val"``, ``"test"`` or ``"all"``.
        labelled: keep only categorised photos and label them (classes sorted by name).
        classes: with ``labelled``, keep only these categories.
        short_side: downscale on load so the short side is at most this many
            pixels (some wallpapers are 24 megapixels); ``None`` keeps full size.
        space, transform, guidance, strict: see :class:`tinct.data.base.ColourDataset`.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        *,
        labelled: bool = False,
        classes: Sequence[str | int] | None = None,
        short_side: int | None = 512,
        space: str = "lab",
        transform: Transform | None = None,
        guidance: Sequence[str] = (),
        strict: bool = True,
    ) -> None:
        super().__init__(space=space, transform=transform, guidance=guidance, strict=strict)
        if split not in (*SPLITS, "all"):
            raise ValueError(f"split must be one of {(*SPLITS, 'all')}, got {split!r}")
        if classes is not None and not labelled:
            raise ValueError("classes= needs labelled=True (only categorised photos have a class)")
        self.root = Path(root).expanduser()
        entries = load_manifest(self.root)
        all_categories = sorted({c for e in entries if (c := photo_category(e.path))})
        self.short_side = short_side
        self.entries = [e for e in entries if split == "all" or e.split == split]
        if labelled:
            self.classes = all_categories
            keep = select_classes(all_categories, classes, "the corpus categories")
            cats = [photo_category(e.path) for e in self.entries]
            pairs = [
                (e, all_categories.index(c))
                for e, c in zip(self.entries, cats, strict=True)
                if c is not None and (keep is None or all_categories.index(c) in keep)
            ]
            self.entries = [e for e, _ in pairs]
            self.targets = [t for _, t in pairs]
        self.split = split

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def files(self) -> list[Path]:
        return [self.root / e.file for e in self.entries]

    def load(self, index: int) -> RawItem:
        entry = self.entries[index]
        path = self.root / entry.file
        rgb = resize_short_side(read_image_numpy(path), self.short_side)
        label = None if self.targets is None else self.targets[index]
        return RawItem(rgb=rgb, label=label, path=path)
