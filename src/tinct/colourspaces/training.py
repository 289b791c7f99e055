"""Training one classifier with seed 000's schedule, and the attention ranking (§5.4).

Schedule (seed 000 appendix B.0.2): SGD with Nesterov momentum 0.9, batch 32, the
network's initial learning rate and weight decay (:data:`~tinct.colourspaces.model.SEED_OPTIM`),
learning rate divided by 10 after 50 % and 75 % of the epochs (``round()``ed, so half to
even: after epochs 3 and 4 of 6); augmentation pads 4 black
pixels on each side, takes a random 32x32 crop and flips horizontally with probability 0.5;
testing uses the single unaugmented view. The epoch count is the caller's (the seed's is 300).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from tinct.colourspaces.inputs import Component
from tinct.colourspaces.model import ColourSpaceClassifier

__all__ = [
    "Schedule",
    "TrainResult",
    "accuracy",
    "augment",
    "component_activations",
    "rank_components",
    "record_attention",
    "to_tensor",
    "train_classifier",
]


@dataclass(frozen=True)
class Schedule:
    """Seed 000 appendix B.0.2's schedule with a scaled epoch count."""

    epochs: int = 300
    batch_size: int = 32
    lr: float = 0.1
    weight_decay: float = 2e-4
    momentum: float = 0.9
    augment: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs and batch_size must be >= 1: {self}")
        if self.lr <= 0 or self.weight_decay < 0 or not 0 <= self.momentum < 1:
            raise ValueError(f"lr > 0, weight_decay >= 0, 0 <= momentum < 1 needed: {self}")


@dataclass
class TrainResult:
    """Test accuracy (percent) and the budget spent."""

    accuracy: float
    steps: int
    images_seen: int
    cpu_seconds: float
    wall_seconds: float


def to_tensor(images: np.ndarray) -> Tensor:
    """``(N, H, W, 3)`` uint8 -> ``(N, 3, H, W)`` float in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0


def augment(rgb: Tensor, generator: torch.Generator, pad: int = 4) -> Tensor:
    """Pad ``pad`` black pixels each side, random crop back to size, random horizontal flip
    (probability 0.5), independently per image of ``(B, 3, H, W)``."""
    b, _, h, w = rgb.shape
    padded = F.pad(rgb, (pad, pad, pad, pad))
    tops = torch.randint(0, 2 * pad + 1, (b,), generator=generator)
    lefts = torch.randint(0, 2 * pad + 1, (b,), generator=generator)
    rows = tops[:, None] + torch.arange(h)[None]  # (B, H)
    cols = lefts[:, None] + torch.arange(w)[None]  # (B, W)
    flip = torch.rand(b, generator=generator) < 0.5
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    index_b = torch.arange(b)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[index_b, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()


@torch.no_grad()
def accuracy(model: ColourSpaceClassifier, rgb: Tensor, labels: Tensor, batch: int = 256) -> float:
    """Top-1 accuracy in percent on the single unaugmented view (batches are moved to the
    model's device)."""
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for start in range(0, len(rgb), batch):
        logits = model(rgb[start : start + batch].to(device)).cpu()
        correct += int((logits.argmax(1) == labels[start : start + batch]).sum())
    return 100.0 * correct / max(1, len(rgb))


def train_classifier(
    model: ColourSpaceClassifier,
    train_rgb: Tensor,
    train_labels: Tensor,
    test_rgb: Tensor,
    test_labels: Tensor,
    schedule: Schedule,
    *,
    seed: int,
    device: str | torch.device = "cpu",
    on_epoch: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Fit the input statistics on ``train_rgb`` (training split only), train with
    ``schedule`` on ``device`` and return the test accuracy and budget; the model is back
    on the CPU afterwards. ``seed`` fixes the shuffling and augmentation (done on the CPU;
    the weights are initialised by the caller)."""
    start_cpu, start_wall = time.process_time(), time.perf_counter()
    model.inputs.fit(train_rgb[i : i + 512] for i in range(0, len(train_rgb), 512))
    model.to(device)
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.SGD(
        model.parameters(),
        lr=schedule.lr,
        momentum=schedule.momentum,
        nesterov=True,
        weight_decay=schedule.weight_decay,
    )
    milestones = sorted({max(1, round(schedule.epochs * f)) for f in (0.5, 0.75)})
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimiser, milestones, gamma=0.1)
    steps = seen = 0
    n = len(train_rgb)
    for epoch in range(schedule.epochs):
        model.train()
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for begin in range(0, n, schedule.batch_size):
            idx = order[begin : begin + schedule.batch_size]
            if len(idx) < 2:  # batch norm needs two images
                continue
            rgb = train_rgb[idx]
            if schedule.augment:
                rgb = augment(rgb, generator)
            loss = F.cross_entropy(model(rgb.to(device)), train_labels[idx].to(device))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            steps += 1
            seen += len(idx)
            total += float(loss.detach()) * len(idx)
        scheduler.step()
        if on_epoch is not None:
            on_epoch(epoch + 1, total / max(1, n))
    acc = accuracy(model, test_rgb, test_labels)
    model.cpu()
    return TrainResult(
        accuracy=acc,
        steps=steps,
        images_seen=seen,
        cpu_seconds=time.process_time() - start_cpu,
        wall_seconds=time.perf_counter() - start_wall,
    )


@torch.no_grad()
def record_attention(model: ColourSpaceClassifier, rgb: Tensor, batch: int = 256) -> Tensor:
    """Seed 000 §5.4 steps 2-3: the colour-attention gate vector averaged over ``rgb``,
    one entry per input channel ``(channels,)`` (float64). The model must have attention."""
    if model.attention is None:
        raise ValueError("the model has no colour attention (train it with attention=True)")
    model.eval()
    device = next(model.parameters()).device
    model.attention.start_recording()
    try:
        for start in range(0, len(rgb), batch):
            model(rgb[start : start + batch].to(device))
    finally:
        mean = model.attention.stop_recording()
    return mean


def component_activations(
    channel_activations: Sequence[float], channel_component: Sequence[int]
) -> list[float]:
    """Per-channel activations -> per-component (the mean over a component's channels:
    a circular hue has two, cos and sin)."""
    if len(channel_activations) != len(channel_component):
        raise ValueError(
            f"{len(channel_activations)} activations for {len(channel_component)} channels"
        )
    count = max(channel_component) + 1
    sums = [0.0] * count
    ns = [0] * count
    for value, owner in zip(channel_activations, channel_component, strict=True):
        sums[owner] += float(value)
        ns[owner] += 1
    return [s / k for s, k in zip(sums, ns, strict=True)]


def rank_components(
    components: Sequence[Component], activations: Sequence[float]
) -> list[tuple[Component, float]]:
    """Seed 000 §5.4 step 4: components with the strongest mean activation first; equal
    activations keep the input order (a deterministic ranking)."""
    if len(components) != len(activations):
        raise ValueError(f"{len(activations)} activations for {len(components)} components")
    order = sorted(range(len(components)), key=lambda i: (-float(activations[i]), i))
    return [(components[i], float(activations[i])) for i in order]
