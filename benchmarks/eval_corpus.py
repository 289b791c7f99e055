"""Quality of colourisers on the corpus test split, next to the greyscale baseline.

Every test photo is resized (Pillow, area filter) so its long side is at most
``--max-side`` pixels; that is the ground truth. Each model colourises it through the
user-facing pipeline (which only sees its lightness) at the model's default
resolution. Per image: PSNR (RGB), mean CIEDE2000 and CIE76 Delta E (Lab), RMSE of
ab, and the colourfulness M of Hasler & Süsstrunk (2003); the table gives means over
the images and the ratio of mean M to the ground truth's.

Usage: python benchmarks/eval_corpus.py MODEL [MODEL ...] [--corpus corpus] [--split test]
           [--max-side 512] [--markdown OUT.md] [--json OUT.json]
MODEL is a bundled name, a model file or checkpoint; "greyscale" (the input's
lightness with zero chroma) is always included.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from tinct.color import rgb_to_lab
from tinct.data.corpus import corpus_files
from tinct.eval.metrics.pixel import colourfulness
from tinct.eval.truth import greyscale_baseline, image_metrics
from tinct.io import read_image_numpy
from tinct.models import load_model
from tinct.pipeline import ColourisePipeline, native_bf16

METRICS = ("psnr_db", "ciede2000", "cie76", "rmse_ab", "colourfulness")


def load_truth(path: Path, max_side: int) -> np.ndarray:
    rgb = read_image_numpy(path)
    h, w = rgb.shape[:2]
    if max(h, w) > max_side:
        scale = max_side / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        rgb = np.array(Image.fromarray(rgb).resize(size, Image.Resampling.BOX))
    return rgb


def to_float(rgb: np.ndarray | torch.Tensor) -> torch.Tensor:
    t = torch.from_numpy(rgb).permute(2, 0, 1) if isinstance(rgb, np.ndarray) else rgb
    return t.float() / 255.0


def measure(output: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
    """The metrics of this table, as ``tinct evaluate`` computes them."""
    row, _ = image_metrics(output, truth, rgb_to_lab(truth.float() / 255.0))
    return {
        "psnr_db": row["psnr"],
        "ciede2000": row["ciede2000"],
        "cie76": row["cie76"],
        "rmse_ab": row["rmse_ab"],
        "colourfulness": row["colourfulness"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("models", nargs="+", help="bundled names, model files or checkpoints")
    parser.add_argument("--names", nargs="*", default=None, help="display names for the models")
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--split", default="test")
    parser.add_argument("--max-side", type=int, default=512)
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    parser.add_argument(
        "--precision-drift",
        action="store_true",
        help="also print how far bf16 inference moves the first model's predicted ab from fp32",
    )
    parser.add_argument("--markdown", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    names = args.names or args.models
    if len(names) != len(args.models):
        parser.error("--names needs one name per model")

    files = corpus_files(args.corpus, args.split)
    truths = [load_truth(f, args.max_side) for f in files]
    pipelines = {
        n: ColourisePipeline(load_model(m), precision=args.precision)
        for n, m in zip(names, args.models, strict=True)
    }
    per_image: dict[str, list[dict[str, float]]] = {"greyscale": [], **{n: [] for n in pipelines}}
    truth_m: list[float] = []
    seconds: dict[str, float] = dict.fromkeys(per_image, 0.0)
    for truth_np in truths:
        truth8 = torch.from_numpy(truth_np).permute(2, 0, 1).contiguous()
        truth_m.append(colourfulness(to_float(truth8)).item())
        start = time.perf_counter()
        grey = greyscale_baseline(truth8)
        seconds["greyscale"] += time.perf_counter() - start
        per_image["greyscale"].append(measure(grey, truth8))
        for name, pipeline in pipelines.items():
            start = time.perf_counter()
            out = pipeline(truth8)
            seconds[name] += time.perf_counter() - start
            per_image[name].append(measure(out, truth8))

    summary: dict[str, dict[str, float]] = {}
    for name, rows in per_image.items():
        means = {k: float(np.mean([r[k] for r in rows])) for k in METRICS}
        means["colourfulness_ratio"] = means["colourfulness"] / float(np.mean(truth_m))
        means["seconds_per_image"] = seconds[name] / len(rows)
        summary[name] = means
    header = (
        f"{len(files)} photos of the corpus '{args.split}' split, long side <= {args.max_side} px; "
        f"ground-truth colourfulness {np.mean(truth_m):.1f}; network precision {args.precision}"
        + (
            f" ({'bf16' if native_bf16() else 'fp32'} on this CPU)"
            if args.precision == "auto"
            else ""
        )
    )
    lines = [
        header,
        "",
        "| model | PSNR (dB) ↑ | CIEDE2000 ↓ | CIE76 ↓ | RMSE ab ↓ | colourfulness | "
        "vs. truth | s/image |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, m in summary.items():
        lines.append(
            f"| {name} | {m['psnr_db']:.2f} | {m['ciede2000']:.2f} | {m['cie76']:.2f} | "
            f"{m['rmse_ab']:.2f} | {m['colourfulness']:.1f} | {m['colourfulness_ratio']:.2f} | "
            f"{m['seconds_per_image']:.3f} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.precision_drift:
        model = load_model(args.models[0])
        fp32 = ColourisePipeline(model, precision="fp32")
        bf16 = ColourisePipeline(model, precision="bf16")
        drift = [
            (fp32.predict_chroma(t) - bf16.predict_chroma(t)).abs().mean().item() for t in truths
        ]
        print(
            f"\nbf16 vs fp32, {names[0]}: mean |delta ab| {np.mean(drift):.2f} "
            f"(largest per-photo mean {np.max(drift):.2f}) at model resolution"
        )
    if args.markdown:
        args.markdown.write_text(table + "\n")
    if args.json:
        payload = {
            "split": args.split,
            "max_side": args.max_side,
            "files": [str(f) for f in files],
            "summary": summary,
            "truth_colourfulness": truth_m,
            "per_image": per_image,
        }
        args.json.write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
