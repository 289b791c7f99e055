"""Speed of the three CIELAB implementations on a full-resolution 8-bit photo.

For an H x W sRGB uint8 image (default 1024x1024, random content): time to compute L*
and time to go from (L*, a*b*) back to 8-bit sRGB, with

- ``tinct.color`` (kornia-based float tensors, differentiable),
- ``tinct.color.u8``'s tensor functions (torch table look-ups on 8-bit data),
- ``tinct.color.u8``'s array functions (OpenCV; what the pipeline uses),

median of ``--repeats`` runs. Usage: python benchmarks/bench_color.py [--size 1024]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
import torch
from bench_inference import median_time

from tinct.color import lightness_chroma_to_rgb, rgb_to_lightness_chroma
from tinct.color.u8 import lab_lightness_u8, lab_to_rgb_u8, lab_to_srgb8, srgb8_to_lab_lightness


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    return median_time(fn, repeats, warmup=1) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    hwc = rng.integers(0, 256, size=(args.size, args.size, 3), dtype=np.uint8)
    chw = torch.from_numpy(hwc).permute(2, 0, 1)
    rgb = chw.float() / 255
    lightness, ab = rgb_to_lightness_chroma(rgb)
    l_np = lightness[0].numpy()
    ab_hwc = np.ascontiguousarray(ab.permute(1, 2, 0).numpy())
    rows = {
        "tinct.color (kornia, float)": (
            lambda: rgb_to_lightness_chroma(chw.float() / 255),
            lambda: (lightness_chroma_to_rgb(lightness, ab) * 255 + 0.5).to(torch.uint8),
        ),
        "tinct.color.u8 (torch tables)": (
            lambda: srgb8_to_lab_lightness(chw),
            lambda: lab_to_srgb8(lightness, ab),
        ),
        "tinct.color.u8 (OpenCV)": (
            lambda: lab_lightness_u8(hwc),
            lambda: lab_to_rgb_u8(l_np, ab_hwc),
        ),
    }
    print(f"{args.size}x{args.size} sRGB uint8, {torch.get_num_threads()} threads, median ms")
    print(f"{'implementation':<34}{'to L*':>8}{'back to sRGB8':>15}")
    for name, (forward, back) in rows.items():
        to_l, to_rgb = median_ms(forward, args.repeats), median_ms(back, args.repeats)
        print(f"{name:<34}{to_l:8.1f}{to_rgb:15.1f}")


if __name__ == "__main__":
    main()
