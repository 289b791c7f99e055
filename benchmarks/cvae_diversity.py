"""How different the samples of a sampling model (cvae, cvae-conv) are on the corpus test
split, and how far each sample is from the truth.

Every test photo is prepared as ``tinct evaluate`` prepares it (short side resized to
``--size``, centre square crop); the pipeline draws ``--samples`` colourisations of it
from a generator seeded with ``--seed`` (``ColourisePipeline.samples``, what
``tinct colourise --samples N --seed S`` does). Per image: the mean pairwise ab distance
per pixel over all pairs of samples and the standard deviation and range of the
samples' colourfulness (:func:`tinct.eval.sample_diversity`), and the mean over the
samples of their CIEDE2000 and ab RMSE to the truth; then also the best sample's (the
one closest to the truth by CIEDE2000, an oracle pick). The table gives means over the
images (all of the split's photos, as ``tinct evaluate`` takes them).

Usage: python benchmarks/cvae_diversity.py MODEL [--corpus corpus] [--split test]
           [--size 256] [--samples 8] [--seed 0] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from tinct.color import rgb_to_lab
from tinct.data.corpus import corpus_files
from tinct.eval import mean_diversity, sample_diversity
from tinct.eval.runner import image_metrics, prepare_truth
from tinct.io import read_image_numpy
from tinct.models import load_model
from tinct.pipeline import ColourisePipeline

KEYS = ("pairwise_ab", "colourfulness_mean", "colourfulness_std", "colourfulness_range")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--split", default="test")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    pipeline = ColourisePipeline(load_model(args.model), precision=args.precision)
    per_image = []
    divs = []
    for path in corpus_files(args.corpus, args.split):
        rgb = read_image_numpy(path)
        truth = prepare_truth(rgb, args.size)
        lab_true = rgb_to_lab(truth.float() / 255.0)
        outs = pipeline.samples(truth, args.samples, seed=args.seed)
        rows = [image_metrics(out, truth, lab_true)[0] for out in outs]
        div = sample_diversity(torch.stack(outs).float() / 255.0)
        divs.append(div)
        best = min(rows, key=lambda r: r["ciede2000"])
        per_image.append(
            {
                "image": str(path),
                **div.as_dict(),
                "ciede2000": float(np.mean([r["ciede2000"] for r in rows])),
                "rmse_ab": float(np.mean([r["rmse_ab"] for r in rows])),
                "best_ciede2000": best["ciede2000"],
                "best_rmse_ab": best["rmse_ab"],
            }
        )
    n = len(per_image)
    mean = mean_diversity(divs).as_dict()
    for key in ("ciede2000", "rmse_ab", "best_ciede2000", "best_rmse_ab"):
        mean[key] = sum(r[key] for r in per_image) / n
    print(
        f"{n} photos of the corpus '{args.split}' split at {args.size}x{args.size}, "
        f"{args.samples} samples each (seed {args.seed}), precision {pipeline.precision}\n"
    )
    print(
        "| pairwise ab distance | colourfulness mean | colourfulness std | colourfulness range "
        "| CIEDE2000 of a sample | RMSE ab of a sample | CIEDE2000 of the best sample "
        "| RMSE ab of the best sample |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        "| "
        + " | ".join(
            f"{mean[k]:.2f}"
            for k in (*KEYS, "ciede2000", "rmse_ab", "best_ciede2000", "best_rmse_ab")
        )
        + " |"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "mean": mean,
                    "per_image": per_image,
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
