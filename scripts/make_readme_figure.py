"""Make docs/images/before_after.jpg: grey input | default model | vivid model | original.

Photos: scikit-image's rocket.jpg (corpus validation split) and astronaut.png (training
split), both public domain / CC0 (see scikit-image's data licences).

Usage: python scripts/make_readme_figure.py [--height 256] [--models default vivid]
                                           [--out docs/images/before_after.jpg]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

import tinct
from tinct.io import read_image_numpy, write_image

PHOTOS = ("rocket.jpg", "astronaut.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--models", nargs="+", default=["default", "vivid"])
    parser.add_argument("--out", type=Path, default=Path("docs/images/before_after.jpg"))
    args = parser.parse_args()
    folder = Path(skimage.data.__file__).parent
    rows = []
    for name in PHOTOS:
        original = read_image_numpy(folder / name)
        grey = np.asarray(Image.fromarray(original).convert("L").convert("RGB"))
        coloured = [tinct.colourise(grey, model=m) for m in args.models]
        h, w = original.shape[:2]
        size = (round(w * args.height / h), args.height)
        panels = [
            np.asarray(Image.fromarray(img).resize(size, Image.Resampling.LANCZOS))
            for img in (grey, *coloured, original)
        ]
        gap = np.full((args.height, 4, 3), 255, dtype=np.uint8)
        row = [panels[0]]
        for panel in panels[1:]:
            row += [gap, panel]
        rows.append(np.concatenate(row, axis=1))
    width = max(r.shape[1] for r in rows)
    padded = [
        np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows
    ]
    write_image(args.out, np.concatenate(padded, axis=0)[:-4], quality=88)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
