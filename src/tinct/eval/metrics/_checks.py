"""Input checks shared by the per-image and distribution metrics (private)."""

from __future__ import annotations

from torch import Tensor


def check_pair(prediction: Tensor, target: Tensor, *, channels: int = 3) -> None:
    """Raise ValueError unless both are ``(*, channels, H, W)`` of the same shape."""
    if prediction.shape != target.shape:
        raise ValueError(f"shapes differ: {tuple(prediction.shape)} vs {tuple(target.shape)}")
    if prediction.ndim < 3 or prediction.shape[-3] != channels:
        raise ValueError(
            f"expected images of shape (*, {channels}, H, W), got {tuple(prediction.shape)}"
        )
