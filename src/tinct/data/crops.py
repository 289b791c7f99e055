"""Training samples from photographs: random resized crops held in memory.

Photos are decoded once and kept as uint8 arrays downscaled so their short
side is at most ``cache_short_side`` (decoding a 6000x3400 wallpaper for each
crop would dominate training time on a CPU). Each item is a
:class:`tinct.data.sample.Sample` (``l`` ``(1, S, S)``, ``chroma`` ``(2, S, S)``
in colour-space units, ``rgb`` ``(3, S, S)`` in [0, 1]); batch them with
:func:`tinct.data.sample.collate_samples`. Augmentation happens on RGB before
the colour conversion, so lightness and chroma stay consistent.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from tinct.data.sample import Sample, make_sample
from tinct.io import ImageReadError, read_image_numpy
from tinct.io.resize import centre_crop, resize, resize_short_side

log = logging.getLogger(__name__)


def is_grey(rgb: np.ndarray, tolerance: float = 2.0) -> bool:
    """True if an ``(H, W, 3)`` uint8 photo has (almost) no colour: mean |R-G| + |G-B|
    below ``tolerance`` grey levels."""
    arr = rgb.astype(np.int16)
    spread = np.abs(arr[..., 0] - arr[..., 1]) + np.abs(arr[..., 1] - arr[..., 2])
    return float(spread.mean()) < tolerance


class PhotoCrops(Dataset[Sample]):
    """Square crops of a set of photos, for training and validating colourisers.

    Args:
        files: image files (any format :func:`tinct.io.read_image` reads); unreadable
            files are skipped with a warning and listed in :attr:`skipped`.
        size: side of the returned crops in pixels.
        train: random resized crops (side uniform in ``scale`` x the short side)
            with horizontal flips; otherwise one deterministic centre crop per photo.
        samples_per_image: how many random crops count as one pass over a photo.
        cache_short_side: downscale photos once so the short side is at most this.
        space: colour space of the lightness/chroma pair.
        guidance: maps to attach to each crop (``"edges"``, ``"saliency"``), computed from it.
        skip_grey: leave out photos without colour (nothing to learn from them).
    """

    def __init__(
        self,
        files: Sequence[str | Path],
        *,
        size: int,
        train: bool = True,
        samples_per_image: int = 1,
        cache_short_side: int | None = 512,
        scale: tuple[float, float] = (0.5, 1.0),
        hflip: bool = True,
        space: str = "lab",
        guidance: Sequence[str] = (),
        skip_grey: bool = True,
        progress: bool = True,
    ) -> None:
        if size < 8:
            raise ValueError(f"crop size must be at least 8 pixels, got {size}")
        if not 0 < scale[0] <= scale[1] <= 1:
            raise ValueError(f"scale must satisfy 0 < min <= max <= 1, got {scale}")
        self.size = size
        self.train = train
        self.samples_per_image = samples_per_image if train else 1
        self.scale = scale
        self.hflip = hflip
        self.space = space
        self.guidance = tuple(guidance)
        self.images: list[np.ndarray] = []
        self.files: list[Path] = []
        self.skipped: list[tuple[Path, str]] = []
        for f in tqdm(files, desc="loading photos", unit="img", disable=not progress):
            try:
                arr = read_image_numpy(f)
            except ImageReadError as err:
                log.warning("skipping %s", err)
                self.skipped.append((Path(f), err.reason))
                continue
            small = resize_short_side(arr, cache_short_side, shrink="reduced-bicubic")
            small = np.ascontiguousarray(small)
            if skip_grey and is_grey(small):
                self.skipped.append((Path(f), "no colour (greyscale photo)"))
                continue
            self.images.append(small)
            self.files.append(Path(f))
        if not self.images:
            raise ValueError(f"no readable images among {len(files)} files")

    def __len__(self) -> int:
        return len(self.images) * self.samples_per_image

    def _crop(self, arr: np.ndarray) -> np.ndarray:
        h, w = arr.shape[:2]
        short = min(h, w)
        if self.train:
            lo, hi = self.scale
            side = max(1, round(short * (lo + (hi - lo) * float(torch.rand(())))))
            top = int(torch.randint(0, h - side + 1, ()))
            left = int(torch.randint(0, w - side + 1, ()))
            crop = arr[top : top + side, left : left + side]
        else:
            crop = centre_crop(arr, short)
        crop = resize(crop, self.size, self.size, shrink="box", enlarge="bicubic")
        if self.train and self.hflip and bool(torch.rand(()) < 0.5):
            crop = crop[:, ::-1]
        return crop

    def __getitem__(self, index: int) -> Sample:
        arr = self._crop(self.images[index % len(self.images)])
        rgb = torch.from_numpy(np.array(arr, copy=True)).permute(2, 0, 1)
        return make_sample(rgb, self.space, guidance=self.guidance, index=index)


def samples_for(n_images: int, target: int) -> int:
    """Random crops per photo so that an epoch has about ``target`` samples."""
    return max(1, math.ceil(target / max(1, n_images)))
