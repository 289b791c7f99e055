"""Make docs/images/cvae_samples.jpg: grey input | 4 samples of the cvae model | original.

The samples are what `tinct colourise grey.png -m MODEL --samples 4 --seed 1` writes:
``tinct.colourise(grey, model=MODEL, samples=4, seed=1)``, the model seeing only the
grey image. The photo is one of the corpus test split (never trained on).

Usage: python scripts/make_cvae_figure.py PHOTO [--model src/tinct/weights/cvae.pt]
           [--height 160] [--out docs/images/cvae_samples.jpg]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

import tinct
from tinct.io import read_image_numpy, write_image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("photo", type=Path)
    parser.add_argument("--model", default="src/tinct/weights/cvae.pt")
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--height", type=int, default=160)
    parser.add_argument("--max-side", type=int, default=512)
    parser.add_argument("--out", type=Path, default=Path("docs/images/cvae_samples.jpg"))
    args = parser.parse_args()
    original = read_image_numpy(args.photo)
    h, w = original.shape[:2]
    if max(h, w) > args.max_side:  # the size a user's scan would have; keeps it quick
        scale = args.max_side / max(h, w)
        size = (round(w * scale), round(h * scale))
        original = np.asarray(Image.fromarray(original).resize(size, Image.Resampling.BOX))
        h, w = original.shape[:2]
    grey = np.asarray(Image.fromarray(original).convert("L").convert("RGB"))
    samples = tinct.colourise(grey, model=args.model, samples=args.samples, seed=args.seed)
    size = (round(w * args.height / h), args.height)
    panels = [
        np.asarray(Image.fromarray(np.asarray(img)).resize(size, Image.Resampling.LANCZOS))
        for img in (grey, *samples, original)
    ]
    gap = np.full((args.height, 4, 3), 255, dtype=np.uint8)
    row = [panels[0]]
    for panel in panels[1:]:
        row += [gap, panel]
    write_image(args.out, np.concatenate(row, axis=1), quality=88)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
