"""Pictures of where a model fails, for its model card: the ``--worst`` images of a split
on which the model's CIEDE2000 exceeds the greyscale input's by the most, each row
grey input | each ``--compare`` model | the model | original, with both Delta E printed.

Usage: python scripts/make_failure_figure.py vivid --compare default --data corpus \
           --root corpus --split test --worst 3 --out docs/models/vivid_failures.jpg
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from tinct.color import rgb_to_lab
from tinct.data.registry import open_target
from tinct.eval.metrics import delta_e_ciede2000
from tinct.eval.truth import greyscale_baseline, prepare_truth
from tinct.io import write_image
from tinct.models import load_model
from tinct.pipeline import ColourisePipeline


def _delta_e(rgb: torch.Tensor, truth: torch.Tensor) -> float:
    lab = rgb_to_lab(rgb.float() / 255.0)
    return float(delta_e_ciede2000(lab, rgb_to_lab(truth.float() / 255.0)).mean())


def _label(img: np.ndarray, text: str) -> np.ndarray:
    pil = Image.fromarray(img)
    draw = ImageDraw.Draw(pil)
    draw.rectangle((0, 0, 8 + 7 * len(text), 16), fill=(0, 0, 0))
    draw.text((4, 2), text, fill=(255, 255, 255))
    return np.asarray(pil)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("--compare", nargs="*", default=["default"])
    parser.add_argument("--data", default="corpus")
    parser.add_argument("--root", default="corpus")
    parser.add_argument("--split", default="test")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--worst", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    names = [*args.compare, args.model]
    pipes = {n: ColourisePipeline(load_model(n)) for n in names}
    dataset, _ = open_target(args.data, args.split, args.root)
    scored = []
    for i in range(len(dataset)):
        truth = prepare_truth(dataset.load(i).rgb, args.size)
        grey = greyscale_baseline(truth)
        outs = {n: p(truth) for n, p in pipes.items()}
        gap = _delta_e(outs[args.model], truth) - _delta_e(grey, truth)
        scored.append((gap, truth, grey, outs))
    scored.sort(key=lambda s: -s[0])
    rows = []
    gap_col = np.full((args.size, 4, 3), 255, dtype=np.uint8)
    for _, truth, grey, outs in scored[: args.worst]:
        panels = [_label(grey.permute(1, 2, 0).numpy(), f"grey {_delta_e(grey, truth):.1f}")]
        for n in names:
            rgb = outs[n]
            panels.append(_label(rgb.permute(1, 2, 0).numpy(), f"{n} {_delta_e(rgb, truth):.1f}"))
        panels.append(_label(truth.permute(1, 2, 0).numpy(), "original"))
        row = [panels[0]]
        for p in panels[1:]:
            row += [gap_col, p]
        rows.append(np.concatenate(row, axis=1))
        rows.append(np.full((4, rows[-1].shape[1], 3), 255, dtype=np.uint8))
    write_image(args.out, np.concatenate(rows[:-1], axis=0), quality=85)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
