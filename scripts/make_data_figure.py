"""Make docs/datasets/examples.png: Shape Set, seed 001's augmentations and guidance maps.

Row 1: Shape Set images 0-7 of the training split (seed 0). Row 2: scikit-image's
astronaut.png (public domain), then each seed 001 augmentation alone (fixed generator
seed), then its Canny edge map and spectral-residual saliency map.

Usage: python scripts/make_data_figure.py [--out docs/datasets/examples.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import skimage.data
import torch

from tinct.data.guidance import canny_edges, spectral_residual_saliency
from tinct.data.shapes import SHAPES, render_shapes
from tinct.data.transforms import SEED001_AUGMENTATIONS, Resize, seed001_augmentation
from tinct.io import read_image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/datasets/examples.png"))
    args = parser.parse_args()
    fig, axes = plt.subplots(2, 8, figsize=(16, 4.6))
    for i, ax in enumerate(axes[0]):
        rgb, _mask, label = render_shapes((0, i), 64)
        ax.imshow(rgb)
        ax.set_title(f"Shape Set #{i}: {SHAPES[label]}", fontsize=8)
    photo = Path(skimage.data.__file__).parent / "astronaut.png"
    rgb_t, _ = Resize(160)(read_image(photo).float() / 255.0, None)
    panels = [("photo", rgb_t)]
    for k, kind in enumerate(SEED001_AUGMENTATIONS):
        gen = torch.Generator().manual_seed(10 + k)
        out, _ = seed001_augmentation([kind], generator=gen)(rgb_t, None)
        panels.append((kind, out))
    panels.append(("Canny edges", canny_edges(rgb_t).expand(3, -1, -1)))
    panels.append(("saliency (spectral residual)", spectral_residual_saliency(rgb_t)))
    for ax, (title, img) in zip(axes[1], panels, strict=True):
        if img.shape[0] == 1:
            ax.imshow(img[0].numpy(), cmap="magma", vmin=0, vmax=1)
        else:
            ax.imshow(img.permute(1, 2, 0).numpy())
        ax.set_title(title, fontsize=8)
    for ax in axes.flat:
        ax.axis("off")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=90)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
