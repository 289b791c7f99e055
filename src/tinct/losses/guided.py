"""Map-weighted reconstruction loss of seed 003's guided GAN (section 5).

Seed 003's generator predicts a saliency map and an edge map beside the RGB image and is
trained with, for each map ``M``, the L1 distance between the predicted map times the
predicted RGB and the true map times the true RGB. Here both factors are in [0, 1] (RGB
as sRGB in [0, 1], maps as weights in [0, 1]): with the seed's [-1, 1] normalisation a
pixel of zero saliency (-1) would weigh as much as a fully salient one (+1), with the sign
flipped, which is no weighting at all.
"""

from __future__ import annotations

from torch import Tensor


def map_weighted_l1(rgb: Tensor, weight: Tensor, true_rgb: Tensor, true_weight: Tensor) -> Tensor:
    """``mean |weight * rgb - true_weight * true_rgb|`` (seed 003 section 5).

    Args:
        rgb, true_rgb: predicted and true sRGB ``(B, 3, H, W)`` in [0, 1].
        weight, true_weight: predicted and true maps ``(B, 1, H, W)`` in [0, 1] (saliency,
            edges), broadcast over the RGB channels.
    """
    for name, t, channels in (
        ("rgb", rgb, 3), ("true_rgb", true_rgb, 3), ("weight", weight, 1),
        ("true_weight", true_weight, 1),
    ):  # fmt: skip
        if t.ndim != 4 or t.shape[1] != channels:
            raise ValueError(f"{name} must be (B, {channels}, H, W), got {tuple(t.shape)}")
    if not (rgb.shape[-2:] == true_rgb.shape[-2:] == weight.shape[-2:] == true_weight.shape[-2:]):
        raise ValueError(
            "map_weighted_l1 needs one size: got "
            f"{[tuple(t.shape[-2:]) for t in (rgb, weight, true_rgb, true_weight)]}"
        )
    return (weight * rgb - true_weight * true_rgb).abs().mean()
