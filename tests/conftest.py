"""Fixtures shared by the test files: one CPU thread, and tiny training runs.

The tiny-run factories give the smallest config a test can train a few steps with; each
file's differences (model, data source, step counts, extra sections) are parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import torch

from tinct.train import resolve_config

# A U-Net small enough to train a few steps in about a second on one core.
TINY_MODEL: dict[str, Any] = {"name": "unet", "kwargs": {"base_channels": 4, "depth": 2}}
TINY_TRAINER: dict[str, Any] = {
    "batch_size": 4,
    "max_steps": 4,
    "val_every_steps": 2,
    "checkpoint_every_steps": 2,
    "log_every_steps": 1,
    "num_sample_images": 2,
}


@pytest.fixture()
def one_thread() -> Iterator[None]:
    """Run the test on one torch thread (restored afterwards): steadier timings and no
    oversubscription on shared CI cores. Use with ``pytest.mark.usefixtures("one_thread")``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_tiny_config(
    out: Path,
    *,
    root: Path | None = None,
    model: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    trainer: Mapping[str, Any] | None = None,
    size: int = 32,
    name: str = "tiny",
    **sections: Any,
) -> dict[str, Any]:
    """A resolved config for a few training steps writing into ``out``.

    Args:
        out: the run's ``output_dir``.
        root: a folder of photos: trains on it (``data.kind: folder``, 8 crops per epoch,
            a quarter held out); None: ``data`` names the source.
        model: the ``model`` section, replacing the tiny U-Net as a whole.
        data: keys merged over the tiny data section.
        trainer: keys merged over :data:`TINY_TRAINER` (4 steps, batch 4, validation and
            checkpoint every 2 steps).
        size: training and validation crop size in pixels.
        name: the run's name.
        **sections: further config sections (``loss``, ``optim``, ``schedule``, ``gan``...),
            merged over the defaults by :func:`tinct.train.resolve_config`.
    """
    data_section: dict[str, Any] = {"image_size": size, "val_size": size, "num_workers": 0}
    if root is not None:
        data_section |= {
            "kind": "folder",
            "root": str(root),
            "samples_per_epoch": 8,
            "val_fraction": 0.25,
        }
    return resolve_config(
        {
            "name": name,
            "output_dir": str(out),
            "model": dict(model or TINY_MODEL),
            "data": data_section | dict(data or {}),
            "trainer": TINY_TRAINER | dict(trainer or {}),
            **sections,
        }
    )


def make_tiny_overrides(
    out: Path,
    *,
    steps: int = 2,
    batch_size: int = 2,
    log_every: int | None = 1,
    num_sample_images: int | None = 2,
    root: Path | None = None,
    size: int | None = None,
    val_fraction: float = 0.25,
) -> list[str]:
    """``key=value`` overrides that shrink a shipped YAML config to a run of ``steps`` steps
    (validation and checkpoint at the last) writing into ``out``.

    Args:
        log_every, num_sample_images: None keeps the config's value.
        root: a folder of photos replacing the config's data (``data.kind=folder``,
            4 crops per epoch, ``val_fraction`` held out).
        size: training and validation crop size; None keeps the config's.
    """
    overrides = [
        f"output_dir={out}",
        "data.num_workers=0",
        f"trainer.batch_size={batch_size}",
        f"trainer.max_steps={steps}",
        f"trainer.val_every_steps={steps}",
        f"trainer.checkpoint_every_steps={steps}",
    ]
    if log_every is not None:
        overrides.append(f"trainer.log_every_steps={log_every}")
    if num_sample_images is not None:
        overrides.append(f"trainer.num_sample_images={num_sample_images}")
    if root is not None:
        overrides += [
            "data.kind=folder",
            f"data.root={root}",
            "data.samples_per_epoch=4",
            f"data.val_fraction={val_fraction}",
        ]
    if size is not None:
        overrides += [f"data.image_size={size}", f"data.val_size={size}"]
    return overrides


@pytest.fixture()
def tiny_config() -> Callable[..., dict[str, Any]]:
    """The :func:`make_tiny_config` factory."""
    return make_tiny_config


@pytest.fixture()
def tiny_overrides() -> Callable[..., list[str]]:
    """The :func:`make_tiny_overrides` factory."""
    return make_tiny_overrides
