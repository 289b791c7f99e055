"""Adversarial objectives: discriminator and generator losses on raw discriminator logits.

Discriminators in tinct return raw scores (no sigmoid), one map per scale; the
objective decides what they mean. A multi-scale discriminator returns a list of maps,
and each loss is then the mean of its per-scale values (pix2pixHD, seed 004
section 4.1.3).

================  ===============================================  ================================
objective         discriminator loss                               generator adversarial term
================  ===============================================  ================================
``bce``           BCE(D(real), 1) + BCE(D(fake), 0)                BCE(D(fake), 1) (non-saturating)
``lsgan``         MSE(D(real), 1) + MSE(D(fake), 0)                MSE(D(fake), 1)
``hinge``         mean relu(1 - D(real)) + mean relu(1 + D(fake))  -mean D(fake)
``wgan``          mean D(fake) - mean D(real)                      -mean D(fake)
``wgan-sigmoid``  mean s(D(fake)) - mean s(D(real))                -mean s(D(fake))
================  ===============================================  ================================

``bce`` is pix2pix's objective (seed 000 eq. 4.5, seed 004 section 4.1.2) and seed 001's
(a sigmoid output with binary cross-entropy, eq. 4.4: BCE on logits is the same function,
computed stably). The discriminator loss is the *sum* of the real and the fake terms, as
seed 001 section 4.2.3 states (pix2pix's code halves it; that only rescales the
discriminator's learning rate under Adam, which is invariant to the scale of the loss).
``wgan`` is the critic difference (Arjovsky et al.), with no Lipschitz constraint of its
own: pair it with spectral normalisation or a gradient penalty. ``wgan-sigmoid`` is the
same difference as seed 003 writes it (section 5 and its baseline 1, section 6.1): its
discriminator ends in a sigmoid (``s``), so the losses are differences of mean
probabilities; bounded scores cannot diverge (their gradients vanish instead once the
discriminator is sure).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

Logits = Tensor | Sequence[Tensor]
Objective = Literal["bce", "lsgan", "hinge", "wgan", "wgan-sigmoid"]
OBJECTIVES: tuple[str, ...] = ("bce", "lsgan", "hinge", "wgan", "wgan-sigmoid")


def _bce(logits: Tensor, target: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def _mse(logits: Tensor, target: float) -> Tensor:
    return F.mse_loss(logits, torch.full_like(logits, target))


_D_LOSS: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "bce": lambda real, fake: _bce(real, 1.0) + _bce(fake, 0.0),
    "lsgan": lambda real, fake: _mse(real, 1.0) + _mse(fake, 0.0),
    "hinge": lambda real, fake: F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean(),
    "wgan": lambda real, fake: fake.mean() - real.mean(),
    "wgan-sigmoid": lambda real, fake: torch.sigmoid(fake).mean() - torch.sigmoid(real).mean(),
}

_G_LOSS: dict[str, Callable[[Tensor], Tensor]] = {
    "bce": lambda fake: _bce(fake, 1.0),
    "lsgan": lambda fake: _mse(fake, 1.0),
    "hinge": lambda fake: -fake.mean(),
    "wgan": lambda fake: -fake.mean(),
    "wgan-sigmoid": lambda fake: -torch.sigmoid(fake).mean(),
}


def _check(objective: str) -> None:
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown adversarial objective {objective!r}; choose one of {OBJECTIVES}")


def _as_list(logits: Logits, name: str) -> list[Tensor]:
    maps = [logits] if isinstance(logits, Tensor) else list(logits)
    if not maps:
        raise ValueError(f"{name}: no discriminator outputs")
    return maps


def discriminator_loss(objective: str, real: Logits, fake: Logits) -> Tensor:
    """Loss the discriminator minimises, given its logits on real and on generated
    samples (tensors, or one per scale); averaged over scales."""
    _check(objective)
    reals, fakes = _as_list(real, "real"), _as_list(fake, "fake")
    if len(reals) != len(fakes):
        raise ValueError(f"{len(reals)} real but {len(fakes)} fake discriminator outputs")
    fn = _D_LOSS[objective]
    return torch.stack([fn(r, f) for r, f in zip(reals, fakes, strict=True)]).mean()


def generator_loss(objective: str, fake: Logits) -> Tensor:
    """The generator's adversarial term, given the discriminator's logits on generated
    samples (tensor, or one per scale); averaged over scales."""
    _check(objective)
    fn = _G_LOSS[objective]
    return torch.stack([fn(f) for f in _as_list(fake, "fake")]).mean()


def mean_score(logits: Logits) -> Tensor:
    """Mean raw discriminator score over all patches and scales (for logging)."""
    return torch.stack([m.detach().float().mean() for m in _as_list(logits, "logits")]).mean()
