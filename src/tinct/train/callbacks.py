"""Training callbacks: sample grids (grey | prediction | truth), loss-curve PNGs and the
cumulative training time."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import Tensor

from tinct.color import lightness_chroma_to_rgb
from tinct.data.sample import Sample
from tinct.io import write_image
from tinct.models import Colouriser


def _to_uint8(rgb: Tensor) -> np.ndarray:
    return (rgb.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(1, 2, 0).numpy()


def sample_grid(lightness: Tensor, predicted: Tensor, truth: Tensor, space: str) -> np.ndarray:
    """Rows of grey | prediction | truth as one uint8 ``(H, W, 3)`` array.

    ``lightness`` ``(B, 1, h, w)``, ``predicted`` and ``truth`` chroma ``(B, 2, h, w)``,
    all in colour-space units; a prediction at a lower resolution (classification
    networks predict at 1/4) is upsampled bilinearly, as the pipeline does.
    """
    if predicted.shape[-2:] != lightness.shape[-2:]:
        predicted = torch.nn.functional.interpolate(
            predicted, size=lightness.shape[-2:], mode="bilinear", align_corners=False
        )
    grey = lightness_chroma_to_rgb(lightness, torch.zeros_like(truth), space)
    pred = lightness_chroma_to_rgb(lightness, predicted, space)
    real = lightness_chroma_to_rgb(lightness, truth, space)
    rows = [torch.cat([g, p, r], dim=-1) for g, p, r in zip(grey, pred, real, strict=True)]
    return _to_uint8(torch.cat(rows, dim=-2))


class SampleGrid(L.Callback):
    """After each validation, writes ``samples/step_XXXXXXX.png`` for a fixed set of images."""

    def __init__(self, batch: Sample, out_dir: Path, space: str) -> None:
        self.batch = batch
        self.out_dir = out_dir
        self.space = space

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        model = pl_module.model
        if not isinstance(model, Colouriser):
            raise TypeError("SampleGrid needs a LightningModule with a Colouriser as .model")
        was_training = model.training
        model.eval()
        with torch.inference_mode():
            lightness = self.batch.l.to(pl_module.device)
            chroma = model.decode(model(lightness)).cpu()
        model.train(was_training)
        grid = sample_grid(self.batch.l, chroma, self.batch.chroma, self.space)
        write_image(self.out_dir / f"step_{trainer.global_step:07d}.png", grid)


def read_metrics(csv_path: Path) -> dict[str, list[tuple[int, float]]]:
    """Series ``name -> [(step, value), ...]`` from a Lightning CSVLogger metrics file."""
    series: dict[str, list[tuple[int, float]]] = {}
    with open(csv_path, newline="") as f:
        for row in csv.DictReader(f):
            step = int(float(row.get("step") or 0))
            for key, value in row.items():
                if key in ("step", "epoch") or value in (None, ""):
                    continue
                series.setdefault(key, []).append((step, float(value)))
    return series


def plot_loss_curves(csv_path: Path, out_png: Path) -> Path:
    """Plot every ``*loss*`` series of a metrics CSV (log-scale y; symmetric log when a
    series has values <= 0) into ``out_png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = {k: v for k, v in read_metrics(csv_path).items() if "loss" in k}
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, points in sorted(series.items()):
        steps, values = zip(*points, strict=True)
        ax.plot(steps, values, label=name, marker="o" if len(points) < 30 else None)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    # Adversarial losses (hinge, WGAN) can be negative: symmetric log scale then.
    positive = all(v > 0 for points in series.values() for _, v in points)
    ax.set_yscale("log" if positive else "symlog", **({} if positive else {"linthresh": 1e-2}))
    ax.grid(True, alpha=0.3)
    if series:
        ax.legend()
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_png.with_name(f".{out_png.stem}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(out_png)
    return out_png


class LossCurve(L.Callback):
    """Redraws ``loss_curve.png`` from the CSV log after each validation and at the end."""

    def __init__(self, out_png: Path) -> None:
        self.out_png = out_png

    def _draw(self, trainer: L.Trainer) -> None:
        if not trainer.is_global_zero:
            return
        for logger in trainer.loggers:
            if isinstance(logger, L.pytorch.loggers.CSVLogger):
                logger.save()
                path = Path(logger.log_dir) / "metrics.csv"
                if path.is_file():
                    plot_loss_curves(path, self.out_png)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        if not trainer.sanity_checking:
            self._draw(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        self._draw(trainer)


class TrainTimer(L.Callback):
    """Wall-clock training time, summed over resumed runs (kept in checkpoints), logged
    as ``train_time_s`` after every validation and at the end of training."""

    #: The clock (seconds) and the logged metric's name; :class:`CpuBudget` changes both.
    clock = staticmethod(time.perf_counter)
    metric = "train_time_s"

    def __init__(self) -> None:
        self.previous = 0.0  # seconds of earlier runs, restored from a checkpoint
        self.started: float | None = None

    @property
    def seconds(self) -> float:
        running = self.clock() - self.started if self.started is not None else 0.0
        return self.previous + running

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.started = self.clock()

    def _log(self, trainer: L.Trainer) -> None:
        for logger in trainer.loggers:
            logger.log_metrics({self.metric: self.seconds}, step=trainer.global_step)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._log(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._log(trainer)
        self.previous = self.seconds
        self.started = None

    def state_dict(self) -> dict[str, float]:
        return {"seconds": self.seconds}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.previous = float(state_dict.get("seconds", 0.0))


class CpuBudget(TrainTimer):
    """Ends training once the training process has used ``minutes`` of CPU time (user +
    system over all its threads, :func:`time.process_time`), summed over resumed runs
    (kept in checkpoints). A CPU budget is the same amount of work for every model
    whatever else shares the machine, unlike wall-clock ``max_time``; data-loader worker
    processes are not counted (use ``data.num_workers: 0`` to count everything).
    The spent CPU seconds are logged as ``train_cpu_s`` with every validation."""

    clock = staticmethod(time.process_time)
    metric = "train_cpu_s"

    def __init__(self, minutes: float | None) -> None:
        super().__init__()
        self.limit = None if minutes is None else 60.0 * minutes

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any
    ) -> None:
        if self.limit is not None and self.seconds >= self.limit:
            trainer.should_stop = True
