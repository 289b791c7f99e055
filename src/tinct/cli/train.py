"""``tinct train``, ``tinct export`` and ``tinct models``: making and listing models."""

from __future__ import annotations

import argparse
from pathlib import Path

from tinct.cli._common import (
    EXIT_OK,
    add_command,
    add_distributed_arguments,
    distributed_overrides,
    fail,
    show_progress,
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = add_command(
        sub,
        "models",
        help="list bundled models and registered architectures",
        description="List bundled (trained) models and registered architectures.",
        examples="tinct models",
    )
    p.set_defaults(func=run_models)

    p = add_command(
        sub,
        "train",
        help="train a model from a YAML config",
        description="Train a colouriser from a YAML config (see configs/). Checkpoints, logs, "
        "sample grids and a loss curve go to the config's output_dir. model.init_from: "
        "default (or a model file) starts from trained weights (fine-tuning).",
        examples="""
        tinct train configs/default.yaml
        tinct train configs/finetune.yaml --set data.kind=folder --set data.root=~/photos
        tinct train configs/zhang-cpu.yaml --set trainer.max_steps=100 --resume auto
        tinct train configs/default.yaml --devices 2          # 2 CPU processes (DDP, gloo)
        tinct train configs/default.yaml --accelerator gpu --devices 8 --num-nodes 2
        """,
    )
    p.add_argument("config", help="YAML config file")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set trainer.max_steps=100 (repeatable)",
    )
    p.add_argument(
        "--resume",
        metavar="CKPT",
        help="resume from a checkpoint, or 'auto' for <output_dir>/checkpoints/last.ckpt",
    )
    p.add_argument("--output-dir", help="override output_dir")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    add_distributed_arguments(p)
    p.set_defaults(func=run_train)

    p = add_command(
        sub,
        "export",
        help="export a checkpoint as a small model file, or as ONNX",
        description="Write a training checkpoint as an exported tinct model file "
        "(fp16 by default), or, when the output ends in .onnx, a model (bundled name, model "
        "file or checkpoint) as an ONNX graph with dynamic batch and image size, for "
        "'tinct colourise --backend onnxruntime' or any ONNX runtime (regression, "
        "classification and gan families; cvae models cannot be exported). An existing "
        "output is replaced only with --overwrite.",
        examples="""
        tinct export runs/default/model.pt mine.pt --metadata name=mine
        tinct export default default.onnx
        tinct export zhang-cpu zhang.onnx --temperature 0.38
        """,
    )
    p.add_argument("checkpoint", help="checkpoint (.ckpt), model file or bundled model name")
    p.add_argument("output", help="output .pt file, or .onnx for an ONNX graph")
    p.add_argument("--fp32", action="store_true", help="keep float32 weights")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.add_argument(
        "--metadata",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="add to the file's metadata (repeatable); the source's metadata is kept",
    )
    p.add_argument(
        "--temperature",
        type=float,
        default=None,
        help="ONNX: annealed-mean temperature fixed in the graph (classification models; "
        "default: the model's own)",
    )
    p.add_argument("--opset", type=int, default=None, help="ONNX: opset version (default: 18)")
    p.set_defaults(func=run_export)


def run_models(args: argparse.Namespace) -> int:
    from tinct.models import BUNDLED, list_bundled, list_models, model_entry

    present = set(list_bundled())
    print("bundled models (trained, offline):")
    for name, entry in BUNDLED.items():
        state = "" if name in present else "  [weights missing]"
        print(f"  {name:<16} {entry.description}{state}")
    print("registered architectures (train with 'tinct train'):")
    for name in list_models():
        arch = model_entry(name)
        print(f"  {name:<16} [{arch.family}] {arch.description}")
    return EXIT_OK


def run_train(args: argparse.Namespace) -> int:
    from tinct.train import ConfigError, resolve_config, train

    try:
        config = resolve_config(args.config, [*args.set, *distributed_overrides(args)])
    except ConfigError as err:
        return fail(err)
    if args.output_dir:
        config["output_dir"] = args.output_dir
    try:
        path = train(config, resume=args.resume, progress=show_progress(args))
    except (FileNotFoundError, ValueError, KeyError) as err:  # data, checkpoint, config
        return fail(err)
    from tinct.train.distributed import launch_rank

    if launch_rank() == 0:  # every process of a data-parallel run gets here
        print(f"model written to {path}")
    return EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    from tinct.models import load_metadata, load_model, save_model
    from tinct.train.config import ConfigError, parse_value

    metadata_items = []
    for item in args.metadata:
        key, sep, value = item.partition("=")
        if not sep or not key:
            return fail(f"--metadata {item!r} must look like KEY=VALUE")
        metadata_items.append((key, value))
    output = Path(args.output)
    if output.exists() and not args.overwrite:
        return fail(f"{output} exists; pass --overwrite to replace it")
    if output.suffix.lower() == ".onnx":
        return _export_onnx(args, output)
    if args.temperature is not None or args.opset is not None:
        return fail("--temperature and --opset are for ONNX outputs (a .onnx file name)")
    try:
        model = load_model(args.checkpoint)
        metadata = {**load_metadata(args.checkpoint), "source": str(args.checkpoint)}
        for key, value in metadata_items:
            metadata[key] = parse_value(value, f"--metadata {key}")
    except (FileNotFoundError, ValueError, ConfigError) as err:
        return fail(err)
    path = save_model(model, output, half=not args.fp32, metadata=metadata)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return EXIT_OK


def _export_onnx(args: argparse.Namespace, output: Path) -> int:
    from tinct.models import load_model
    from tinct.pipeline.onnx import ONNX_OPSET, export_onnx

    if args.metadata or args.fp32:
        return fail("--metadata and --fp32 are for .pt outputs; an ONNX graph is float32")
    try:
        model = load_model(args.checkpoint)
        path = export_onnx(
            model,
            output,
            temperature=args.temperature,
            opset=args.opset or ONNX_OPSET,
            overwrite=args.overwrite,
        )
    except (FileNotFoundError, FileExistsError, ValueError) as err:
        return fail(err)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return EXIT_OK
