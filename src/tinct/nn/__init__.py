"""Reusable network blocks and networks, one module per part (the colourisers: tinct.models).

Convolution blocks (:mod:`~tinct.nn.blocks`), spectral norm (:mod:`~tinct.nn.spectral`),
pretrained backbones (:mod:`~tinct.nn.backbones`), batch-norm folding (:mod:`~tinct.nn.fuse`),
the pix2pix U-Net generator (:mod:`~tinct.nn.unet`) and discriminators
(:mod:`~tinct.nn.discriminators`), and one module per network family:
:mod:`~tinct.nn.efficient_gan` (seed 000), :mod:`~tinct.nn.yuv_gan`, :mod:`~tinct.nn.yuv_cnn`
and :mod:`~tinct.nn.cvae` (seed 001), :mod:`~tinct.nn.zhang` (seed 002),
:mod:`~tinct.nn.segguided` (seed 004's segmentation-guided U-Net).

Networks here are plain ``nn.Module`` parts; :mod:`tinct.models` registers the colourisers
built from them, decodes their outputs and states their capabilities. The GAN networks see
normalised tensors: lightness ``L`` in about [-1, 1] as ``(B, 1, H, W)``; generators return
normalised chroma ``(B, 2, H, W)`` in [-1, 1] (tanh); conditional discriminators take
``cat([L, ab], dim=1)`` = ``(B, 3, H, W)`` and return raw patch logits ``(B, 1, h, w)`` (no
sigmoid: the loss decides).
"""

from __future__ import annotations

from tinct.nn.backbones import EfficientNetLiteEncoder, efficientnet_lite_weights_path
from tinct.nn.blocks import (
    IBN,
    ConvBnAct,
    DecoderBlock,
    DoubleConv,
    DSConv,
    DSResBlock,
    SelfAttention,
)
from tinct.nn.cvae import reparameterise
from tinct.nn.discriminators import MultiScaleDiscriminator, PatchDiscriminator
from tinct.nn.efficient_gan import (
    EFFICIENT_GAN_VARIANTS,
    EfficientDiscriminator,
    EfficientGenerator,
    efficient_gan,
)
from tinct.nn.segguided import SegGuidedUNet, pick_class_chroma
from tinct.nn.spectral import remove_spectral_norm, spectral_norm_all
from tinct.nn.unet import UNetGenerator
from tinct.nn.yuv_cnn import yuv_cnn
from tinct.nn.yuv_gan import YUVDiscriminator, YUVGenerator
from tinct.nn.zhang import ZHANG_VARIANTS, add_zhang_blocks

__all__ = [
    "EFFICIENT_GAN_VARIANTS",
    "IBN",
    "ZHANG_VARIANTS",
    "ConvBnAct",
    "DSConv",
    "DSResBlock",
    "DecoderBlock",
    "DoubleConv",
    "EfficientDiscriminator",
    "EfficientGenerator",
    "EfficientNetLiteEncoder",
    "MultiScaleDiscriminator",
    "PatchDiscriminator",
    "SegGuidedUNet",
    "SelfAttention",
    "UNetGenerator",
    "YUVDiscriminator",
    "YUVGenerator",
    "add_zhang_blocks",
    "efficient_gan",
    "efficientnet_lite_weights_path",
    "pick_class_chroma",
    "remove_spectral_norm",
    "reparameterise",
    "spectral_norm_all",
    "yuv_cnn",
]
