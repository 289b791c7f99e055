"""Shared by the benchmark scripts that train their own runs (gan_results.py,
guided_results.py): one ``tinct train`` run that skips a finished run and resumes an
interrupted one, and what a finished run's model file says about its budget."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tinct.models import load_metadata


def run_info(model_file: Path) -> dict[str, Any]:
    """Steps, batch, images seen, crop size, wall-clock and CPU training seconds and the
    CPU budget of the finished run that wrote ``model_file``."""
    meta = load_metadata(model_file)
    steps = int(meta["global_step"])
    batch = int(meta["config"]["trainer"]["batch_size"])
    return {
        "steps": steps,
        "batch": batch,
        "images": steps * batch,
        "size": int(meta["config"]["data"]["image_size"]),
        "seconds": float(meta.get("train_seconds", float("nan"))),
        "cpu_seconds": float(meta.get("train_cpu_seconds", float("nan"))),
        "cpu_budget": meta["config"]["trainer"].get("max_cpu_minutes"),
    }


def train_run(config: Path, out: Path, overrides: list[str], label: str) -> None:
    """``tinct train config --output-dir out --set ...`` unless ``out/model.pt`` exists,
    resuming from ``out/checkpoints/last.ckpt`` when there is one; prints the run's steps
    and minutes."""
    if (out / "model.pt").is_file():
        return
    cmd = [sys.executable, "-m", "tinct", "train", str(config), "-q", "--output-dir", str(out)]
    for override in overrides:
        cmd += ["--set", override]
    if (out / "checkpoints" / "last.ckpt").is_file():
        cmd += ["--resume", "auto"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    info = run_info(out / "model.pt")
    print(
        f"{label}: {info['steps']} steps, {info['cpu_seconds'] / 60:.1f} CPU-min, "
        f"{(time.perf_counter() - t0) / 60:.1f} wall-min",
        flush=True,
    )
