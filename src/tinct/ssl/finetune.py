"""Fine-tuning a pretrained encoder for classification.

Modes (``mode``):

* ``"top"``: freeze the body and train only the top layers (the two layers of the
  classifier MLP), Adam at ``lr_top`` (1e-2) -- seed 000 section 3.4.3, "Freeze & Training
  Top-layers";
* ``"differential"``: train everything, ``lr_top`` (1e-2) for the top layers and
  ``lr_body`` (1e-3) for the encoder -- seed 000 section 3.4.3, "differential learning";
* ``"freeze"``: freeze the first ``freeze_blocks`` = k of the encoder's five blocks
  (k = 1..5, seed 003 table 1), the rest trained as in ``"differential"``;
* ``"all"``: everything at ``lr_top``; with a random encoder and dropout 0.5 this is
  seed 000's fully supervised baseline ("random initialisation + dropout").

Frozen blocks get no gradient, are left out of the optimiser and keep their batch-norm
statistics (they stay in eval mode while the rest trains).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from tinct.ssl.encoders import FeatureEncoder
from tinct.ssl.views import LabelledViews

__all__ = ["MODES", "Classifier", "FinetuneResult", "accuracy", "finetune", "param_groups"]

MODES = ("top", "differential", "freeze", "all")


class Classifier(nn.Module):
    """An encoder with a classifier MLP on top: Linear(D, hidden), ReLU, Dropout(p),
    Linear(hidden, classes) -- the "top 2 layers" of seed 000 section 3.4.3."""

    def __init__(
        self, encoder: FeatureEncoder, classes: int, *, hidden: int = 512, dropout: float = 0.5
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.top = nn.Sequential(
            nn.Linear(encoder.out_dim, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, classes),
        )
        self.frozen: list[nn.Module] = []

    def forward(self, rgb: Tensor) -> Tensor:
        return self.top(self.encoder(rgb))

    def train(self, mode: bool = True) -> Classifier:
        super().train(mode)
        for module in self.frozen:
            module.eval()
        return self


def param_groups(
    model: Classifier,
    mode: str,
    *,
    lr_top: float = 1e-2,
    lr_body: float = 1e-3,
    freeze_blocks: int = 0,
) -> list[dict[str, object]]:
    """Freeze what ``mode`` freezes (``requires_grad`` off, eval mode) and return the
    optimiser's parameter groups: ``[top]`` or ``[top, body]`` with their learning rates."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    blocks = model.encoder.block_groups()
    if mode == "freeze" and not 1 <= freeze_blocks <= len(blocks):
        raise ValueError(f"freeze_blocks must be 1..{len(blocks)}, got {freeze_blocks}")
    k = {"top": len(blocks), "freeze": freeze_blocks}.get(mode, 0)
    frozen = [m for group in blocks[:k] for m in group]
    for p in model.parameters():
        p.requires_grad_(True)
    frozen_ids = set()
    for module in frozen:
        for p in module.parameters():
            p.requires_grad_(False)
            frozen_ids.add(id(p))
    model.frozen = frozen
    model.train(model.training)
    top = list(model.top.parameters())
    top_ids = {id(p) for p in top}
    body = [p for p in model.parameters() if id(p) not in top_ids and id(p) not in frozen_ids]
    if mode == "all":
        return [{"params": top + body, "lr": lr_top}]
    groups: list[dict[str, object]] = [{"params": top, "lr": lr_top}]
    if body:
        groups.append({"params": body, "lr": lr_body})
    return groups


@dataclass
class FinetuneResult:
    """Training and test accuracy of one fine-tuning run, with its budget."""

    train_accuracy: float
    test_accuracy: float
    steps: int
    images_seen: int
    cpu_seconds: float


@torch.no_grad()
def accuracy(model: Classifier, views: LabelledViews, *, batch_size: int = 128) -> float:
    was_training = model.training
    model.eval()
    correct = 0
    for start in range(0, len(views), batch_size):
        x = torch.from_numpy(views.images[start : start + batch_size]).float() / 255.0
        y = torch.from_numpy(views.labels[start : start + batch_size])
        correct += int((model(x).argmax(dim=1) == y).sum())
    model.train(was_training)
    return correct / max(1, len(views))


def finetune(
    model: Classifier,
    train: LabelledViews,
    test: LabelledViews,
    *,
    mode: str = "differential",
    steps: int = 200,
    batch_size: int = 64,
    lr_top: float = 1e-2,
    lr_body: float = 1e-3,
    freeze_blocks: int = 0,
    seed: int = 0,
    progress: bool = False,
) -> FinetuneResult:
    """Train ``model`` on ``train`` for ``steps`` Adam steps (random horizontal flips),
    then measure its accuracy on ``train`` and ``test``."""
    import time

    start_cpu = time.process_time()
    groups = param_groups(model, mode, lr_top=lr_top, lr_body=lr_body, freeze_blocks=freeze_blocks)
    optimiser = torch.optim.Adam(groups)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    n = len(train)
    for _ in tqdm(range(steps), desc=f"fine-tuning ({mode})", disable=not progress):
        idx = torch.randint(0, n, (min(batch_size, n),), generator=gen).numpy()
        x = torch.from_numpy(train.images[idx]).float() / 255.0
        flip = torch.rand(len(idx), generator=gen) < 0.5
        x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
        y = torch.from_numpy(train.labels[idx])
        loss = F.cross_entropy(model(x), y)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    return FinetuneResult(
        train_accuracy=accuracy(model, train),
        test_accuracy=accuracy(model, test),
        steps=steps,
        images_seen=steps * min(batch_size, n),
        cpu_seconds=time.process_time() - start_cpu,
    )


def split_by_items(
    views: LabelledViews, test_items: np.ndarray
) -> tuple[LabelledViews, LabelledViews]:
    """``(train, test)``: the views of the items not in / in ``test_items``."""
    test = np.isin(views.items, test_items)
    return views.subset(np.flatnonzero(~test)), views.subset(np.flatnonzero(test))
