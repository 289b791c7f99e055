"""Scale-out figures: 1 vs. 2 processes for training and for batch colourisation, and the
network's latency in torch and in ONNX Runtime.

- ``train``: ``tinct train configs/default.yaml`` (EfficientNet-Lite0 U-Net, 3.6 M
  parameters) for ``--steps`` steps on ``--photos`` corpus training photos, global batch
  ``--batch`` of 128 px crops, once as 1 process with 2 threads and once as 2 DDP
  processes (gloo) with 1 thread and half the batch each. Reports the training loop's
  seconds (the model file's ``train_seconds``: first step to the end, with one
  validation of 8 images), images/s, the command's wall time (start-up, photo loading
  and process launch included) and its CPU time (all processes).
- ``colourise``: ``tinct colourise`` of ``--images`` corpus test photos with the default
  model, as ``--jobs 1 --threads 2`` and as ``--jobs 2`` (1 thread each); wall time of the
  command (model loading included) and images/s.
- ``onnx``: median latency of the network step (lightness in, decoded chroma out, as the
  pipeline calls it: fused, fp32) at 256x256 for the bundled default and zhang-cpu models,
  torch against ONNX Runtime, on 1 and 2 threads; and the end-to-end time of one corpus
  photo through :class:`tinct.pipeline.ColourisePipeline` with each backend.

Usage: python benchmarks/bench_scale.py {train,colourise,onnx} [--corpus DIR] ...
Prints a markdown table (docs/results/scale.md, docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _env(threads: int) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": str(threads)}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        env.pop(name, None)
    return env


def _run(cmd: list[str], threads: int) -> tuple[float, float]:
    """Wall and CPU seconds (this command's processes, children included) of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=_env(threads), capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _link_photos(files: list[Path], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        (folder / f.name).symlink_to(f.resolve())
    return folder


def bench_train(args: argparse.Namespace) -> None:
    from tinct.data.corpus import corpus_files
    from tinct.models import load_metadata

    photos = corpus_files(args.corpus, "train")[: args.photos]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = _link_photos(photos, Path(tmp) / "photos")
        for processes in (1, 2):
            out = Path(tmp) / f"run{processes}"
            per_process = args.batch // processes
            cmd = [
                sys.executable, "-m", "tinct", "train", str(REPO / "configs/default.yaml"),
                "-q", "--devices", str(processes), "--output-dir", str(out),
                "--set", "data.kind=folder", "--set", f"data.root={folder}",
                "--set", "data.val_fraction=0.1", "--set", "data.image_size=128",
                "--set", "data.val_size=128", "--set", "data.max_val_images=8",
                "--set", "data.num_workers=0", "--set", "model.kwargs.pretrained=false",
                "--set", f"trainer.batch_size={per_process}",
                "--set", f"trainer.max_steps={args.steps}",
                "--set", f"trainer.val_every_steps={args.steps}",
                "--set", f"trainer.checkpoint_every_steps={args.steps}",
                "--set", "trainer.num_sample_images=2", "--set", "trainer.max_time=null",
                "--set", f"trainer.threads={2 // processes}",
            ]  # fmt: skip
            wall, cpu = _run(cmd, 2 // processes)
            meta = load_metadata(out / "model.pt")
            seconds = float(meta["train_seconds"])
            steps = int(meta["global_step"])
            rows.append((processes, 2 // processes, per_process, steps, seconds, wall, cpu))
    print(f"# training, {args.photos} photos, global batch {args.batch} of 128 px crops, "
          f"{args.steps} steps; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores")  # fmt: skip
    print("| processes x threads | batch per process | steps | training loop s | images/s "
          "| command wall s | command CPU s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for processes, threads, per, steps, seconds, wall, cpu in rows:
        rate = steps * args.batch / seconds
        print(f"| {processes} x {threads} | {per} | {steps} | {seconds:.1f} | {rate:.1f} "
              f"| {wall:.1f} | {cpu:.1f} |")  # fmt: skip


def bench_colourise(args: argparse.Namespace) -> None:
    from tinct.data.corpus import corpus_files

    photos = corpus_files(args.corpus, "test")[: args.images]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = _link_photos(photos, Path(tmp) / "photos")
        for jobs in (1, 2):
            out = Path(tmp) / f"out{jobs}"
            cmd = [sys.executable, "-m", "tinct", "colourise", str(folder), "-o", str(out),
                   "--allow-colour", "-q", "--jobs", str(jobs)]  # fmt: skip
            if jobs == 1:
                cmd += ["--threads", "2"]
            wall, cpu = _run(cmd, 2 // jobs)
            written = sum(1 for _ in out.rglob("*.*"))
            rows.append((jobs, 2 // jobs, written, wall, cpu))
    pixels = statistics.median(_pixels(p) for p in photos) / 1e6
    print(f"# batch colourisation, {len(photos)} corpus test photos (median {pixels:.1f} MP), "
          "default model")  # fmt: skip
    print("| jobs x threads | images written | command wall s | images/s | command CPU s |")
    print("|---|---|---|---|---|")
    for jobs, threads, written, wall, cpu in rows:
        print(f"| {jobs} x {threads} | {written} | {wall:.1f} | {written / wall:.2f} "
              f"| {cpu:.1f} |")  # fmt: skip


def _pixels(path: Path) -> int:
    from PIL import Image

    with Image.open(path) as im:
        return im.width * im.height


def bench_onnx(args: argparse.Namespace) -> None:
    import torch

    from tinct.data.corpus import corpus_files
    from tinct.io import read_image_numpy
    from tinct.models import load_model
    from tinct.pipeline import ColourisePipeline
    from tinct.pipeline.onnx import OnnxColouriser, export_onnx

    # The largest of the first 20 test photos: a photo of a typical size, not a thumbnail.
    photo = read_image_numpy(max(corpus_files(args.corpus, "test")[:20], key=_pixels))
    lightness = torch.rand(1, 1, 256, 256) * 100.0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("default", "zhang-cpu"):
            model = load_model(name)
            path = export_onnx(model, Path(tmp) / f"{name}.onnx")
            for threads in (1, 2):
                torch.set_num_threads(threads)
                torch_pipe = ColourisePipeline(model, precision="fp32")
                auto_pipe = ColourisePipeline(model, precision="auto")
                onnx_pipe = ColourisePipeline(
                    OnnxColouriser(path, threads=threads), precision="fp32", channels_last=False
                )
                times = {}
                pipes = (("torch", torch_pipe), ("auto", auto_pipe), ("onnxruntime", onnx_pipe))
                for label, pipe in pipes:
                    net = pipe.model
                    x = lightness.contiguous(
                        memory_format=torch.channels_last if pipe.channels_last else
                        torch.contiguous_format
                    )  # fmt: skip

                    def step(net=net, x=x) -> None:  # type: ignore[no-untyped-def]
                        with torch.inference_mode():
                            net.decode(net(x).float())

                    times[label] = _median_ms(step, args.repeats)
                    times[label + " e2e"] = _median_ms(lambda p=pipe: p(photo), args.repeats // 2)
                rows.append((name, threads, times))
    h, w = photo.shape[:2]
    from tinct.pipeline.core import resolve_precision

    auto = resolve_precision("auto")
    print(f"# network step at 256x256 (median of {args.repeats}) and one {w}x{h} corpus "
          f"photo end to end (median of {args.repeats // 2}); torch {torch.__version__}; "
          f"precision auto = {auto} on this CPU")  # fmt: skip
    print("| model | threads | network ms: torch fp32 | torch auto | onnxruntime fp32 "
          "| photo ms: torch fp32 | torch auto | onnxruntime fp32 |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for name, threads, t in rows:
        print(f"| {name} | {threads} | {t['torch']:.1f} | {t['auto']:.1f} "
              f"| {t['onnxruntime']:.1f} | {t['torch e2e']:.1f} | {t['auto e2e']:.1f} "
              f"| {t['onnxruntime e2e']:.1f} |")  # fmt: skip


def _median_ms(fn: object, repeats: int) -> float:
    call = fn  # type: ignore[assignment]
    for _ in range(2):
        call()  # type: ignore[operator]
    times = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        call()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["train", "colourise", "onnx"])
    parser.add_argument("--corpus", default="/work/corpus")
    parser.add_argument("--photos", type=int, default=48, help="train: corpus photos")
    parser.add_argument("--steps", type=int, default=30, help="train: steps")
    parser.add_argument("--batch", type=int, default=16, help="train: global batch")
    parser.add_argument("--images", type=int, default=38, help="colourise: photos")
    parser.add_argument("--repeats", type=int, default=20, help="onnx: timed calls")
    args = parser.parse_args()
    {"train": bench_train, "colourise": bench_colourise, "onnx": bench_onnx}[args.what](args)


if __name__ == "__main__":
    main()
