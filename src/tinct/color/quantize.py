"""ab quantisation for colourisation as classification (Zhang, Isola & Efros 2016).

Seed 002 sections 3.1-3.4 and seed 000 section 4.4.1: the ab plane is cut into Q bins
(Zhang's 313 centres on a grid of 10, or bins computed from the sRGB gamut for any grid),
a ground-truth ab value becomes a distribution over the bins (:func:`soft_encode`: the 5
nearest bins weighted by a Gaussian of sigma 5), an empirical prior over a data set
(:class:`BinPrior`) gives class-rebalancing weights (:func:`rebalancing_weights`, Zhang
eq. 4), and a predicted distribution is decoded back to ab by its mode, mean or annealed
mean (:func:`annealed_mean`, Zhang eq. 5 / seed 000 eq. 4.4, T = 0.38).

Units: a and b are CIELAB (D65) values, about -110..110; bins are ``(Q, 2)`` float32 tensors
of bin-centre (a, b) pairs, row q being class q. Images are ``(B, 2, H, W)`` ab and
``(B, Q, H, W)`` distributions or logits.
"""

from __future__ import annotations

import functools
import json
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from tinct.color._checks import check_name
from tinct.color.conversions import lab_to_rgb

__all__ = [
    "BIN_SETS",
    "DEFAULT_TEMPERATURE",
    "ZHANG_GRID",
    "BinPrior",
    "ab_bins",
    "annealed_mean",
    "dataset_prior",
    "decode_mean",
    "decode_mode",
    "gamut_bins",
    "nearest_bin",
    "one_hot_encode",
    "rebalancing_weights",
    "smooth_prior",
    "soft_encode",
    "zhang_bins",
]

#: Zhang et al.'s annealed-mean temperature (sec. 2.3; seed 002 section 3.1).
DEFAULT_TEMPERATURE = 0.38
#: Grid size (ab units) of Zhang's 313 bins.
ZHANG_GRID = 10.0
#: Names accepted by :func:`ab_bins`.
BIN_SETS = ("zhang313", "srgb")

_ZHANG_FILE = "zhang_ab_gamut_313.txt"
# Distances held at once by the chunked nearest-bin searches (float32: 16 MiB).
_CHUNK_ELEMENTS = 1 << 22
# sRGB values within this of [0, 1] count as in gamut (float64 round-off of the conversion).
_GAMUT_TOLERANCE = 1e-6
_PRIOR_FORMAT = "tinct-bin-prior"


# --- Bin sets ----------------------------------------------------------------------------------


@functools.cache
def _zhang_bins() -> Tensor:
    text = resources.files("tinct.color").joinpath("data", _ZHANG_FILE).read_text()
    table = np.loadtxt(text.splitlines(), dtype=np.float32, comments="#", ndmin=2)
    return torch.from_numpy(table)


def zhang_bins() -> Tensor:
    """Zhang et al.'s 313 in-gamut ab bin centres on a grid of 10 (seed 002 section 3.4).

    Read once from the package file ``tinct/color/data/zhang_ab_gamut_313.txt`` (the
    authors' ``pts_in_hull.npy``) and cached; each call returns a fresh copy.

    Returns:
        ``(313, 2)`` float32 (a, b) centres, multiples of 10 with a in [-90, 100] and b in
        [-110, 100], sorted by a then b; row q is class q of Zhang's released models.
    """
    return _zhang_bins().clone()


@functools.lru_cache(maxsize=8)
def _gamut_bins(grid: float, lightness_steps: int, extent: float, step: float) -> Tensor:
    cells_per_side = math.ceil(extent / grid - 0.5)  # (k + 1/2) * grid >= extent
    centres = torch.arange(-cells_per_side, cells_per_side + 1, dtype=torch.float64) * grid
    per_cell = max(1, math.ceil(grid / step - 1e-9))
    # Samples strictly inside each cell (offset by half a sample step), so none lies on a
    # cell boundary and the cell of each sample is known without rounding.
    offsets = (torch.arange(per_cell, dtype=torch.float64) + 0.5) * (grid / per_cell) - grid / 2
    axis = (centres[:, None] + offsets[None, :]).reshape(-1)
    side = axis.numel()
    lightness = torch.linspace(0.0, 100.0, lightness_steps, dtype=torch.float64)
    occupied = torch.zeros(side, side, dtype=torch.bool)
    rows = max(1, (1 << 21) // (lightness_steps * side))
    for start in range(0, side, rows):
        a = axis[start : start + rows]
        shape = (lightness_steps, a.numel(), side)
        lab = torch.stack(
            (
                lightness[:, None, None].expand(shape),
                a[None, :, None].expand(shape),
                axis[None, None, :].expand(shape),
            ),
            dim=1,
        )
        # kornia clamps a negative f(Z) (very large +b) to 0; the colour it then converts
        # still has Z < 0, which no sRGB colour has, so that clamp adds no false in-gamut points.
        rgb = lab_to_rgb(lab, clip=False)
        inside = ((rgb >= -_GAMUT_TOLERANCE) & (rgb <= 1.0 + _GAMUT_TOLERANCE)).all(dim=1)
        occupied[start : start + a.numel()] = inside.any(dim=0)
    if bool(occupied[[0, -1], :].any() or occupied[:, [0, -1]].any()):
        raise ValueError(
            f"gamut_bins: in-gamut colours reach the edge of the sampled square "
            f"|a|, |b| <= {extent}; increase extent"
        )
    n = centres.numel()
    cells = occupied.view(n, per_cell, n, per_cell).any(dim=3).any(dim=1)
    ia, ib = cells.nonzero(as_tuple=True)  # row-major: sorted by a, then b
    return torch.stack((centres[ia], centres[ib]), dim=1).float()


def gamut_bins(
    grid: float = 10.0,
    *,
    lightness_steps: int = 101,
    extent: float = 110.0,
    step: float | None = None,
) -> Tensor:
    """ab bins of a square grid that the sRGB gamut occupies, for any grid size.

    Samples CIELAB colours: L at ``lightness_steps`` values evenly spaced in [0, 100]
    times an (a, b) grid of step ``step`` (default ``min(grid / 10, 1)``) covering the cells
    whose centres are the multiples of ``grid`` in [-extent, extent] (samples sit half a
    step inside the cells, never on a boundary). A sample is in gamut when every channel of
    its sRGB value (:func:`tinct.color.lab_to_rgb`, float64, unclipped) lies in [0, 1] to
    within 1e-6. A cell (centre ``round(ab / grid) * grid``) is kept when any in-gamut
    sample falls in it. Cached per argument set; each call returns a copy. Cost grows as
    ``lightness_steps * (2 * extent / step) ** 2`` (0.3 to 3 s at the defaults on 2 cores).

    At grid 10 with the defaults this gives **258** bins, all of them among Zhang's 313
    (:func:`zhang_bins`). The 55 Zhang bins not found here form a ring one cell wide around
    the sRGB gamut (each is 10, once 14.1, ab units from a bin found here; chroma 54 to
    142, mean 98), on every side: saturated greens, blues, purples, reds and yellows that
    sRGB cannot show. Zhang's bins are "in gamut" by a looser test than sRGB (the authors
    do not say which; their set is close to this one dilated by one cell). The sampling is
    finite, so cells that the gamut touches only in a thin sliver can be missed: L every
    1 and ab every 1 misses (70, -110), (90, 0) and (100, -70); 1001 lightness steps give
    260 bins, with ``step=0.5`` as well 261 (as the colours of a 64- or 256-level RGB cube
    do, ~30 s); denser sampling of the RGB cube surface finds one more sliver, (20, -80).

    Args:
        grid: cell size in ab units (> 0); centres are the multiples of ``grid``.
        lightness_steps: number of L values in [0, 100] (>= 2).
        extent: half-width of the sampled ab square (> 0); 110 covers sRGB (a in about
            [-86, 98], b in about [-108, 95]). A ValueError says when it is too small.
        step: ab sampling step (> 0); default ``min(grid / 10, 1)``.

    Returns:
        ``(Q, 2)`` float32 bin centres (a, b), sorted by a then b.
    """
    if not grid > 0 or not extent > 0 or (step is not None and not step > 0):
        raise ValueError(
            f"gamut_bins: grid, extent and step must be > 0, got {grid}, {extent}, {step}"
        )
    if lightness_steps < 2:
        raise ValueError(f"gamut_bins: lightness_steps must be >= 2, got {lightness_steps}")
    step = min(grid / 10.0, 1.0) if step is None else step
    return _gamut_bins(float(grid), int(lightness_steps), float(extent), float(step)).clone()


def ab_bins(name: str = "zhang313", grid: float = 10.0) -> Tensor:
    """A bin set by name: ``"zhang313"`` (:func:`zhang_bins`) or ``"srgb"`` (:func:`gamut_bins`).

    Args:
        name: one of :data:`BIN_SETS`.
        grid: cell size in ab units; ``"zhang313"`` exists only at grid 10.

    Returns:
        ``(Q, 2)`` float32 bin centres (a, b).
    """
    check_name(name, BIN_SETS, "ab bin set")
    if name == "zhang313":
        if grid != ZHANG_GRID:
            raise ValueError(f"the zhang313 bins have grid {ZHANG_GRID:g}, not {grid:g}")
        return zhang_bins()
    return gamut_bins(grid)


# --- Checks ------------------------------------------------------------------------------------


def _check_bins(bins: object, name: str) -> Tensor:
    if not isinstance(bins, Tensor):
        raise TypeError(f"{name} expects bins as a torch.Tensor, got {type(bins).__name__}")
    if bins.ndim != 2 or bins.shape[1] != 2 or bins.shape[0] < 1:
        raise ValueError(f"{name} expects bins of shape (Q, 2), got shape {tuple(bins.shape)}")
    return bins


def _check_ab(ab: object, name: str) -> Tensor:
    if not isinstance(ab, Tensor):
        raise TypeError(f"{name} expects ab as a torch.Tensor, got {type(ab).__name__}")
    if ab.ndim != 4 or ab.shape[1] != 2:
        raise ValueError(f"{name} expects ab of shape (B, 2, H, W), got shape {tuple(ab.shape)}")
    if not torch.is_floating_point(ab):
        raise TypeError(f"{name} expects floating-point ab, got dtype {ab.dtype}")
    return ab


def _check_logits(logits: object, bins: Tensor, name: str) -> Tensor:
    if not isinstance(logits, Tensor):
        raise TypeError(f"{name} expects logits as a torch.Tensor, got {type(logits).__name__}")
    if logits.ndim != 4 or logits.shape[1] != bins.shape[0]:
        raise ValueError(
            f"{name} expects logits of shape (B, Q, H, W) with Q = {bins.shape[0]} bins, "
            f"got shape {tuple(logits.shape)}"
        )
    return logits


# --- Encoding ----------------------------------------------------------------------------------


def _pixel_chunks(ab: Tensor, bins: Tensor) -> Iterator[tuple[int, slice, Tensor]]:
    """Yield ``(image, pixel slice, squared distances (n, Q))`` over chunks of pixels."""
    dtype = torch.promote_types(ab.dtype, torch.float32)
    centres = bins.detach().to(ab.device, dtype)
    ca, cb = centres[:, 0], centres[:, 1]
    flat = ab.detach().to(dtype).flatten(2)  # (B, 2, H*W)
    chunk = max(1, _CHUNK_ELEMENTS // centres.shape[0])
    for image in range(flat.shape[0]):
        for start in range(0, flat.shape[2], chunk):
            part = slice(start, start + chunk)
            a, b = flat[image, 0, part], flat[image, 1, part]
            # Differences rather than |x|^2 - 2x.c + |c|^2, which cancels badly near ties.
            yield image, part, (a[:, None] - ca).square() + (b[:, None] - cb).square()


def nearest_bin(ab: Tensor, bins: Tensor) -> Tensor:
    """Index of the nearest bin centre (Euclidean in ab) of every pixel.

    Works through the pixels in chunks (about 4M distances at a time), so a batch of
    8 x 256 x 256 against 313 bins needs ~16 MiB of scratch. A pixel equally far from two
    bins gets the lower index.

    Args:
        ab: ``(B, 2, H, W)`` CIELAB a and b.
        bins: ``(Q, 2)`` bin centres (a, b).

    Returns:
        ``(B, H, W)`` int64 bin indices in [0, Q).
    """
    _check_ab(ab, "nearest_bin")
    _check_bins(bins, "nearest_bin")
    batch, _, height, width = ab.shape
    index = torch.empty(batch, height * width, dtype=torch.int64, device=ab.device)
    for image, part, dist_sq in _pixel_chunks(ab, bins):
        index[image, part] = dist_sq.argmin(dim=1)
    return index.view(batch, height, width)


def soft_encode(ab: Tensor, bins: Tensor, *, neighbours: int = 5, sigma: float = 5.0) -> Tensor:
    """Soft-encode ab as distributions over bins (Zhang sec. 2.1; seed 002 section 3.4).

    Each pixel's ``neighbours`` nearest bins get weights ``exp(-d^2 / (2 sigma^2))`` of their
    distance d to the pixel's ab, normalised to sum to 1; all other bins get 0. Computed as a
    softmax over the neighbours, so a pixel far from every bin still gets a distribution.
    ``neighbours=1`` gives :func:`one_hot_encode`. Pixels are processed in chunks.

    Args:
        ab: ``(B, 2, H, W)`` CIELAB a and b (no gradient flows to it).
        bins: ``(Q, 2)`` bin centres.
        neighbours: how many nearest bins share each pixel (1 <= neighbours <= Q; Zhang: 5).
        sigma: Gaussian kernel width in ab units (> 0; Zhang: 5).

    Returns:
        ``(B, Q, H, W)`` float32 distributions (each pixel sums to 1).
    """
    _check_ab(ab, "soft_encode")
    _check_bins(bins, "soft_encode")
    num_bins = bins.shape[0]
    if not 1 <= neighbours <= num_bins:
        raise ValueError(f"soft_encode: neighbours must be in [1, {num_bins}], got {neighbours}")
    if not sigma > 0:
        raise ValueError(f"soft_encode: sigma must be > 0, got {sigma}")
    batch, _, height, width = ab.shape
    out = torch.zeros(batch, num_bins, height * width, dtype=torch.float32, device=ab.device)
    for image, part, dist_sq in _pixel_chunks(ab, bins):
        near_sq, near = dist_sq.topk(neighbours, dim=1, largest=False)
        weights = torch.softmax(near_sq / (-2.0 * sigma * sigma), dim=1)
        out[image, :, part].scatter_(0, near.T, weights.T.float())
    return out.view(batch, num_bins, height, width)


def one_hot_encode(ab: Tensor, bins: Tensor) -> Tensor:
    """Hard-encode ab: 1 at each pixel's nearest bin (:func:`nearest_bin`), 0 elsewhere.

    Args:
        ab: ``(B, 2, H, W)`` CIELAB a and b.
        bins: ``(Q, 2)`` bin centres.

    Returns:
        ``(B, Q, H, W)`` float32 one-hot distributions.
    """
    index = nearest_bin(ab, bins)
    out = torch.zeros(
        index.shape[0], bins.shape[0], *index.shape[1:], dtype=torch.float32, device=ab.device
    )
    return out.scatter_(1, index.unsqueeze(1), 1.0)


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
        _check_bins(bins, "BinPrior")
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
    _check_bins(bins, "smooth_prior")
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


# --- Decoding ----------------------------------------------------------------------------------


def _expectation(probabilities: Tensor, bins: Tensor) -> Tensor:
    centres = bins.detach().to(probabilities.device, torch.float32)
    return torch.einsum("bqhw,qc->bchw", probabilities, centres)


def decode_mode(logits: Tensor, bins: Tensor) -> Tensor:
    """ab of the most probable bin of each pixel (Zhang's "mode"; seed 002 section 3.1).

    Args:
        logits: ``(B, Q, H, W)`` unnormalised scores (or log-probabilities).
        bins: ``(Q, 2)`` bin centres.

    Returns:
        ``(B, 2, H, W)`` float32 ab.
    """
    _check_bins(bins, "decode_mode")
    _check_logits(logits, bins, "decode_mode")
    centres = bins.detach().to(logits.device, torch.float32)
    return centres[logits.argmax(dim=1)].permute(0, 3, 1, 2).contiguous()


def decode_mean(logits: Tensor, bins: Tensor) -> Tensor:
    """Expected ab under ``softmax(logits)`` (Zhang's "mean"; desaturated, spatially smooth).

    Args:
        logits: ``(B, Q, H, W)`` unnormalised scores (upcast to float32).
        bins: ``(Q, 2)`` bin centres.

    Returns:
        ``(B, 2, H, W)`` float32 ab; differentiable in ``logits``.
    """
    _check_bins(bins, "decode_mean")
    _check_logits(logits, bins, "decode_mean")
    return _expectation(torch.softmax(logits.float(), dim=1), bins)


def annealed_mean(logits: Tensor, bins: Tensor, temperature: float = DEFAULT_TEMPERATURE) -> Tensor:
    """Annealed-mean decoding (Zhang eq. 5; seed 000 eq. 4.4; seed 002 section 3.1).

    The softmax probabilities z are sharpened to
    ``f_T(z) = exp(log z / T) / sum_q exp(log z_q / T)`` and their mean ab is taken. Since
    ``exp(log softmax(x) / T) ∝ softmax(x / T)``, this computes ``softmax(logits / T)`` in
    float32, which never takes the log of 0. ``T = 1`` is :func:`decode_mean`; as T -> 0 it
    tends to :func:`decode_mode`, which ``temperature <= 0`` returns exactly.

    Args:
        logits: ``(B, Q, H, W)`` unnormalised scores (any float dtype; upcast to float32).
            For probabilities z, pass ``z.log()``.
        bins: ``(Q, 2)`` bin centres.
        temperature: T (Zhang: 0.38, :data:`DEFAULT_TEMPERATURE`).

    Returns:
        ``(B, 2, H, W)`` float32 ab.
    """
    _check_bins(bins, "annealed_mean")
    _check_logits(logits, bins, "annealed_mean")
    if temperature <= 0:
        return decode_mode(logits, bins)
    return _expectation(torch.softmax(logits.float() / temperature, dim=1), bins)
