"""Choose an ``effnet-hybrid`` model's decoding (blend of its two heads, annealed-mean
temperature, chroma gain) on a validation split, and write a copy of the model that
decodes that way.

Every (blend, temperature, gain) triple of the grid colourises the same validation images
through the same pipeline as ``tinct evaluate --precision fp32`` (256 px centre crops,
chroma joined with the lightness); the network runs once per image, only the decoding
changes. The triple chosen is, among those whose mean CIEDE2000 is at least ``--margin``
below the greyscale baseline's on those images, the most accurate one whose colourfulness
reaches ``--target`` times the truth's (more colour than the truth is no virtue); when none
reaches it, the most colourful accurate one; when none is accurate enough, the one with
the lowest CIEDE2000. The table of every triple is printed and written as CSV next to the
output, so the choice can be checked.

    python scripts/tune_decode.py runs/vivid/model.pt -o runs/vivid/model-tuned.pt \
        --data corpus --split val --root corpus

The test split is never read here: report it once, afterwards, with ``tinct evaluate``.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import torch

from tinct.color import rgb_to_lab
from tinct.data.registry import open_target
from tinct.eval.metrics import colourfulness, delta_e_ciede2000
from tinct.eval.truth import greyscale_baseline, prepare_truth
from tinct.models import load_metadata, load_model, save_model
from tinct.pipeline import ColourisePipeline
from tinct.pipeline.core import as_hwc_uint8


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="an effnet-hybrid model file")
    parser.add_argument("-o", "--out", required=True, help="the tuned model file to write")
    parser.add_argument("--data", default="corpus")
    parser.add_argument("--split", default="val")
    parser.add_argument("--root", default="corpus")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--blends", type=float, nargs="+", default=[0.0, 0.25, 0.5, 0.75, 1.0])
    parser.add_argument("--temperatures", type=float, nargs="+", default=[0.2, 0.38, 0.6, 1.0])
    parser.add_argument("--gains", type=float, nargs="+", default=[1.0, 1.15, 1.3, 1.45])
    parser.add_argument("--margin", type=float, default=1.0, help="CIEDE2000 below greyscale")
    parser.add_argument(
        "--target", type=float, default=0.9, help="colourfulness / the truth's to reach"
    )
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    args = parser.parse_args(argv)

    out = Path(args.out)
    if out.exists() and not args.force:
        parser.error(f"--out {out} exists; pass --force to replace it")
    model = load_model(args.model)
    if not all(hasattr(model, k) for k in ("blend", "temperature", "gain")):
        parser.error(f"{args.model}: a {model.registry_name!r} model has no blend/temperature/gain")
    dataset, name = open_target(args.data, args.split, args.root)
    truths = [prepare_truth(dataset.load(i).rgb, args.size) for i in range(len(dataset))]
    labs = [rgb_to_lab(t.float() / 255.0) for t in truths]
    grey = sum(
        delta_e_ciede2000(rgb_to_lab(greyscale_baseline(t).float() / 255.0), lab).mean().item()
        for t, lab in zip(truths, labs, strict=True)
    ) / len(truths)
    true_m = sum(colourfulness(t.float() / 255.0).item() for t in truths) / len(truths)
    print(
        f"{name} {args.split}: {len(truths)} images; greyscale CIEDE2000 {grey:.3f}; "
        f"true colourfulness {true_m:.2f}"
    )

    rows = []
    grid = [
        (b, t, g)
        for b in args.blends
        for t in (args.temperatures if b > 0 else args.temperatures[:1])
        for g in args.gains
    ]
    # One network pass per image at fp32 (what `tinct evaluate --precision fp32` runs);
    # only the decoding changes between settings.
    pipe = ColourisePipeline(model, precision="fp32")
    net = pipe.model
    with torch.inference_mode():
        raw = [net(pipe._model_lightness(as_hwc_uint8(t))).float() for t in truths]
        for blend, temp, gain in grid:
            net.blend.fill_(blend)
            net.gain.fill_(gain)
            de = m = 0.0
            for t, lab, output in zip(truths, labs, raw, strict=True):
                chroma = net.decode(output, temperature=temp)[0]
                rgb = torch.from_numpy(pipe.recombine(as_hwc_uint8(t), chroma)).permute(2, 0, 1)
                de += delta_e_ciede2000(rgb_to_lab(rgb.float() / 255.0), lab).mean().item()
                m += colourfulness(rgb.float() / 255.0).item()
            row = {
                "blend": blend,
                "temperature": temp if blend > 0 else "",
                "gain": gain,
                "ciede2000": de / len(truths),
                "colourfulness": m / len(truths),
            }
            row["colourfulness_ratio"] = row["colourfulness"] / true_m
            rows.append(row)
            print(
                f"blend {blend:.2f} T {temp:.2f} gain {gain:.2f}: CIEDE2000 "
                f"{row['ciede2000']:.3f} colourfulness {row['colourfulness']:.2f} "
                f"({row['colourfulness_ratio']:.3f})",
                flush=True,
            )
    ok = [r for r in rows if r["ciede2000"] <= grey - args.margin]
    vivid = [r for r in ok if r["colourfulness_ratio"] >= args.target]
    if vivid:  # the most accurate of those colourful enough
        best, why = min(vivid, key=lambda r: r["ciede2000"]), "meets both"
    elif ok:  # the most colourful of those accurate enough
        best, why = max(ok, key=lambda r: r["colourfulness"]), "meets the margin only"
    else:
        best, why = min(rows, key=lambda r: r["ciede2000"]), "meets neither"
    blend = float(best["blend"])
    temp = float(best["temperature"]) if best["temperature"] != "" else args.temperatures[0]
    gain = float(best["gain"])
    print(
        f"chosen: blend {blend} temperature {temp} gain {gain} ({why}: CIEDE2000 <= "
        f"greyscale - {args.margin}, colourfulness >= {args.target} x truth)"
    )
    model.blend.fill_(blend)
    model.temperature.fill_(temp)
    model.gain.fill_(gain)
    meta = load_metadata(args.model)
    meta["decode_tuning"] = {
        "data": f"{name} {args.split}",
        "images": len(truths),
        "size": args.size,
        "greyscale_ciede2000": grey,
        "true_colourfulness": true_m,
        "margin": args.margin,
        "target": args.target,
        "blend": blend,
        "temperature": temp,
        "gain": gain,
        "command": "python scripts/tune_decode.py " + " ".join(argv or sys.argv[1:]),
    }
    save_model(model, out, metadata=meta)
    table = out.with_suffix(".tuning.csv")
    with open(table, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {out} and {table}")
    return 0


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    sys.exit(main())
