"""Plain convolution blocks shared by the U-Net style networks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class ConvBnAct(nn.Sequential):
    """3x3 (or ``kernel_size``) convolution, batch normalisation, ReLU."""

    def __init__(
        self, in_channels: int, out_channels: int, *, kernel_size: int = 3, stride: int = 1
    ) -> None:
        super().__init__(
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=kernel_size // 2,
                bias=False,
            ),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class DoubleConv(nn.Sequential):
    """Two :class:`ConvBnAct` in a row, the unit of the original U-Net (Ronneberger 2015)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            ConvBnAct(in_channels, out_channels), ConvBnAct(out_channels, out_channels)
        )


class DecoderBlock(nn.Module):
    """Upsample x2 (bilinear), concatenate the skip connection, then :class:`DoubleConv`.

    Bilinear upsampling + convolution instead of transposed convolution avoids
    checkerboard artefacts in the predicted chroma.
    """

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = DoubleConv(in_channels + skip_channels, out_channels)

    def forward(self, x: Tensor, skip: Tensor | None = None) -> Tensor:
        size = skip.shape[-2:] if skip is not None else (x.shape[-2] * 2, x.shape[-1] * 2)
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        out: Tensor = self.conv(x)
        return out
