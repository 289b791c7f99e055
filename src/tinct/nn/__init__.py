"""Reusable network blocks: convolution blocks, U-Net parts and pretrained backbones."""

from __future__ import annotations

from tinct.nn.backbones import EfficientNetLiteEncoder, efficientnet_lite_weights_path
from tinct.nn.blocks import ConvBnAct, DecoderBlock, DoubleConv

__all__ = [
    "ConvBnAct",
    "DecoderBlock",
    "DoubleConv",
    "EfficientNetLiteEncoder",
    "efficientnet_lite_weights_path",
]
