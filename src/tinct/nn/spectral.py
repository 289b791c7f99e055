"""Spectral norm of every weighted layer, and its removal (seed 000 sec. 4.5, seed 004 4.1.3)."""

from __future__ import annotations

from torch import nn
from torch.nn.utils import parametrizations, parametrize

_WEIGHTED = (
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
    nn.Linear,
)


def spectral_norm_all(module: nn.Module, *, n_power_iterations: int = 1) -> nn.Module:
    """Apply spectral normalisation to every convolution (transposed too) and linear layer.

    Uses :func:`torch.nn.utils.parametrizations.spectral_norm`, so the weight is divided
    by its largest singular value (estimated by power iteration, one step per training
    forward) and the parameter count does not change. Layers already parametrised are
    left alone; ``module`` is changed in place and returned. Seed 000 section 4.5 (SN on
    G and D, after Zhang et al.'s SAGAN), seed 004 section 4.1.3 (SN in Górriz et al.'s D).
    """
    if n_power_iterations < 1:
        raise ValueError(f"n_power_iterations must be >= 1, got {n_power_iterations}")
    for layer in list(module.modules()):
        if isinstance(layer, _WEIGHTED) and not parametrize.is_parametrized(layer, "weight"):
            parametrizations.spectral_norm(layer, n_power_iterations=n_power_iterations)
    return module


def remove_spectral_norm(module: nn.Module) -> int:
    """Replace every spectrally normalised weight under ``module`` by its current
    normalised value (a plain parameter again); returns how many. For inference: the
    result computes what the eval-mode parametrised network computes, without the
    per-call division, and its batch norms can then be folded."""
    count = 0
    for layer in list(module.modules()):
        if parametrize.is_parametrized(layer, "weight"):
            parametrize.remove_parametrizations(layer, "weight", leave_parametrized=True)
            count += 1
    return count
