"""``tinct ssl pretrain | probe | finetune``: learning from colour (seed 000 chapter 3)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from tinct.cli._common import (
    EXIT_OK,
    add_command,
    fail,
    finite_float,
    positive_int,
    show_progress,
)

ENCODER_HELP = (
    "encoder.pt of 'tinct ssl pretrain', 'random' (ResNet-18), 'random:split-brain', "
    "'efficientnet-lite0' (ImageNet) or 'colouriser:NAME' (e.g. colouriser:default)"
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = add_command(
        sub,
        "ssl",
        help="self-supervised learning from colour: pretrain, probe, fine-tune",
        description="Self-supervised pretext methods (cross-channel, split-brain, SimCLR, "
        "contrasting L/ab, combined), linear probes and fine-tuning (seed 000 chapter 3).",
        examples="""
        tinct ssl pretrain configs/ssl/simclr.yaml
        tinct ssl probe runs/ssl/simclr/encoder.pt --data stl10
        tinct ssl finetune random --data corpus-labelled --root corpus --mode all
        """,
    )
    group = p.add_subparsers(dest="ssl_command", metavar="COMMAND", required=True)

    q = add_command(
        group,
        "pretrain",
        help="train a pretext method from a YAML config",
        description="Pretrain a backbone with a pretext method (configs/ssl/). Checkpoints, "
        "logs and a loss curve go to output_dir; the backbone to output_dir/encoder.pt.",
        examples="""
        tinct ssl pretrain configs/ssl/simclr.yaml
        tinct ssl pretrain configs/ssl/split-brain.yaml --set trainer.max_steps=100 --resume auto
        """,
    )
    q.add_argument("config", help="YAML config file")
    q.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value (repeatable)",
    )
    q.add_argument(
        "--resume",
        metavar="CKPT",
        help="a checkpoint, or 'auto' for <output_dir>/checkpoints/last.ckpt",
    )
    q.add_argument("--output-dir", help="override output_dir")
    q.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    q.set_defaults(func=run_pretrain)

    q = add_command(
        group,
        "probe",
        help="linear probe (logistic regression) on frozen features",
        description="Frozen features -> logistic regression (scikit-learn). STL-10: its 10 "
        "folds of 1000 labels (mean and standard deviation) and all 5000, tested on the test "
        "split; any other labelled dataset or class folder: k-fold cross-validation.",
        examples="""
        tinct ssl probe runs/ssl/simclr/encoder.pt --data stl10
        tinct ssl probe random --data corpus-labelled --root corpus --size 64 --crops 4
        """,
    )
    _eval_args(q)
    q.add_argument(
        "-c",
        "--inverse-regularisation",
        type=finite_float,
        default=1.0,
        help="logistic regression C (default 1)",
    )
    q.set_defaults(func=run_probe)

    q = add_command(
        group,
        "finetune",
        help="fine-tune an encoder for classification",
        description="Fine-tune an encoder with a classifier MLP on top: 'top' (body frozen, "
        "top layers at 1e-2), 'differential' (1e-2 top, 1e-3 rest), 'freeze' (the first k "
        "blocks frozen, seed 003 table 1) or 'all' (one rate; with 'random' and dropout 0.5 "
        "the supervised baseline).",
        examples="""
        tinct ssl finetune runs/ssl/split-brain/encoder.pt --data stl10 --mode differential
        tinct ssl finetune random --data corpus-labelled --root corpus --mode all --steps 100
        tinct ssl finetune colouriser:default --data cifar10 --mode freeze --freeze-blocks 2
        """,
    )
    _eval_args(q)
    q.add_argument(
        "--mode",
        choices=("top", "differential", "freeze", "all"),
        default="differential",
        help="what is trained (default differential)",
    )
    q.add_argument(
        "--freeze-blocks",
        type=positive_int,
        default=1,
        help="k for --mode freeze: blocks 1..k frozen (1-5)",
    )
    q.add_argument("--steps", type=positive_int, default=200, help="Adam steps per fold")
    q.add_argument("--batch-size", type=positive_int, default=64)
    q.add_argument("--lr-top", type=finite_float, default=1e-2)
    q.add_argument("--lr-body", type=finite_float, default=1e-3)
    q.add_argument("--dropout", type=finite_float, default=0.5)
    q.add_argument("--max-folds", type=positive_int, help="run only the first N folds")
    q.set_defaults(func=run_finetune)


def _eval_args(q: argparse.ArgumentParser) -> None:
    q.add_argument("encoder", help=ENCODER_HELP)
    q.add_argument(
        "--data",
        required=True,
        help="labelled dataset (stl10, cifar10, corpus-labelled...) or class folder",
    )
    q.add_argument("--root", help="data root (the dataset's folder or its parent)")
    q.add_argument("--split", help="split to cross-validate on (default: all, else the first)")
    q.add_argument("--size", type=positive_int, default=96, help="image side in pixels")
    q.add_argument(
        "--crops", type=positive_int, default=1, help="random crops per image (with --crop-scale)"
    )
    q.add_argument(
        "--crop-scale",
        type=finite_float,
        nargs=2,
        default=(1.0, 1.0),
        metavar=("LOW", "HIGH"),
        help="crop side / short side (default 1 1: centre)",
    )
    q.add_argument(
        "--folds", type=positive_int, default=5, help="k of the cross-validation (not STL-10)"
    )
    q.add_argument("--width", type=positive_int, default=64, help="width of a random ResNet-18")
    q.add_argument(
        "--stem",
        default="stl10",
        choices=("stl10", "cifar", "imagenet"),
        help="stem of a random ResNet-18",
    )
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--json", metavar="FILE", help="also write the scores as JSON")
    q.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def run_pretrain(args: argparse.Namespace) -> int:
    from tinct.ssl.config import resolve_ssl_config
    from tinct.ssl.pretrain import pretrain
    from tinct.train import ConfigError

    try:
        config = resolve_ssl_config(args.config, [*args.set])
    except ConfigError as err:
        return fail(err)
    if args.output_dir:
        config["output_dir"] = args.output_dir
    try:
        path = pretrain(config, resume=args.resume, progress=show_progress(args))
    except (FileNotFoundError, ValueError, KeyError) as err:
        return fail(err)
    print(f"encoder written to {path}")
    return EXIT_OK


def _load(args: argparse.Namespace) -> tuple[Any, Any]:
    from tinct.ssl.encoders import load_encoder
    from tinct.ssl.evaluate import load_labelled

    low, high = args.crop_scale
    if not 0 < low <= high <= 1:
        raise ValueError(f"--crop-scale must satisfy 0 < LOW <= HIGH <= 1, got {low} {high}")
    encoder = load_encoder(args.encoder, width=args.width, stem=args.stem)
    data = load_labelled(
        args.data,
        root=args.root,
        split=args.split,
        size=args.size,
        crops=args.crops,
        scale=(low, high),
        seed=args.seed,
        progress=show_progress(args),
    )
    return encoder, data


def _write_json(path: str | None, payload: dict[str, Any]) -> None:
    if path:
        from pathlib import Path

        out = Path(path)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(json.dumps(payload, indent=2) + "\n")
        tmp.replace(out)


def run_probe(args: argparse.Namespace) -> int:
    from tinct.ssl.evaluate import probe_protocol

    try:
        encoder, data = _load(args)
        scores = probe_protocol(
            encoder,
            data,
            k=args.folds,
            seed=args.seed,
            c=args.inverse_regularisation,
            progress=show_progress(args),
        )
    except (FileNotFoundError, ValueError, KeyError) as err:
        return fail(err)
    print(f"linear probe of {encoder.name} ({encoder.out_dim}-d) on {data.name}:")
    for name, s in scores.items():
        print(
            f"  {name:<14} {100 * s.mean:5.1f} ± {100 * s.std:.1f} % ({len(s.accuracies)} fold(s))"
        )
    _write_json(
        args.json,
        {
            "encoder": args.encoder,
            "data": args.data,
            "scores": {k: v.as_dict() for k, v in scores.items()},
        },
    )
    return EXIT_OK


def run_finetune(args: argparse.Namespace) -> int:
    from tinct.ssl.encoders import load_encoder
    from tinct.ssl.evaluate import finetune_protocol

    try:
        encoder, data = _load(args)
        if args.mode == "freeze" and not 1 <= args.freeze_blocks <= len(encoder.block_groups()):
            return fail(f"--freeze-blocks must be 1..{len(encoder.block_groups())}")
        out = finetune_protocol(
            lambda: load_encoder(args.encoder, width=args.width, stem=args.stem),
            data,
            mode=args.mode,
            freeze_blocks=args.freeze_blocks,
            steps=args.steps,
            batch_size=args.batch_size,
            lr_top=args.lr_top,
            lr_body=args.lr_body,
            dropout=args.dropout,
            k=args.folds,
            max_folds=args.max_folds,
            seed=args.seed,
            progress=show_progress(args),
        )
    except (FileNotFoundError, ValueError, KeyError) as err:
        return fail(err)
    s = out["test"]
    print(
        f"fine-tuned {encoder.name} ({args.mode}) on {data.name}: test accuracy "
        f"{100 * s.mean:.1f} ± {100 * s.std:.1f} % over {len(s.accuracies)} fold(s)"
    )
    _write_json(
        args.json,
        {
            "encoder": args.encoder,
            "data": args.data,
            "mode": args.mode,
            "test": s.as_dict(),
            "train": out["train"].as_dict(),
            "budget": out["budget"],
        },
    )
    return EXIT_OK
