"""PASCAL VOC 2012 semantic segmentation (images with per-pixel class masks).

The trainval archive (http://host.robots.ox.ac.uk/pascal/VOC/voc2012/) unpacks to
``VOCdevkit/VOC2012/`` with, among others:

* ``JPEGImages/<id>.jpg``: the photos (about 500x375);
* ``SegmentationClass/<id>.png``: palette (``"P"`` mode) PNGs whose pixel *values* are the
  class indices 0-20 (0 = background) and 255 = void (object borders, ambiguous areas); the
  palette only colours them for viewing (see :data:`VOC_PALETTE`);
* ``ImageSets/Segmentation/{train,val,trainval}.txt``: the image ids of each split
  (1464 train, 1449 val).

Masks are read with Pillow *without* converting them, so :attr:`RawItem.mask` holds the
class indices. There is no image-level label: :attr:`VOCSegmentation.targets` is ``None``.

A folder in this format with other classes (the corpus-derived stand-in of
:mod:`tinct.data.voc_standin`: background and foreground) names them in an optional
``classes.txt`` beside ``JPEGImages/`` (one name per line, line ``i`` = mask value ``i``);
the real VOC has none and gets :data:`VOC_CLASSES`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tinct.data.base import ColourDataset, DatasetError, RawItem, Transform
from tinct.data.download import Resource, ensure_dataset
from tinct.io import read_image_numpy

__all__ = [
    "CLASS_NAMES_FILE",
    "SPLITS",
    "VOC2012_RESOURCE",
    "VOC_CLASSES",
    "VOC_PALETTE",
    "VOCSegmentation",
    "read_class_names",
    "read_mask",
    "voc_palette",
]

VOC2012_RESOURCE = Resource(
    url="http://host.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar",
    filename="VOCtrainval_11-May-2012.tar",
    md5="6cd6e144f989b92b3379bac3b3de84fd",
    size=1_999_639_040,
)

VOC_CLASSES = (
    "background",
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)
VOID = 255
SPLITS = ("train", "val", "trainval")
#: Optional file of class names in a VOC-format folder (not part of the real VOC).
CLASS_NAMES_FILE = "classes.txt"


def voc_palette() -> np.ndarray:
    """The standard VOC colour map: ``(256, 3)`` uint8, row ``i`` the colour of index ``i``.

    The bits of ``i`` are spread over the colour channels from the most significant bit
    down: bit 0 to red, bit 1 to green, bit 2 to blue, bit 3 to red's next bit, and so on
    (class 1 is (128, 0, 0), void 255 is (224, 224, 192)).
    """
    palette = np.zeros((256, 3), dtype=np.uint8)
    for i in range(256):
        c, rgb = i, [0, 0, 0]
        for bit in range(8):
            for channel in range(3):
                rgb[channel] |= ((c >> channel) & 1) << (7 - bit)
            c >>= 3
        palette[i] = rgb
    return palette


#: The standard VOC colour map (see :func:`voc_palette`).
VOC_PALETTE = voc_palette()


def read_class_names(path: str | os.PathLike[str]) -> list[str]:
    """Class names from a ``classes.txt`` (one per line, line ``i`` = mask value ``i``).

    Raises:
        DatasetError: naming ``path``, if it is unreadable, empty, lists more than 255
            classes (255 is void) or repeats a name.
    """
    path = Path(path)
    try:
        names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError) as err:
        raise DatasetError(path, f"cannot be read ({err})") from err
    names = [n for n in names if n]
    if not names or len(names) > VOID:
        raise DatasetError(path, f"must list 1-{VOID} class names, one per line; has {len(names)}")
    if len(set(names)) != len(names):
        raise DatasetError(path, "lists a class name twice")
    return names


def read_mask(path: str | os.PathLike[str], n_classes: int = len(VOC_CLASSES)) -> np.ndarray:
    """The class indices of a VOC segmentation PNG, ``(H, W)`` uint8 (values
    ``0..n_classes-1`` and 255; VOC's 21 classes by default).

    Raises:
        DatasetError: naming ``path``, if it is missing, unreadable, not a palette or
            greyscale image, or holds values other than the classes and 255.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:
            if im.mode not in ("P", "L"):
                raise DatasetError(
                    path,
                    f"mask has mode {im.mode!r}; expected a palette ('P') or greyscale ('L') "
                    "image whose values are class indices",
                )
            mask = np.array(im, dtype=np.uint8)
    except FileNotFoundError as err:
        raise DatasetError(path, "mask file is missing") from err
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise DatasetError(path, f"unreadable mask ({err})") from err
    bad = (mask >= n_classes) & (mask != VOID)
    if bad.any():
        values = sorted({int(v) for v in np.unique(mask[bad])})
        raise DatasetError(
            path, f"mask values {values[:5]} are not classes 0-{n_classes - 1} or 255"
        )
    return mask


def _find_voc2012(root: Path) -> tuple[Path, Path]:
    """``(VOC2012 folder, folder the archive unpacks into)`` for a root given by the user."""
    if root.name == "VOC2012" or (root / "ImageSets").is_dir():
        return root, root.parent.parent
    if root.name == "VOCdevkit":
        return root / "VOC2012", root.parent
    return root / "VOCdevkit" / "VOC2012", root


class VOCSegmentation(ColourDataset):
    """PASCAL VOC 2012 segmentation: photos with masks of 21 classes (255 = void), or any
    folder in its format (the corpus-derived stand-in: 2 classes named in ``classes.txt``).

    Args:
        root: the folder holding ``VOCdevkit`` (where it is downloaded to), ``VOCdevkit``
            itself, or ``VOCdevkit/VOC2012``.
        split: ``"train"``, ``"val"`` or ``"trainval"``.
        download: download (2.0 GB) and unpack the trainval archive if it is missing.
        space, transform, guidance, strict: see :class:`~tinct.data.base.ColourDataset`.
            An unreadable photo raises :class:`tinct.io.ImageReadError` and a bad mask
            :class:`DatasetError` (``strict=True``), or the item is skipped.
        progress: show a progress bar while downloading.

    Attributes:
        classes: the class names (index = mask value): VOC's 21, or ``classes.txt``'s.
        ids: the image ids of the split, in file order.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        *,
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
        self.split = split
        self.folder, download_root = _find_voc2012(Path(root).expanduser())
        ensure_dataset(
            self.folder,
            [VOC2012_RESOURCE],
            download_root,
            download=download,
            progress=progress,
            name="voc2012",
        )
        names = self.folder / CLASS_NAMES_FILE
        self.classes = read_class_names(names) if names.is_file() else list(VOC_CLASSES)
        self.targets = None
        list_path = self.folder / "ImageSets" / "Segmentation" / f"{split}.txt"
        try:
            lines = list_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError as err:
            raise DatasetError(list_path, "image list of the split is missing") from err
        except (OSError, UnicodeDecodeError) as err:
            raise DatasetError(list_path, f"cannot be read ({err})") from err
        self.ids = [line.split()[0] for line in lines if line.strip()]

    def image_path(self, index: int) -> Path:
        return self.folder / "JPEGImages" / f"{self.ids[index]}.jpg"

    def mask_path(self, index: int) -> Path:
        return self.folder / "SegmentationClass" / f"{self.ids[index]}.png"

    def __len__(self) -> int:
        return len(self.ids)

    def load(self, index: int) -> RawItem:
        image_path = self.image_path(index)
        rgb = read_image_numpy(image_path)
        mask_path = self.mask_path(index)
        mask = read_mask(mask_path, len(self.classes))
        if mask.shape != rgb.shape[:2]:
            raise DatasetError(
                mask_path,
                f"mask is {mask.shape[1]}x{mask.shape[0]} but its image {image_path.name} is "
                f"{rgb.shape[1]}x{rgb.shape[0]}",
            )
        return RawItem(rgb=rgb, label=None, mask=mask, path=image_path)

    def __repr__(self) -> str:
        return (
            f"VOCSegmentation(root={str(self.folder)!r}, split={self.split!r}, "
            f"items={len(self)}, space={self.space!r})"
        )
