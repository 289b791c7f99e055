"""pix2pix U-Net generator, with Górriz et al.'s IBN (seed 004 sec. 4.1.1-4.1.3, seed 000 4.4.2)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from tinct.nn.blocks import check_multiple, norm_layer
from tinct.nn.spectral import spectral_norm_all


class UNetGenerator(nn.Module):
    """pix2pix U-Net generator (Isola et al. 2017; seed 004 sections 4.1.1-4.1.2).

    Encoder ``C64-C128-C256-C512-C512-C512-C512-C512`` at the defaults: 4x4 stride-2
    convolutions, LeakyReLU(0.2), batch norm except on the first layer and on the innermost
    one (as the reference code: its 1x1 map would be normalised away). Decoder: ReLU, 4x4
    stride-2 transposed convolutions, batch norm, dropout 0.5 in the first
    ``dropout_blocks`` blocks, concatenation of the mirrored encoder features (skips), a
    last transposed convolution to ``out_channels`` and tanh. ``(B, 1, H, W) -> (B, 2, H, W)``
    with H, W multiples of ``2**depth`` (depth 5 at 32x32, 6 at 64x64, 8 at 256x256).

    Args:
        in_channels: input channels (L).
        out_channels: output channels (ab).
        base_channels: channels of the first layer, doubled per layer up to ``max_channels``.
        max_channels: channel cap.
        depth: number of stride-2 layers (>= 2).
        dropout_blocks: decoder blocks with dropout (the first ones).
        dropout: dropout probability.
        ibn_layers: the first ``ibn_layers`` normalised encoder layers use :class:`IBN`
            (Górriz et al.: instance norm in shallow layers only).
        spectral: spectral norm on every convolution (:func:`spectral_norm_all`).
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        out_channels: int = 2,
        base_channels: int = 64,
        max_channels: int = 512,
        depth: int = 8,
        dropout_blocks: int = 3,
        dropout: float = 0.5,
        ibn_layers: int = 0,
        spectral: bool = False,
    ) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError(f"depth must be >= 2, got {depth}")
        chans = [min(base_channels * 2**i, max_channels) for i in range(depth)]
        self.depth = depth
        self.encoder = nn.ModuleList()
        self.encoder.append(nn.Conv2d(in_channels, chans[0], 4, 2, 1))
        for i in range(1, depth):
            innermost = i == depth - 1
            layers: list[nn.Module] = [
                nn.LeakyReLU(0.2, inplace=False),
                nn.Conv2d(chans[i - 1], chans[i], 4, 2, 1, bias=innermost),
            ]
            if not innermost:
                layers.append(norm_layer(chans[i], ibn=i - 1 < ibn_layers))
            self.encoder.append(nn.Sequential(*layers))
        self.channels = tuple(chans)
        self.decoder = unet_decoder(chans, dropout_blocks=dropout_blocks, dropout=dropout)
        self.head = unet_head(chans[0], out_channels)
        if spectral:
            spectral_norm_all(self)

    def encode(self, l_norm: Tensor) -> list[Tensor]:
        """The output of every encoder layer, shallowest first (the last is the bottleneck)."""
        check_multiple(l_norm, 2**self.depth, type(self).__name__)
        features: list[Tensor] = []
        x = l_norm
        for layer in self.encoder:
            x = layer(x)
            features.append(x)
        return features

    def decode_features(
        self, features: list[Tensor], decoder: nn.ModuleList | None = None
    ) -> Tensor:
        """The decoder's last feature map ``(B, 2 * channels[0], H / 2, W / 2)``, before the
        head: each block's output joined with the mirrored encoder features. ``decoder``:
        another decoder of the same layout (:func:`unet_decoder`) reading the same encoder
        features (a second branch, as seed 004 section 4.3.2); default: this one's."""
        blocks = self.decoder if decoder is None else decoder
        x = features[-1]
        for layer, skip in zip(blocks, reversed(features[:-1]), strict=True):
            x = torch.cat([layer(x), skip], dim=1)
        return x

    def forward(self, l_norm: Tensor) -> Tensor:
        return torch.tanh(self.head(self.decode_features(self.encode(l_norm))))


def unet_decoder(
    channels: Sequence[int], *, dropout_blocks: int = 3, dropout: float = 0.5
) -> nn.ModuleList:
    """The decoder blocks of :class:`UNetGenerator` for encoder widths ``channels``
    (deepest block first): ReLU, 4x4 stride-2 transposed convolution, batch norm, dropout
    in the first ``dropout_blocks``. Block ``j`` reads the previous block's output joined
    with the mirrored encoder features (the innermost reads the bottleneck alone)."""
    depth = len(channels)
    decoder = nn.ModuleList()
    for j, i in enumerate(reversed(range(1, depth))):
        cin = channels[i] if i == depth - 1 else 2 * channels[i]
        up: list[nn.Module] = [
            nn.ReLU(inplace=False),
            nn.ConvTranspose2d(cin, channels[i - 1], 4, 2, 1, bias=False),
            nn.BatchNorm2d(channels[i - 1]),
        ]
        if j < dropout_blocks:
            up.append(nn.Dropout(dropout))
        decoder.append(nn.Sequential(*up))
    return decoder


def unet_head(first_channels: int, out_channels: int) -> nn.Sequential:
    """The last layer of :class:`UNetGenerator` (no activation): ReLU and a 4x4 stride-2
    transposed convolution from the decoder's ``2 * first_channels`` features at half
    resolution to ``out_channels`` at the input's."""
    return nn.Sequential(
        nn.ReLU(inplace=False), nn.ConvTranspose2d(2 * first_channels, out_channels, 4, 2, 1)
    )
