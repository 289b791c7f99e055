"""Inference-time folding of batch normalisation into the preceding convolution.

In eval mode ``bn(conv(x))`` is an affine map per output channel, so it can be written
as one convolution with rescaled weights and a bias: the same output (up to float
rounding) with one pass over the activations instead of two.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn


@torch.no_grad()
def fold_bn_into_conv(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    """Fold eval-mode ``bn`` into ``conv`` in place (``conv`` then gets a bias)."""
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("batch norm without running statistics cannot be folded")
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    conv.weight.mul_(scale.view(-1, 1, 1, 1))
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    new_bias = (bias - bn.running_mean) * scale + bn.bias
    conv.bias = nn.Parameter(new_bias)


def fuse_sequential_conv_bn(module: nn.Module) -> int:
    """Fold every ``Conv2d`` directly followed by ``BatchNorm2d`` inside ``nn.Sequential``
    containers of ``module`` (the BN becomes ``nn.Identity``); returns how many."""
    count = 0
    for seq in module.modules():
        if not isinstance(seq, nn.Sequential):
            continue
        names = list(seq._modules)
        for first, second in itertools.pairwise(names):
            conv, bn = seq._modules[first], seq._modules[second]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                fold_bn_into_conv(conv, bn)
                seq._modules[second] = nn.Identity()
                count += 1
    return count
