"""Empirical prior over ab bins and class-rebalancing weights (seed 002 section 3.3).

Colourisation as classification (Zhang, Isola & Efros 2016; seed 000 section 4.4.1): an
empirical prior over a data set (:class:`BinPrior`, pixels counted in the bins of
:mod:`tinct.color.quantize`) gives class-rebalancing weights (:func:`rebalancing_weights`,
Zhang eq. 4 / seed 000 eq. 4.3), from a prior smoothed in ab space if asked
(:func:`smooth_prior`).

Units: bins are ``(Q, 2)`` float32 tensors of CIELAB (D65) bin-centre (a, b) pairs, about
-110..110, row q being class q; priors and weights are ``(Q,)``, entry q for class q. Images
are ``(B, 2, H, W)`` ab.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from tinct.color._checks import check_bins
from tinct.color.quantize import nearest_bin

__all__ = [
    "BinPrior",
    "dataset_prior",
    "rebalancing_weights",
    "smooth_prior",
]

_PRIOR_FORMAT = "tinct-bin-prior"


# --- Empirical prior ---------------------------------------------------------------------------


class BinPrior:
    """Streaming empirical distribution of ab pixels over bins (the p of Zhang eq. 4).

    Each pixel counts once, for its nearest bin (:func:`nearest_bin`), as in Zhang et al.'s
    released code (a histogram of hard-quantised ab), not with soft-encoded fractions.
    Counts are int64, so the state is exact and merges of shards add up to the whole.

    Args:
        bins: ``(Q, 2)`` bin centres (copied to the CPU as float32).
    """

    def __init__(self, bins: Tensor) -> None:
        check_bins(bins, "BinPrior")
        self._bins = bins.detach().to("cpu", torch.float32).clone()
        self._counts = torch.zeros(self._bins.shape[0], dtype=torch.int64)

    @property
    def bins(self) -> Tensor:
        """A copy of the ``(Q, 2)`` float32 bin centres."""
        return self._bins.clone()

    @property
    def num_bins(self) -> int:
        return int(self._bins.shape[0])

    @property
    def counts(self) -> Tensor:
        """A copy of the ``(Q,)`` int64 pixel counts."""
        return self._counts.clone()

    @property
    def num_pixels(self) -> int:
        return int(self._counts.sum())

    @property
    def probabilities(self) -> Tensor:
        """``(Q,)`` float64 relative frequencies (sum 1); ValueError before any pixel."""
        total = self._counts.sum()
        if int(total) == 0:
            raise ValueError("BinPrior: no pixels accumulated")
        return self._counts.double() / total.double()

    def update(self, ab: Tensor) -> None:
        """Count the pixels of ``(B, 2, H, W)`` ab (any device; counts stay on the CPU)."""
        index = nearest_bin(ab, self._bins.to(ab.device))
        self._counts += torch.bincount(index.reshape(-1), minlength=self.num_bins).cpu()

    def merge(self, other: BinPrior) -> BinPrior:
        """Add ``other``'s counts (same bins) into this prior; returns ``self``."""
        if not torch.equal(other._bins, self._bins):
            raise ValueError("BinPrior.merge: the priors have different bins")
        self._counts += other._counts
        return self

    def state_dict(self) -> dict[str, Any]:
        """Plain lists (JSON- and ``torch.save``-able): ``{"bins": [[a, b], ...], "counts"}``."""
        return {"bins": self._bins.tolist(), "counts": self._counts.tolist()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replace the counts; the state's bins must equal this prior's."""
        bins = torch.as_tensor(state["bins"], dtype=torch.float32)
        if bins.shape != self._bins.shape or not torch.equal(bins, self._bins):
            raise ValueError(
                f"BinPrior.load_state_dict: state has bins of shape {tuple(bins.shape)} "
                f"that differ from this prior's {tuple(self._bins.shape)}"
            )
        counts = torch.as_tensor(state["counts"], dtype=torch.int64)
        if counts.shape != self._counts.shape or bool((counts < 0).any()):
            raise ValueError(
                f"BinPrior.load_state_dict: expected {self.num_bins} non-negative counts, "
                f"got shape {tuple(counts.shape)}"
            )
        self._counts = counts.clone()

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any]) -> BinPrior:
        prior = cls(torch.as_tensor(state["bins"], dtype=torch.float32))
        prior.load_state_dict(state)
        return prior

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the prior as a small JSON file (bins and counts), atomically.

        The file is written next to ``path`` under a temporary name and then renamed over
        it (``os.replace``), so a reader never sees a half-written prior.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"format": _PRIOR_FORMAT, "version": 1, **self.state_dict()}
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle)
                handle.write("\n")
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide the file from others
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BinPrior:
        """Read a prior written by :meth:`save`."""
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(payload, dict) or payload.get("format") != _PRIOR_FORMAT:
            raise ValueError(f"{path} is not a tinct bin prior (format {_PRIOR_FORMAT!r})")
        return cls.from_state_dict(payload)


def dataset_prior(batches: Iterable[Tensor], bins: Tensor) -> BinPrior:
    """Count ab batches ``(B, 2, H, W)`` into a new :class:`BinPrior`, one batch at a time.

    ``batches`` may be any iterable (a generator over a data loader): only the counts are
    kept, never the pixels.
    """
    prior = BinPrior(bins)
    for ab in batches:
        prior.update(ab)
    return prior


# --- Rebalancing -------------------------------------------------------------------------------


def smooth_prior(prior: Tensor, bins: Tensor, sigma: float) -> Tensor:
    """Gaussian-smooth a distribution over bins in ab space (the G_sigma of Zhang eq. 4).

    ``p~_q = sum_r p_r exp(-|c_q - c_r|^2 / (2 sigma^2))``, then renormalised to sum 1:
    each bin's mass is spread over the bin centres ``c`` (not over a full ab grid, so no
    mass leaks to bins outside the set). On a regular grid this is a discrete Gaussian blur.

    Args:
        prior: ``(Q,)`` non-negative probabilities or counts.
        bins: ``(Q, 2)`` bin centres.
        sigma: kernel width in ab units (> 0).

    Returns:
        ``(Q,)`` float64, sum 1.
    """
    check_bins(bins, "smooth_prior")
    p = _check_prior(prior, "smooth_prior")
    if bins.shape[0] != p.shape[0]:
        raise ValueError(
            f"smooth_prior: prior of shape {tuple(p.shape)} does not match bins of shape "
            f"{tuple(bins.shape)}"
        )
    if not sigma > 0:
        raise ValueError(f"smooth_prior: sigma must be > 0, got {sigma}")
    centres = bins.detach().to(p.device, torch.float64)
    kernel = torch.exp(-torch.cdist(centres, centres).square() / (2.0 * sigma * sigma))
    smoothed = kernel @ p
    return smoothed / smoothed.sum()


def _check_prior(prior: object, name: str) -> Tensor:
    if not isinstance(prior, Tensor):
        raise TypeError(f"{name} expects the prior as a torch.Tensor, got {type(prior).__name__}")
    if prior.ndim != 1 or prior.numel() < 1:
        raise ValueError(f"{name} expects a prior of shape (Q,), got shape {tuple(prior.shape)}")
    p = prior.detach().to(torch.float64)
    if not bool(torch.isfinite(p).all()) or bool((p < 0).any()) or not float(p.sum()) > 0:
        raise ValueError(f"{name}: the prior must be finite, non-negative and not all zero")
    return p / p.sum()


def rebalancing_weights(
    prior: Tensor,
    *,
    lam: float = 0.5,
    smooth_sigma: float | None = None,
    bins: Tensor | None = None,
) -> Tensor:
    """Class-rebalancing weights w (Zhang eq. 4; seed 002 section 3.3, seed 000 eq. 4.3).

    ``w ∝ ((1 - lam) p~ + lam / Q)^-1``, scaled so that ``E_p~[w] = sum_q p~_q w_q = 1``.
    ``p~`` is ``prior`` normalised to sum 1 and, with ``smooth_sigma``, smoothed first by
    :func:`smooth_prior` (Zhang: sigma 5). Rare bins get large weights; ``lam = 1`` or a
    uniform prior gives all ones. (Zhang's released code mixes in a uniform distribution
    over the bins with a non-zero prior rather than ``1 / Q``; with ``lam / Q`` as in the
    paper, bins never seen get the largest weight, which matters only if they occur.)

    Args:
        prior: ``(Q,)`` non-negative probabilities or counts (e.g.
            :attr:`BinPrior.probabilities`).
        lam: weight of the uniform distribution in the mix, in [0, 1] (Zhang: 0.5).
            ``lam = 0`` needs a prior without zeros.
        smooth_sigma: Gaussian smoothing width in ab units, or None for no smoothing.
        bins: ``(Q, 2)`` bin centres; required with ``smooth_sigma``.

    Returns:
        ``(Q,)`` float32 weights (computed in float64).
    """
    p = _check_prior(prior, "rebalancing_weights")
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"rebalancing_weights: lam must be in [0, 1], got {lam}")
    if smooth_sigma is not None:
        if bins is None:
            raise ValueError("rebalancing_weights: smooth_sigma needs the bin centres (bins=)")
        p = smooth_prior(p, bins, smooth_sigma)
    mix = (1.0 - lam) * p + lam / p.numel()
    if bool((mix <= 0).any()):
        raise ValueError("rebalancing_weights: lam = 0 with an empty bin gives infinite weights")
    weights = 1.0 / mix
    return (weights / (p * weights).sum()).float()
