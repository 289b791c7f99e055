"""The one record every dataset yields and every model family consumes.

A :class:`Sample` holds the lightness and chroma of an image in one colour
space, the RGB image they came from, and optional extras: a class label, a
segmentation mask, an edge map and a saliency map. :func:`collate_samples`
stacks samples into a batched :class:`Sample` (tensors gain a leading batch
dimension, labels become an ``int64`` tensor) and drops ``None`` entries, the
placeholders lenient datasets return for unreadable files, counting them in
:attr:`Sample.skipped`.

Units: ``l`` and ``chroma`` are in the colour space's own units (Lab: L* in
[0, 100], a*b* roughly [-110, 110]; YUV: Y in [0, 1], U/V in about +-0.44/0.62);
``rgb`` is sRGB in [0, 1]; ``mask`` holds class indices with 255 = void.
Normalisation for networks is :mod:`tinct.color.norm`'s job, not the dataset's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from tinct.color import lightness_chroma_to_rgb, rgb_to_lightness_chroma

#: Extras a dataset can attach to each sample (``guidance`` argument of the datasets).
GUIDANCE_MAPS = ("edges", "saliency")

VOID_LABEL = 255


@dataclass
class Sample:
    """Lightness, chroma and RGB of one image (or a batch), plus optional extras.

    Attributes:
        l: ``(1, H, W)`` lightness (``(B, 1, H, W)`` when batched).
        chroma: ``(2, H, W)`` chroma in the same space.
        rgb: ``(3, H, W)`` sRGB in [0, 1] that ``l`` and ``chroma`` were computed from.
        space: the colour space of ``l`` / ``chroma`` (``"lab"``, ``"yuv"``, ...).
        label: class index (``int``; an ``int64`` ``(B,)`` tensor when batched).
        mask: ``(H, W)`` ``int64`` segmentation classes, 255 = void.
        edges: ``(1, H, W)`` float edge map in {0, 1}.
        saliency: ``(1, H, W)`` float saliency in [0, 1].
        index: position in the dataset it came from (``(B,)`` tensor when batched).
        skipped: for a batch, how many unreadable items were dropped from it.
    """

    l: Tensor  # noqa: E741 -- the colour science name of the channel
    chroma: Tensor
    rgb: Tensor
    space: str = "lab"
    label: int | Tensor | None = None
    mask: Tensor | None = None
    edges: Tensor | None = None
    saliency: Tensor | None = None
    index: int | Tensor | None = None
    skipped: int = field(default=0)

    @property
    def is_batched(self) -> bool:
        return self.l.dim() == 4

    def __len__(self) -> int:
        return int(self.l.shape[0]) if self.is_batched else 1

    def to(self, device: torch.device | str) -> Sample:
        """A copy with every tensor on ``device``."""
        changes = {
            f.name: getattr(self, f.name).to(device)
            for f in dataclasses.fields(self)
            if isinstance(getattr(self, f.name), Tensor)
        }
        return dataclasses.replace(self, **changes)

    def reconstruct_rgb(self) -> Tensor:
        """RGB rebuilt from ``l`` and ``chroma`` (equals ``rgb`` up to rounding)."""
        return lightness_chroma_to_rgb(self.l, self.chroma, self.space)


def make_sample(
    rgb: Tensor,
    space: str = "lab",
    *,
    label: int | None = None,
    mask: Tensor | None = None,
    guidance: Sequence[str] = (),
    index: int | None = None,
) -> Sample:
    """Build a :class:`Sample` from a ``(3, H, W)`` RGB image (uint8, or float in [0, 1]).

    ``guidance`` names the extra maps to compute from the RGB image
    (see :data:`GUIDANCE_MAPS`).
    """
    if rgb.dim() != 3 or rgb.shape[0] != 3:
        raise ValueError(f"expected an RGB image of shape (3, H, W), got {tuple(rgb.shape)}")
    if rgb.dtype == torch.uint8:
        rgb = rgb.float() / 255.0
    elif not rgb.is_floating_point():
        raise ValueError(f"RGB must be uint8 or floating point, got {rgb.dtype}")
    if mask is not None and tuple(mask.shape) != tuple(rgb.shape[1:]):
        raise ValueError(
            f"mask shape {tuple(mask.shape)} does not match image size {tuple(rgb.shape[1:])}"
        )
    lightness, chroma = rgb_to_lightness_chroma(rgb, space)
    sample = Sample(
        l=lightness,
        chroma=chroma,
        rgb=rgb,
        space=space,
        label=label,
        mask=None if mask is None else mask.long(),
        index=index,
    )
    unknown = set(guidance) - set(GUIDANCE_MAPS)
    if unknown:
        raise ValueError(f"unknown guidance maps {sorted(unknown)}; known: {GUIDANCE_MAPS}")
    if guidance:
        from tinct.data.guidance import canny_edges, spectral_residual_saliency

        if "edges" in guidance:
            sample.edges = canny_edges(rgb)
        if "saliency" in guidance:
            sample.saliency = spectral_residual_saliency(rgb)
    return sample


def _stack(values: list[Tensor | None], name: str) -> Tensor | None:
    present = [v is not None for v in values]
    if not any(present):
        return None
    if not all(present):
        raise ValueError(f"cannot batch samples where only some have {name!r}")
    return torch.stack([v for v in values if v is not None])


def _stack_ints(values: list[int | Tensor | None], name: str) -> Tensor | None:
    present = [v is not None for v in values]
    if not any(present):
        return None
    if not all(present):
        raise ValueError(f"cannot batch samples where only some have {name!r}")
    return torch.tensor([int(v) for v in values if v is not None], dtype=torch.long)


def collate_samples(items: Sequence[Sample | None]) -> Sample:
    """Stack samples into one batched :class:`Sample`, dropping ``None`` placeholders.

    Raises ``ValueError`` when samples disagree on colour space or size, or only
    some carry an extra; and when every item of the batch was unreadable.
    """
    samples = [s for s in items if s is not None]
    skipped = len(items) - len(samples) + sum(s.skipped for s in samples)
    if not samples:
        raise ValueError(f"all {len(items)} items of the batch were unreadable")
    spaces = {s.space for s in samples}
    if len(spaces) != 1:
        raise ValueError(f"cannot batch samples from different colour spaces: {sorted(spaces)}")
    sizes = {tuple(s.l.shape) for s in samples}
    if len(sizes) != 1:
        raise ValueError(
            f"cannot batch samples of different sizes {sorted(sizes)}; crop or resize them "
            "to one size (e.g. a crop transform)"
        )
    return Sample(
        l=torch.stack([s.l for s in samples]),
        chroma=torch.stack([s.chroma for s in samples]),
        rgb=torch.stack([s.rgb for s in samples]),
        space=samples[0].space,
        label=_stack_ints([s.label for s in samples], "label"),
        mask=_stack([s.mask for s in samples], "mask"),
        edges=_stack([s.edges for s in samples], "edges"),
        saliency=_stack([s.saliency for s in samples], "saliency"),
        index=_stack_ints([s.index for s in samples], "index"),
        skipped=skipped,
    )
