"""The base class of every tinct dataset: raw item -> RGB transform -> :class:`Sample`.

A dataset subclass only says how many items it has and how to load item ``i``
as a :class:`RawItem` (an 8-bit RGB array plus optional label and mask).
:class:`ColourDataset` does the rest the same way for every dataset: the
transform (augmentations, crops) runs on RGB and mask together *before* the
colour conversion, so lightness and chroma stay consistent; then guidance maps
are computed from the transformed RGB.

Unreadable items: with ``strict=True`` (the default) the loader's error
(:class:`tinct.io.ImageReadError` for image files, :class:`DatasetError` for
files of a dataset format) propagates. With ``strict=False`` the item becomes
``None``, is logged and listed in :attr:`ColourDataset.skipped`, and
:func:`tinct.data.sample.collate_samples` drops it and counts it in the batch.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from tinct.data.sample import GUIDANCE_MAPS, Sample, make_sample
from tinct.io import ImageReadError

log = logging.getLogger(__name__)

#: ``(rgb (3, H, W) float in [0, 1], mask (H, W) int64 or None) -> (rgb, mask)``.
Transform = Callable[[Tensor, Tensor | None], tuple[Tensor, Tensor | None]]


class DatasetError(Exception):
    """A file of a dataset is missing, corrupt or not in the expected format.

    Attributes:
        path: the file (or folder) concerned.
        reason: what is wrong, in words.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{os.fspath(path)}: {reason}")

    def __reduce__(self) -> tuple[type[DatasetError], tuple[Path, str]]:
        return (type(self), (self.path, self.reason))


@dataclass
class RawItem:
    """One item as stored: ``rgb`` ``(H, W, 3)`` uint8, optional class and mask."""

    rgb: np.ndarray
    label: int | None = None
    mask: np.ndarray | None = None  # (H, W) uint8/int, 255 = void
    path: Path | None = None


class ColourDataset(Dataset[Sample | None]):
    """Base of all datasets: yields :class:`Sample` records in a chosen colour space.

    Args:
        space: colour space of the samples' lightness/chroma (``"lab"`` by default;
            seed 001's models use ``"yuv"``).
        transform: applied to RGB (float, [0, 1]) and mask before conversion; see
            :mod:`tinct.data.transforms`.
        guidance: extra maps to attach, any of ``"edges"``, ``"saliency"``.
        strict: raise on an unreadable item (default) or skip it (``None``).

    Subclasses set :attr:`classes` (class names, index = label) and implement
    :meth:`__len__` and :meth:`load`; those that know their labels without
    decoding images also fill :attr:`targets`.
    """

    classes: list[str]
    targets: list[int] | None = None

    def __init__(
        self,
        *,
        space: str = "lab",
        transform: Transform | None = None,
        guidance: Sequence[str] = (),
        strict: bool = True,
    ) -> None:
        unknown = set(guidance) - set(GUIDANCE_MAPS)
        if unknown:
            raise ValueError(f"unknown guidance maps {sorted(unknown)}; known: {GUIDANCE_MAPS}")
        from tinct.color.norm import LIGHTNESS_CHROMA_SPACES

        if space not in LIGHTNESS_CHROMA_SPACES:
            raise ValueError(
                f"unknown colour space {space!r}; known: {sorted(LIGHTNESS_CHROMA_SPACES)}"
            )
        self.space = space
        self.transform = transform
        self.guidance = tuple(guidance)
        self.strict = strict
        self.skipped: list[tuple[Path | None, str]] = []
        if not hasattr(self, "classes"):
            self.classes = []

    def __len__(self) -> int:
        raise NotImplementedError

    def load(self, index: int) -> RawItem:
        """Item ``index`` as stored on disk."""
        raise NotImplementedError

    def __getitem__(self, index: int) -> Sample | None:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for a dataset of {len(self)} items")
        try:
            item = self.load(index)
        except (ImageReadError, DatasetError) as err:
            if self.strict:
                raise
            log.warning("skipping item %d: %s", index, err)
            self.skipped.append((err.path, err.reason))
            return None
        arr = np.ascontiguousarray(item.rgb)
        if not arr.flags.writeable:  # torch wants writable memory (e.g. Pillow's buffers)
            arr = arr.copy()
        rgb = torch.from_numpy(arr).permute(2, 0, 1).float() / 255.0
        mask = None if item.mask is None else torch.from_numpy(item.mask.astype(np.int64))
        if self.transform is not None:
            rgb, mask = self.transform(rgb, mask)
        return make_sample(
            rgb.clamp(0.0, 1.0),
            self.space,
            label=item.label,
            mask=mask,
            guidance=self.guidance,
            index=index,
        )

    def class_counts(self) -> dict[str, int]:
        """Items per class name (from :attr:`targets`; empty for unlabelled data)."""
        if not self.targets or not self.classes:
            return {}
        counts = np.bincount(np.asarray(self.targets), minlength=len(self.classes))
        return {name: int(c) for name, c in zip(self.classes, counts, strict=False)}


def select_classes(
    names: Sequence[str], wanted: Sequence[str | int] | str | int | None, where: str = ""
) -> tuple[int, ...] | None:
    """Class names or indices -> sorted tuple of class indices (``None`` keeps every class).

    Raises ``ValueError`` naming the valid classes for an unknown name, an index out of
    range, or an empty selection; ``where`` names the dataset in the message.
    """
    if wanted is None:
        return None
    if isinstance(wanted, str | int):
        wanted = [wanted]
    names = list(names)
    in_where = f" in {where}" if where else ""
    indices: set[int] = set()
    for item in wanted:
        if isinstance(item, str):
            if item not in names:
                raise ValueError(
                    f"unknown class {item!r}{in_where}; valid classes: {', '.join(names)}"
                )
            indices.add(names.index(item))
        elif isinstance(item, int | np.integer) and not isinstance(item, bool):
            if not 0 <= int(item) < len(names):
                raise ValueError(
                    f"class index {int(item)} out of range{in_where}: there are {len(names)} "
                    f"classes ({', '.join(names)})"
                )
            indices.add(int(item))
        else:
            raise ValueError(f"classes must be class names or indices, not {item!r}")
    if not indices:
        raise ValueError(f"classes must name at least one class{in_where}")
    return tuple(sorted(indices))
