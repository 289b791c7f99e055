"""Optimisers and learning-rate schedules by name: the tables a config's ``optim.name``
and ``schedule.name`` are checked against and built from."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from tinct.train.sections import OptimSection, ScheduleSection

#: (parameter groups, weight decay, betas, momentum or None) -> optimiser.
OptimiserFactory = Callable[
    [list[dict[str, Any]], float, tuple[float, float], float | None], torch.optim.Optimizer
]

OPTIMISERS: dict[str, OptimiserFactory] = {
    "adamw": lambda groups, wd, betas, _m: torch.optim.AdamW(groups, betas=betas, weight_decay=wd),
    "adam": lambda groups, wd, betas, _m: torch.optim.Adam(groups, betas=betas, weight_decay=wd),
    "sgd": lambda groups, wd, _b, momentum: torch.optim.SGD(
        groups, momentum=0.9 if momentum is None else momentum, weight_decay=wd
    ),
    # Nesterov's accelerated gradient (NAG), seed 003's optimiser for its baseline 2.
    "nag": lambda groups, wd, _b, momentum: torch.optim.SGD(
        groups, momentum=0.9 if momentum is None else momentum, weight_decay=wd, nesterov=True
    ),
    "rmsprop": lambda groups, wd, _b, momentum: torch.optim.RMSprop(
        groups, momentum=momentum or 0.0, weight_decay=wd
    ),
}


def _cosine(progress: float) -> float:
    return 0.5 * (1.0 + math.cos(math.pi * progress))


#: Name -> learning-rate factor after the warm-up, as a function of the progress 0..1.
SCHEDULES: dict[str, Callable[[float], float]] = {
    "cosine": _cosine,
    "constant": lambda _progress: 1.0,
}


def make_optimizer(
    groups: list[dict[str, Any]], optim: OptimSection, *, betas: Sequence[float] | None = None
) -> torch.optim.Optimizer:
    """The optimiser ``optim.name`` over parameter ``groups`` (each with its ``lr``), with
    the section's weight decay, betas (or ``betas``) and momentum (rmsprop: default 0;
    sgd and nag: default 0.9)."""
    chosen = tuple(betas if betas is not None else optim.betas)
    return OPTIMISERS[optim.name](
        groups, optim.weight_decay, (float(chosen[0]), float(chosen[1])), optim.momentum
    )


def make_scheduler(
    optimiser: torch.optim.Optimizer, schedule: ScheduleSection, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over ``schedule.warmup_steps``, then ``schedule.name`` (constant, or
    cosine decay to 0 at ``total_steps``); stepped once per training step."""
    warmup = schedule.warmup_steps
    after = SCHEDULES[schedule.name]

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return after(min(1.0, (step - warmup) / max(1, total_steps - warmup)))

    return torch.optim.lr_scheduler.LambdaLR(optimiser, factor)
