"""Augmentations and crops on RGB (and its segmentation mask) before colour conversion.

Every transform is a callable ``(rgb, mask) -> (rgb, mask)`` where ``rgb`` is a
``(3, H, W)`` float tensor in [0, 1] and ``mask`` an ``(H, W)`` int64 tensor of
class indices or ``None``. Geometric transforms move the mask with the image
(nearest-neighbour, uncovered pixels void = 255); photometric ones leave it
alone. Running them on RGB before the lightness/chroma split keeps L and chroma
consistent with each other, which per-channel augmentation would not.

Randomness comes from ``torch``'s generator (seeded per DataLoader worker), or
from the ``generator`` a transform is given, so runs are reproducible.

Seed 001 section 4.1.3 (Keras ``ImageDataGenerator`` semantics):

==============================  ==========================================
horizontal flip                 :class:`RandomHorizontalFlip`
rotation "within 60 degrees"    ``RandomAffine(rotation=60)``: uniform in [-60, 60]
width/height shift 20 %         ``RandomAffine(shift=(0.2, 0.2))``: uniform +-20 %
brightness 50-150 %             ``RandomBrightness((0.5, 1.5))``: RGB x factor
zoom 50-150 %                   ``RandomAffine(zoom=(0.5, 1.5))``: content scale
==============================  ==========================================

:func:`seed001_augmentation` builds any combination of them (the seed tests
each alone and in combinations).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from tinct.data.base import Transform
from tinct.data.sample import VOID_LABEL

FILL_MODES = ("nearest", "reflect", "constant")


def _uniform(lo: float, hi: float, generator: torch.Generator | None) -> float:
    if lo == hi:
        return lo
    return lo + (hi - lo) * float(torch.rand((), generator=generator))


def _size_pair(size: int | Sequence[int], what: str) -> tuple[int, int]:
    pair = (size, size) if isinstance(size, int) else tuple(size)
    if len(pair) != 2 or min(pair) < 1:
        raise ValueError(f"{what} must be a positive int or (height, width), got {size!r}")
    return int(pair[0]), int(pair[1])


def _resize(rgb: Tensor, mask: Tensor | None, hw: tuple[int, int]) -> tuple[Tensor, Tensor | None]:
    if tuple(rgb.shape[1:]) == hw:
        return rgb, mask
    down = hw[0] < rgb.shape[1] or hw[1] < rgb.shape[2]
    out = F.interpolate(rgb[None], size=hw, mode="bilinear", align_corners=False, antialias=down)[
        0
    ].clamp_(0.0, 1.0)
    if mask is not None:
        mask = F.interpolate(mask[None, None].float(), size=hw, mode="nearest")[0, 0].long()
    return out, mask


class Compose:
    """Apply transforms in order."""

    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)

    def __call__(self, rgb: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        for t in self.transforms:
            rgb, mask = t(rgb, mask)
        return rgb, mask

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}])"


class RandomHorizontalFlip:
    """Reverse the columns with probability ``p``."""

    def __init__(self, p: float = 0.5, *, generator: torch.Generator | None = None) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"flip probability must be in [0, 1], got {p}")
        self.p = p
        self.generator = generator

    def __call__(self, rgb: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        if float(torch.rand((), generator=self.generator)) < self.p:
            rgb = rgb.flip(-1)
            mask = None if mask is None else mask.flip(-1)
        return rgb, mask

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class RandomBrightness:
    """Multiply RGB by a factor uniform in ``factor`` (seed 001: 0.5-1.5), clipped to [0, 1]."""

    def __init__(
        self, factor: tuple[float, float] = (0.5, 1.5), *, generator: torch.Generator | None = None
    ) -> None:
        if not 0.0 <= factor[0] <= factor[1]:
            raise ValueError(f"brightness factor must satisfy 0 <= min <= max, got {factor}")
        self.factor = (float(factor[0]), float(factor[1]))
        self.generator = generator

    def __call__(self, rgb: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        k = _uniform(*self.factor, self.generator)
        return (rgb * k).clamp_(0.0, 1.0), mask

    def __repr__(self) -> str:
        return f"RandomBrightness(factor={self.factor})"


class RandomAffine:
    """Random rotation, shift and zoom in one resampling, output the input's size.

    Args:
        rotation: maximum angle in degrees; the angle is uniform in [-rotation, rotation].
        shift: maximum (horizontal, vertical) shift as a fraction of width/height.
        zoom: range of the content scale factor (2 = content twice as large).
        fill: how uncovered pixels are filled: ``"nearest"`` (edge pixels
            repeated, Keras' default), ``"reflect"`` or ``"constant"`` (``fill_value``).
            The mask is void (255) wherever the output falls outside the input.
    """

    def __init__(
        self,
        rotation: float = 0.0,
        shift: tuple[float, float] = (0.0, 0.0),
        zoom: tuple[float, float] = (1.0, 1.0),
        *,
        fill: str = "nearest",
        fill_value: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> None:
        if rotation < 0 or min(shift) < 0:
            raise ValueError(f"rotation and shift must be >= 0, got {rotation}, {shift}")
        if not 0 < zoom[0] <= zoom[1]:
            raise ValueError(f"zoom range must satisfy 0 < min <= max, got {zoom}")
        if fill not in FILL_MODES:
            raise ValueError(f"fill must be one of {FILL_MODES}, got {fill!r}")
        self.rotation = float(rotation)
        self.shift = (float(shift[0]), float(shift[1]))
        self.zoom = (float(zoom[0]), float(zoom[1]))
        self.fill = fill
        self.fill_value = fill_value
        self.generator = generator

    def sample_params(self) -> tuple[float, float, float, float]:
        """(angle in degrees, shift x, shift y as fractions, zoom)."""
        g = self.generator
        angle = _uniform(-self.rotation, self.rotation, g)
        tx = _uniform(-self.shift[0], self.shift[0], g)
        ty = _uniform(-self.shift[1], self.shift[1], g)
        return angle, tx, ty, _uniform(*self.zoom, g)

    def __call__(self, rgb: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        angle, tx, ty, zoom = self.sample_params()
        return affine(rgb, mask, angle=angle, shift=(tx, ty), zoom=zoom, fill=self.fill,
                      fill_value=self.fill_value)  # fmt: skip

    def __repr__(self) -> str:
        return (
            f"RandomAffine(rotation={self.rotation}, shift={self.shift}, zoom={self.zoom}, "
            f"fill={self.fill!r})"
        )


def affine(
    rgb: Tensor,
    mask: Tensor | None = None,
    *,
    angle: float = 0.0,
    shift: tuple[float, float] = (0.0, 0.0),
    zoom: float = 1.0,
    fill: str = "nearest",
    fill_value: float = 0.0,
) -> tuple[Tensor, Tensor | None]:
    """Rotate by ``angle`` degrees (counter-clockwise as seen), scale the content by
    ``zoom`` about the centre and shift it by ``shift`` (fractions of width, height;
    positive = right, down). Geometry is in pixels, so non-square images rotate
    without shearing."""
    _, h, w = rgb.shape
    # The content at input pixel p_in (relative to the centre, y pointing down) lands
    # at p_out = zoom * R @ p_in + s, R the displayed counter-clockwise rotation; the
    # sampling grid needs the inverse, p_in = R^T @ (p_out - s) / zoom.
    rad = math.radians(angle)
    cos, sin = math.cos(rad), math.sin(rad)
    inv = torch.tensor([[cos, -sin], [sin, cos]], dtype=torch.float64) / zoom
    b = -inv @ torch.tensor([shift[0] * w, shift[1] * h], dtype=torch.float64)
    # In normalised coordinates (align_corners=False): p_pix = p_norm * size / 2.
    scale_out = torch.tensor([w / 2.0, h / 2.0], dtype=torch.float64)
    theta_lin = torch.diag(1.0 / scale_out) @ inv @ torch.diag(scale_out)
    theta_off = b / scale_out
    theta = torch.cat([theta_lin, theta_off[:, None]], dim=1).to(rgb.dtype)[None]
    grid = F.affine_grid(theta, [1, 3, h, w], align_corners=False)
    padding = {"nearest": "border", "reflect": "reflection", "constant": "zeros"}[fill]
    if fill == "constant" and fill_value != 0.0:
        out = F.grid_sample(rgb[None] - fill_value, grid, mode="bilinear",
                            padding_mode="zeros", align_corners=False)[0] + fill_value  # fmt: skip
    else:
        out = F.grid_sample(rgb[None], grid, mode="bilinear", padding_mode=padding,
                            align_corners=False)[0]  # fmt: skip
    if mask is not None:
        # Shift by one so that zeros padding marks the uncovered pixels.
        moved = F.grid_sample((mask[None, None].float() + 1.0), grid, mode="nearest",
                              padding_mode="zeros", align_corners=False)[0, 0]  # fmt: skip
        mask = torch.where(moved == 0, torch.full_like(moved, VOID_LABEL), moved - 1).long()
    return out.clamp_(0.0, 1.0), mask


class Resize:
    """Resize to ``size``: an int sets the short side (aspect kept), a pair is (height, width)."""

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size: int | tuple[int, int] = (
            size if isinstance(size, int) else _size_pair(size, "size")
        )
        if isinstance(self.size, int) and self.size < 1:
            raise ValueError(f"size must be positive, got {size}")

    def __call__(self, rgb: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        h, w = rgb.shape[1:]
        if isinstance(self.size, int):
            k = self.size / min(h, w)
            hw = (max(1, round(h * k)), max(1, round(w * k)))
        else:
            hw = self.size
        return _resize(rgb, mask, hw)

    def __repr__(self) -> str:
        return f"Resize({self.size})"


def _pad(rgb: Tensor, mask: Tensor | None, top: int, bottom: int, left: int, right: int,
         mode: str) -> tuple[Tensor, Tensor | None]:  # fmt: skip
    if not (top or bottom or left or right):
        return rgb, mask
    pads = (left, right, top, bottom)
    if mode == "constant":
        rgb = F.pad(rgb, pads, mode="constant", value=0.0)
    else:
        rgb = F.pad(rgb[None], pads, mode="reflect" if mode == "reflect" else "replicate")[0]
    if mask is not None:
        mask = F.pad(mask, pads, mode="constant", value=VOID_LABEL)
    return rgb, mask


def _pad_to_fit(rgb: Tensor, mask: Tensor | None, th: int, tw: int) -> tuple[Tensor, Tensor | None]:
    """Zero-pad (mask: void) evenly on both sides so the image is at least ``th x tw``."""
    h, w = rgb.shape[1:]
    ph, pw = max(0, th - h), max(0, tw - w)
    return _pad(rgb, mask, ph // 2, ph - ph // 2, pw // 2, pw - pw // 2, "constant")


def _crop(
    rgb: Tensor, mask: Tensor | None, top: int, left: int, th: int, tw: int
) -> tuple[Tensor, Tensor | None]:
    rgb = rgb[:, top : top + th, left : left + tw]
    return rgb, None if mask is None else mask[top : top + th, left : left + tw]


class CenterCrop:
    """Crop the centre ``size`` region (zero-padded, mask void, if the image is smaller)."""

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = _size_pair(size, "crop size")

    def __call__(self, rgb: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        th, tw = self.size
        rgb, mask = _pad_to_fit(rgb, mask, th, tw)
        h, w = rgb.shape[1:]
        return _crop(rgb, mask, (h - th) // 2, (w - tw) // 2, th, tw)

    def __repr__(self) -> str:
        return f"CenterCrop({self.size})"


class RandomCrop:
    """A random ``size`` crop after padding each side by ``padding`` pixels.

    Seed 000's CIFAR augmentation is ``RandomCrop(32, padding=4)`` followed by a
    horizontal flip. ``pad_mode`` is ``"constant"`` (zeros), ``"reflect"`` or
    ``"edge"``. Images smaller than ``size`` are zero-padded to fit.
    """

    def __init__(
        self,
        size: int | Sequence[int],
        padding: int = 0,
        *,
        pad_mode: str = "constant",
        generator: torch.Generator | None = None,
    ) -> None:
        if padding < 0:
            raise ValueError(f"padding must be >= 0, got {padding}")
        if pad_mode not in ("constant", "reflect", "edge"):
            raise ValueError(f"pad_mode must be constant, reflect or edge, got {pad_mode!r}")
        self.size = _size_pair(size, "crop size")
        self.padding = padding
        self.pad_mode = pad_mode
        self.generator = generator

    def __call__(self, rgb: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        p = self.padding
        rgb, mask = _pad(rgb, mask, p, p, p, p, self.pad_mode)
        th, tw = self.size
        rgb, mask = _pad_to_fit(rgb, mask, th, tw)
        h, w = rgb.shape[1:]
        top = int(torch.randint(0, h - th + 1, (), generator=self.generator))
        left = int(torch.randint(0, w - tw + 1, (), generator=self.generator))
        return _crop(rgb, mask, top, left, th, tw)

    def __repr__(self) -> str:
        return f"RandomCrop({self.size}, padding={self.padding})"


class RandomResizedCrop:
    """A random square crop whose side is uniform in ``scale`` x the short side,
    resized to ``size`` x ``size`` (the crops :class:`tinct.data.crops.PhotoCrops` uses)."""

    def __init__(
        self,
        size: int,
        scale: tuple[float, float] = (0.5, 1.0),
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        if size < 1:
            raise ValueError(f"crop size must be positive, got {size}")
        if not 0 < scale[0] <= scale[1] <= 1:
            raise ValueError(f"scale must satisfy 0 < min <= max <= 1, got {scale}")
        self.size = size
        self.scale = (float(scale[0]), float(scale[1]))
        self.generator = generator

    def __call__(self, rgb: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        h, w = rgb.shape[1:]
        short = min(h, w)
        side = max(1, round(short * _uniform(*self.scale, self.generator)))
        top = int(torch.randint(0, h - side + 1, (), generator=self.generator))
        left = int(torch.randint(0, w - side + 1, (), generator=self.generator))
        rgb = rgb[:, top : top + side, left : left + side]
        mask = None if mask is None else mask[top : top + side, left : left + side]
        return _resize(rgb, mask, (self.size, self.size))

    def __repr__(self) -> str:
        return f"RandomResizedCrop({self.size}, scale={self.scale})"


SEED001_AUGMENTATIONS = ("flip", "rotation", "shift", "brightness", "zoom")


def seed001_augmentation(
    kinds: Sequence[str] = SEED001_AUGMENTATIONS,
    *,
    rotation: float = 60.0,
    shift: float = 0.2,
    brightness: tuple[float, float] = (0.5, 1.5),
    zoom: tuple[float, float] = (0.5, 1.5),
    fill: str = "nearest",
    generator: torch.Generator | None = None,
) -> Compose:
    """Seed 001 section 4.1.3's augmentations, any subset of :data:`SEED001_AUGMENTATIONS`
    (rotation, shift and zoom share one resampling)."""
    unknown = set(kinds) - set(SEED001_AUGMENTATIONS)
    if unknown:
        raise ValueError(
            f"unknown augmentations {sorted(unknown)}; known: {list(SEED001_AUGMENTATIONS)}"
        )
    steps: list[Transform] = []
    if "flip" in kinds:
        steps.append(RandomHorizontalFlip(generator=generator))
    geometric = {"rotation", "shift", "zoom"} & set(kinds)
    if geometric:
        steps.append(
            RandomAffine(
                rotation=rotation if "rotation" in kinds else 0.0,
                shift=(shift, shift) if "shift" in kinds else (0.0, 0.0),
                zoom=zoom if "zoom" in kinds else (1.0, 1.0),
                fill=fill,
                generator=generator,
            )
        )
    if "brightness" in kinds:
        steps.append(RandomBrightness(brightness, generator=generator))
    return Compose(steps)
