"""Does a colouriser learn shape -> colour? (seed 001 section 5.2, Shape Set).

Shape Set (:mod:`tinct.data.shapes`) colours circles blue, squares red and triangles
green, in random shades. A model that has learnt the assignment paints the pixels
inside each shape with that shape's hue. Measured per shape class over the pixels its
segmentation masks mark, on the predicted RGB (HSV, hue in degrees):

- ``coloured``: fraction of the pixels with saturation >= ``min_saturation`` (a model
  that hedges leaves shapes grey);
- ``assigned``: among the coloured pixels, the fraction whose hue is nearest to the
  class's own hue of the three (chance: 1/3), and the full confusion row;
- ``mean_hue``: circular mean hue weighted by saturation, and its angular error to the
  class's true hue (:data:`tinct.data.shapes.SHAPE_HUES`);
- ``mean_saturation`` inside the shapes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
from torch import Tensor

from tinct.color import rgb_to_hsv
from tinct.data.shapes import SHAPE_HUES, SHAPES


@dataclass
class ShapeColourStats:
    """Shape -> colour statistics of one shape class (see the module docstring)."""

    shape: str
    true_hue: float
    pixels: int
    coloured: float
    assigned: float
    mean_hue: float
    hue_error: float
    mean_saturation: float
    confusion: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """The fields as a plain dict (for JSON)."""
        return asdict(self)


def _angle(a: Tensor, b: float) -> Tensor:
    """Absolute angular difference in degrees, in [0, 180]."""
    d = torch.remainder(a - b, 360.0)
    return torch.minimum(d, 360.0 - d)


def shape_colour_assignment(
    rgb: Tensor, masks: Tensor, *, min_saturation: float = 0.15
) -> list[ShapeColourStats]:
    """Per shape class statistics of predicted colours inside the Shape Set masks.

    Args:
        rgb: predicted sRGB ``(B, 3, H, W)`` in [0, 1].
        masks: ``(B, H, W)`` integer masks, 0 background, ``k + 1`` for ``SHAPES[k]``.
        min_saturation: HSV saturation from which a pixel counts as coloured.
    """
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise ValueError(f"expected rgb of shape (B, 3, H, W), got {tuple(rgb.shape)}")
    if masks.shape != (rgb.shape[0], *rgb.shape[2:]):
        raise ValueError(f"masks {tuple(masks.shape)} do not match rgb {tuple(rgb.shape)}")
    hsv = rgb_to_hsv(rgb.float().clamp(0, 1))
    hue = torch.rad2deg(hsv[:, 0])
    sat = hsv[:, 1]
    hues = torch.tensor([SHAPE_HUES[s] for s in SHAPES])
    stats = []
    for k, shape in enumerate(SHAPES):
        inside = masks == k + 1
        n = int(inside.sum())
        h, s = hue[inside], sat[inside]
        coloured = s >= min_saturation
        nearest = torch.stack([_angle(h, float(t)) for t in hues]).argmin(0)
        n_col = int(coloured.sum())
        confusion = {
            other: (float((nearest[coloured] == j).sum()) / n_col if n_col else math.nan)
            for j, other in enumerate(SHAPES)
        }
        weight = s.double()
        if n and float(weight.sum()) > 0:
            rad = torch.deg2rad(h.double())
            mean = (
                math.degrees(
                    math.atan2(float((weight * rad.sin()).sum()), float((weight * rad.cos()).sum()))
                )
                % 360.0
            )
            error = float(_angle(torch.tensor(mean), SHAPE_HUES[shape]))
        else:
            mean = error = math.nan
        stats.append(
            ShapeColourStats(
                shape=shape,
                true_hue=SHAPE_HUES[shape],
                pixels=n,
                coloured=n_col / n if n else math.nan,
                assigned=confusion[shape],
                mean_hue=mean,
                hue_error=error,
                mean_saturation=float(s.mean()) if n else math.nan,
                confusion=confusion,
            )
        )
    return stats
