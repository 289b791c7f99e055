"""ab bin sets and the encoding of ab as bins (seed 002 section 3.4, seed 000 section 4.4.1).

Colourisation as classification (Zhang, Isola & Efros 2016): the ab plane is cut into Q bins
(Zhang's 313 centres on a grid of 10, or bins computed from the sRGB gamut for any grid), and
a ground-truth ab value becomes a distribution over the bins (:func:`soft_encode`: the 5
nearest bins weighted by a Gaussian of sigma 5; :func:`one_hot_encode`: its nearest bin).
The empirical prior over the bins and the class-rebalancing weights are in
:mod:`tinct.color.prior`; decoding a predicted distribution back to ab is in
:mod:`tinct.color.decode`.

Units: a and b are CIELAB (D65) values, about -110..110; bins are ``(Q, 2)`` float32 tensors
of bin-centre (a, b) pairs, row q being class q. Images are ``(B, 2, H, W)`` ab and
``(B, Q, H, W)`` distributions.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from importlib import resources

import numpy as np
import torch
from torch import Tensor

from tinct.color._checks import check_bins, check_name
from tinct.color.conversions import lab_to_rgb

__all__ = [
    "BIN_SETS",
    "ZHANG_GRID",
    "ab_bins",
    "gamut_bins",
    "nearest_bin",
    "one_hot_encode",
    "soft_encode",
    "zhang_bins",
]

#: Grid size (ab units) of Zhang's 313 bins.
ZHANG_GRID = 10.0
#: Names accepted by :func:`ab_bins`.
BIN_SETS = ("zhang313", "srgb")

_ZHANG_FILE = "zhang_ab_gamut_313.txt"
# Distances held at once by the chunked nearest-bin searches (float32: 16 MiB).
_CHUNK_ELEMENTS = 1 << 22
# sRGB values within this of [0, 1] count as in gamut (float64 round-off of the conversion).
_GAMUT_TOLERANCE = 1e-6


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


# --- Encoding ----------------------------------------------------------------------------------


def _check_ab(ab: object, name: str) -> Tensor:
    if not isinstance(ab, Tensor):
        raise TypeError(f"{name} expects ab as a torch.Tensor, got {type(ab).__name__}")
    if ab.ndim != 4 or ab.shape[1] != 2:
        raise ValueError(f"{name} expects ab of shape (B, 2, H, W), got shape {tuple(ab.shape)}")
    if not torch.is_floating_point(ab):
        raise TypeError(f"{name} expects floating-point ab, got dtype {ab.dtype}")
    return ab


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
    check_bins(bins, "nearest_bin")
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
    check_bins(bins, "soft_encode")
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
