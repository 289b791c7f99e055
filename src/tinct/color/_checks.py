"""Input validation shared by the colour functions (private)."""

from __future__ import annotations

import torch
from torch import Tensor


def check_image(image: object, channels: int, name: str) -> Tensor:
    """Check that ``image`` is a floating-point tensor of shape ``(*, channels, H, W)``.

    Raises:
        TypeError: ``image`` is not a tensor, or not floating point (uint8 images must be
            scaled to [0, 1] first, e.g. ``image.float() / 255``).
        ValueError: fewer than 3 dimensions or the wrong number of channels at axis -3;
            the message names the shape.
    """
    if not isinstance(image, Tensor):
        raise TypeError(f"{name} expects a torch.Tensor, got {type(image).__name__}")
    if image.ndim < 3 or image.shape[-3] != channels:
        raise ValueError(
            f"{name} expects a tensor of shape (*, {channels}, H, W), "
            f"got shape {tuple(image.shape)}"
        )
    if not torch.is_floating_point(image):
        raise TypeError(
            f"{name} expects a floating-point tensor (scale uint8 images to [0, 1] first), "
            f"got dtype {image.dtype}"
        )
    return image


def check_name(name: str, valid: tuple[str, ...], what: str) -> str:
    """Check that ``name`` is one of ``valid``; the ValueError lists the valid names."""
    if name not in valid:
        raise ValueError(f"unknown {what} {name!r}; valid names: {', '.join(valid)}")
    return name


def check_bins(bins: object, name: str) -> Tensor:
    """Check that ``bins`` is a tensor of ab bin centres of shape ``(Q, 2)`` with Q >= 1."""
    if not isinstance(bins, Tensor):
        raise TypeError(f"{name} expects bins as a torch.Tensor, got {type(bins).__name__}")
    if bins.ndim != 2 or bins.shape[1] != 2 or bins.shape[0] < 1:
        raise ValueError(f"{name} expects bins of shape (Q, 2), got shape {tuple(bins.shape)}")
    return bins
