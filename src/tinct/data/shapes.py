"""Shape Set (seed 001 section 3.3.1): circles, squares and triangles coloured by shape.

Each image holds a few shapes on a neutral grey background: circles are blue,
squares red and triangles green, each in a random shade. As in the seed, no two
shapes share their dimensions: "circles" are ellipses and "squares" rectangles
with their own width and height, triangles have random corners, so a network
has to recognise the approximate form, and it must cope with shading instead of
learning one exact colour per shape. Shapes may overlap; later ones are drawn
on top.

Everything is deterministic: image ``i`` of a set with seed ``s`` depends only
on ``(s, i)``, so a dataset of any size can be generated lazily, in any order,
in any worker process. Each item carries its class label -- the dominant
shape, the one covering the most visible pixels -- so Shape Set also serves as
a small labelled dataset offline; and a segmentation mask (0 = background,
1 circle, 2 square, 3 triangle).
"""

from __future__ import annotations

import colorsys
import csv
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from tqdm import tqdm

from tinct.data.base import ColourDataset, RawItem, Transform

SHAPES = ("circle", "square", "triangle")
#: Hue (degrees) of each shape's colour: blue circles, red squares, green triangles.
SHAPE_HUES = {"circle": 240.0, "square": 0.0, "triangle": 120.0}
MASK_CLASSES = ("background", *SHAPES)
_SUPERSAMPLE = 4


def _shade(rng: np.random.Generator, hue: float) -> tuple[int, int, int]:
    """A shade of ``hue``: hue +-8 degrees, saturation 0.55-1, value 0.35-1."""
    h = ((hue + rng.uniform(-8.0, 8.0)) % 360.0) / 360.0
    r, g, b = colorsys.hsv_to_rgb(h, rng.uniform(0.55, 1.0), rng.uniform(0.35, 1.0))
    return round(r * 255), round(g * 255), round(b * 255)


def render_shapes(
    seed: int | Sequence[int], size: int = 64, shapes: tuple[int, int] = (1, 4)
) -> tuple[np.ndarray, np.ndarray, int]:
    """One Shape Set image: ``(rgb (size, size, 3) uint8, mask (size, size) uint8, label)``.

    ``shapes``: inclusive range of the number of shapes. ``label`` indexes
    :data:`SHAPES` (the shape with most visible pixels; ties go to the first drawn).
    """
    if size < 8:
        raise ValueError(f"Shape Set images must be at least 8 pixels, got {size}")
    if not 1 <= shapes[0] <= shapes[1]:
        raise ValueError(f"shape count range must satisfy 1 <= min <= max, got {shapes}")
    rng = np.random.default_rng(seed)
    big = size * _SUPERSAMPLE
    grey = int(rng.integers(150, 246))
    image = Image.new("RGB", (big, big), (grey, grey, grey))
    ids = Image.new("L", (big, big), 0)
    draw, draw_ids = ImageDraw.Draw(image), ImageDraw.Draw(ids)
    # The first shape is the intended dominant one: drawn larger (triangles, half
    # their box, larger still) so that the three classes come out about balanced.
    n_shapes = int(rng.integers(shapes[0], shapes[1] + 1))
    kinds = [int(rng.integers(0, len(SHAPES))) for _ in range(n_shapes)]
    for i, kind in enumerate(kinds):
        colour = _shade(rng, SHAPE_HUES[SHAPES[kind]])
        lo, hi = (0.35, 0.6) if i == 0 else (0.15, 0.35)
        if SHAPES[kind] == "triangle":
            lo, hi = lo * 1.3, min(0.9, hi * 1.3)
        # Width and height drawn independently: no two shapes alike.
        w, h = (rng.uniform(lo, hi, size=2) * big).round().astype(int)
        if SHAPES[kind] == "square":
            while abs(int(w) - int(h)) < 0.05 * big:  # never a true square
                w, h = (rng.uniform(lo, hi, size=2) * big).round().astype(int)
        x0 = int(rng.integers(0, big - w + 1))
        y0 = int(rng.integers(0, big - h + 1))
        box = (x0, y0, x0 + int(w) - 1, y0 + int(h) - 1)
        fill_id = i + 1
        if SHAPES[kind] == "circle":
            draw.ellipse(box, fill=colour)
            draw_ids.ellipse(box, fill=fill_id)
        elif SHAPES[kind] == "square":
            draw.rectangle(box, fill=colour)
            draw_ids.rectangle(box, fill=fill_id)
        else:
            # Three corners on three different sides of the box: a non-degenerate triangle.
            t = rng.uniform(0.0, 1.0, size=3)
            corners = [
                (x0 + t[0] * w, y0),
                (x0 + w, y0 + h),
                (x0, y0 + h * (0.5 + 0.5 * t[2])),
            ]
            if rng.random() < 0.5:  # point down as often as up
                corners = [(x, 2 * y0 + h - y) for x, y in corners]
            draw.polygon(corners, fill=colour)
            draw_ids.polygon(corners, fill=fill_id)
    rgb = np.asarray(image.resize((size, size), Image.Resampling.BOX))
    shape_ids = np.asarray(ids.resize((size, size), Image.Resampling.NEAREST))
    class_of_id = np.array([0, *[k + 1 for k in kinds]], dtype=np.uint8)
    mask = class_of_id[shape_ids]
    areas = [int((shape_ids == i + 1).sum()) for i in range(len(kinds))]
    per_class = np.zeros(len(SHAPES), dtype=np.int64)
    for kind, area in zip(kinds, areas, strict=True):
        per_class[kind] += area
    if per_class.max() == 0:  # everything hidden by rounding: the first drawn shape
        return rgb, mask, kinds[0]
    return np.ascontiguousarray(rgb), mask, int(per_class.argmax())


class ShapeSet(ColourDataset):
    """``n`` Shape Set images of ``size`` pixels, generated on demand from ``seed``.

    Labels index :data:`SHAPES`; masks use :data:`MASK_CLASSES`. Other arguments
    as :class:`tinct.data.base.ColourDataset`.
    """

    def __init__(
        self,
        n: int = 1000,
        size: int = 64,
        *,
        seed: int = 0,
        shapes: tuple[int, int] = (1, 4),
        space: str = "lab",
        transform: Transform | None = None,
        guidance: Sequence[str] = (),
    ) -> None:
        if n < 1:
            raise ValueError(f"a Shape Set needs at least one image, got n={n}")
        self.n, self.size, self.seed, self.shapes = n, size, seed, shapes
        self.classes = list(SHAPES)
        super().__init__(space=space, transform=transform, guidance=guidance)
        self._targets: list[int] | None = None

    def __len__(self) -> int:
        return self.n

    def load(self, index: int) -> RawItem:
        rgb, mask, label = render_shapes((self.seed, index), self.size, self.shapes)
        return RawItem(rgb=rgb, label=label, mask=mask)

    @property
    def targets(self) -> list[int]:
        """Labels of all items (rendered once, then remembered)."""
        if self._targets is None:
            self._targets = [self.load(i).label or 0 for i in range(self.n)]
        return self._targets

    @targets.setter
    def targets(self, value: list[int] | None) -> None:
        self._targets = value


def write_shapes(
    n: int,
    out_dir: str | os.PathLike[str],
    *,
    size: int = 64,
    seed: int = 0,
    shapes: tuple[int, int] = (1, 4),
    progress: bool = True,
) -> Path:
    """Write ``n`` Shape Set images as PNGs in class folders (``circle/``, ``square/``,
    ``triangle/``, readable by :class:`tinct.data.folders.ImageFolder`) with a
    ``labels.csv`` (file, label, class) and return ``out_dir``.

    Files are written atomically; an existing file of the same name is replaced.
    """
    from tinct.io import atomic_path, write_image

    out = Path(out_dir)
    rows = []
    for i in tqdm(range(n), desc="shapes", unit="img", disable=not progress):
        rgb, _mask, label = render_shapes((seed, i), size, shapes)
        rel = Path(SHAPES[label]) / f"shape_{i:06d}.png"
        write_image(out / rel, rgb)
        rows.append((rel.as_posix(), label, SHAPES[label]))
    with atomic_path(out / "labels.csv") as tmp, tmp.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "label", "class"])
        writer.writerows(rows)
    return out
