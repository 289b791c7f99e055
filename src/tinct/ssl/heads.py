"""Heads of the pretext methods: SimCLR's projection MLP and the colourisation head."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["ColourHead", "ProjectionHead"]


class ProjectionHead(nn.Module):
    """g(h): an MLP with one hidden ReLU layer (SimCLR; seed 000 section 3.5.1), applied to
    the pooled representation; the contrastive loss sees its output, the probe does not."""

    def __init__(self, in_dim: int, hidden: int = 1024, out_dim: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out_dim)
        )

    def forward(self, h: Tensor) -> Tensor:
        return self.net(h)


class ColourHead(nn.Module):
    """Per-pixel prediction from the last feature map (seed 000: "the colour predictions
    are made at a lower resolution"): 3x3 conv, batch norm, ReLU, 1x1 conv to
    ``out_channels`` (2 ab / 1 L values, or bin logits), upsampled ``upsample`` times."""

    def __init__(
        self, in_channels: int, out_channels: int, *, hidden: int = 128, upsample: int = 2
    ) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 3, padding=1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, out_channels, 1),
        )
        self.upsample = upsample

    def forward(self, features: Tensor) -> Tensor:
        out = self.net(features)
        if self.upsample > 1:
            out = F.interpolate(
                out, scale_factor=self.upsample, mode="bilinear", align_corners=False
            )
        return out
