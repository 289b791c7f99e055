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
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def _env(threads: int) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": str(threads)}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        env.pop(name, None)
    return env


def _tree_cpu(root: int, seen: dict[int, float]) -> None:
    """Record the CPU seconds so far of ``root`` and its descendants (from /proc) in
    ``seen`` (pid -> seconds): processes Lightning or a pool starts are counted even when
    nobody waits for them, which ``getrusage(RUSAGE_CHILDREN)`` would miss."""
    tick = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    for pid in cpu:
        p = pid
        while p in parent and p != root and p > 1:
            p = parent[p]
        if p == root:
            seen[pid] = max(seen.get(pid, 0.0), cpu[pid])


def _run(cmd: list[str], threads: int) -> tuple[float, float]:
    """Wall and CPU seconds (all of this command's processes) of ``cmd``."""
    start = time.perf_counter()
    seen: dict[int, float] = {}
    with subprocess.Popen(
        cmd, env=_env(threads), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as proc:
        while proc.poll() is None:
            _tree_cpu(proc.pid, seen)
            time.sleep(0.2)
        stderr = proc.stderr.read() if proc.stderr else ""
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr[-3000:]}")
    return wall, sum(seen.values())


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _link_photos(files: list[Path], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        (folder / f.name).symlink_to(f.resolve())
    return folder


def bench_train(args: argparse.Namespace) -> None:
    from tinct.data.corpus import corpus_files
    from tinct.models import load_metadata

    photos = corpus_files(args.corpus, "train")[: args.photos]
    load = _load()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = _link_photos(photos, Path(tmp) / "photos")
        for turn, processes in enumerate((1, 2) * args.rounds):
            out = Path(tmp) / f"run{turn}"
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
          f"{os.cpu_count()} cores; {load}, after: {_load()}")  # fmt: skip
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
    load = _load()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = _link_photos(photos, Path(tmp) / "photos")
        for turn, jobs in enumerate((1, 2) * args.rounds):
            out = Path(tmp) / f"out{turn}"
            cmd = [sys.executable, "-m", "tinct", "colourise", str(folder), "-o", str(out),
                   "--allow-colour", "-q", "--jobs", str(jobs)]  # fmt: skip
            if jobs == 1:
                cmd += ["--threads", "2"]
            wall, cpu = _run(cmd, 2 // jobs)
            written = sum(1 for _ in out.rglob("*.*"))
            rows.append((jobs, 2 // jobs, written, wall, cpu))
    pixels = statistics.median(_pixels(p) for p in photos) / 1e6
    print(f"# batch colourisation, {len(photos)} corpus test photos (median {pixels:.1f} MP), "
          f"default model; {load}, after: {_load()}")  # fmt: skip
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
    load = _load()
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
                pipes = (("torch", torch_pipe), ("auto", auto_pipe), ("onnxruntime", onnx_pipe))
                calls = {}
                for label, pipe in pipes:
                    net = pipe.model
                    layout = torch.channels_last if pipe.channels_last else torch.contiguous_format
                    x = lightness.contiguous(memory_format=layout)

                    def step(net: Any = net, x: torch.Tensor = x) -> None:
                        with torch.inference_mode():
                            net.decode(net(x).float())

                    calls[label] = step
                    calls[label + " e2e"] = lambda pipe=pipe: pipe(photo)
                # The backends take turns call by call, so load from other processes on
                # the machine slows them alike.
                times = _median_ms_interleaved(calls, args.repeats)
                rows.append((name, threads, times))
    h, w = photo.shape[:2]
    from tinct.pipeline.core import resolve_precision

    auto = resolve_precision("auto")
    print(f"# network step at 256x256 and one {w}x{h} corpus photo end to end, median of "
          f"{args.repeats} calls taking turns; torch {torch.__version__}; precision auto = "
          f"{auto} on this CPU; {load}, after: {_load()}")  # fmt: skip
    print("| model | threads | network ms: torch fp32 | torch auto | onnxruntime fp32 "
          "| photo ms: torch fp32 | torch auto | onnxruntime fp32 |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for name, threads, t in rows:
        print(f"| {name} | {threads} | {t['torch']:.1f} | {t['auto']:.1f} "
              f"| {t['onnxruntime']:.1f} | {t['torch e2e']:.1f} | {t['auto e2e']:.1f} "
              f"| {t['onnxruntime e2e']:.1f} |")  # fmt: skip


def _median_ms_interleaved(
    calls: dict[str, Callable[[], object]], repeats: int
) -> dict[str, float]:
    """Median ms of each call, the calls taking turns (2 warm-up rounds first)."""
    times: dict[str, list[float]] = {label: [] for label in calls}
    for turn in range(repeats + 2):
        for label, call in calls.items():
            start = time.perf_counter()
            call()
            if turn >= 2:
                times[label].append((time.perf_counter() - start) * 1000)
    return {label: statistics.median(t) for label, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["train", "colourise", "onnx"])
    parser.add_argument("--corpus", default="/work/corpus")
    parser.add_argument("--photos", type=int, default=48, help="train: corpus photos")
    parser.add_argument("--steps", type=int, default=30, help="train: steps")
    parser.add_argument("--batch", type=int, default=16, help="train: global batch")
    parser.add_argument("--images", type=int, default=38, help="colourise: photos")
    parser.add_argument("--repeats", type=int, default=20, help="onnx: timed calls")
    parser.add_argument("--rounds", type=int, default=2, help="train, colourise: turns")
    args = parser.parse_args()
    {"train": bench_train, "colourise": bench_colourise, "onnx": bench_onnx}[args.what](args)


if __name__ == "__main__":
    main()
