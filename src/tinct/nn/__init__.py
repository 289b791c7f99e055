"""Reusable network blocks: convolution blocks, U-Net parts, pretrained backbones and the
adversarial blocks and GAN networks (:mod:`tinct.nn.gan`)."""

from __future__ import annotations

from tinct.nn.backbones import EfficientNetLiteEncoder, efficientnet_lite_weights_path
from tinct.nn.blocks import ConvBnAct, DecoderBlock, DoubleConv
from tinct.nn.gan import (
    EFFICIENT_GAN_VARIANTS,
    IBN,
    DSConv,
    DSResBlock,
    EfficientDiscriminator,
    EfficientGenerator,
    MultiScaleDiscriminator,
    PatchDiscriminator,
    SelfAttention,
    UNetGenerator,
    YUVDiscriminator,
    YUVGenerator,
    efficient_gan,
    remove_spectral_norm,
    spectral_norm_all,
)

__all__ = [
    "EFFICIENT_GAN_VARIANTS",
    "IBN",
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
    "SelfAttention",
    "UNetGenerator",
    "YUVDiscriminator",
    "YUVGenerator",
    "efficient_gan",
    "efficientnet_lite_weights_path",
    "remove_spectral_norm",
    "spectral_norm_all",
]
