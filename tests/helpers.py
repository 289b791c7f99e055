"""Small synthetic photos for tests: smooth colour gradients with shapes, saved as real files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def synthetic_photo(height: int, width: int, seed: int) -> np.ndarray:
    """An ``(H, W, 3)`` uint8 image: a colour gradient with a few coloured shapes."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(0, 255, size=3)
    slope = rng.uniform(-1, 1, size=(3, 2))
    img = np.stack(
        [
            base[c] + slope[c, 0] * 200 * y / height + slope[c, 1] * 200 * x / width
            for c in range(3)
        ],
        axis=-1,
    )
    pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)
    for _ in range(3):
        x0, y0 = rng.integers(0, width // 2), rng.integers(0, height // 2)
        x1, y1 = x0 + rng.integers(4, width // 2 + 5), y0 + rng.integers(4, height // 2 + 5)
        draw.ellipse((x0, y0, x1, y1), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    return np.asarray(pil)


def write_photos(
    folder: Path, count: int, size: tuple[int, int] = (72, 96), ext: str = "png"
) -> list[Path]:
    """Write ``count`` synthetic photos into ``folder``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"photo_{i:02d}.{ext}"
        Image.fromarray(synthetic_photo(*size, seed=i)).save(path)
        paths.append(path)
    return paths


def write_lightness_coded_photos(folder: Path, count: int, size: int = 40) -> list[Path]:
    """Photos whose colour is a fixed function of brightness (dark blue -> bright orange),
    so a colouriser can learn chroma from lightness alone within a few steps."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    paths = []
    for i in range(count):
        fx, fy, phase = rng.uniform(1, 4), rng.uniform(1, 4), rng.uniform(0, 6.28)
        g = 0.5 + 0.5 * np.sin(fx * 6.28 * x + phase) * np.cos(fy * 6.28 * y)
        rgb = np.stack([0.1 + 0.9 * g, 0.1 + 0.6 * g, 0.8 - 0.7 * g], axis=-1)
        path = folder / f"coded_{i:02d}.png"
        Image.fromarray((rgb * 255).round().astype(np.uint8)).save(path)
        paths.append(path)
    return paths
