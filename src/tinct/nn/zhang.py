"""Zhang et al. (2016)'s colourisation network as blocks ``model1`` ... ``model8`` (seed 002 4.1).

The network (seed 002 section 4.1, table 1): eight blocks of 3x3 convolutions, each
followed by a ReLU, blocks 1-7 closed by a batch norm *after* the last ReLU; the last
convolution of blocks 1-3 has stride 2 (down to 1/8), blocks 5-6 use dilation 2, block 8
starts with a 4x4 stride-2 transposed convolution (back to 1/4) and ends with the 1x1
convolution to the Q logits. Blocks are named ``model1`` ... ``model8`` with the layer
indices, key names and shapes of Zhang's released PyTorch model (richzhang/colorization,
``colorizers/eccv16.py``), so its state dict should load into ``zhang-full`` with
``strict=False`` (not tried: no weights offline). That model also has ``model_out``, a
313 -> 2 1x1 convolution regressing ab from the softmax, which is not part of the
classification output. The input here is ``L / 50 - 1`` (:meth:`Colouriser.normalize_input`)
where Zhang's port feeds ``(L - 50) / 100`` (Caffe: ``L - 50``), so ported weights need
``model1.0.weight`` halved.

The widths and depths of the registered variants are below; :mod:`tinct.models.classification`
explains how they were chosen. The blocks are added to the colouriser itself
(:func:`add_zhang_blocks`), so the state-dict keys are ``model1.0.weight`` etc., as in
Zhang's release.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

ZHANG_FULL_WIDTHS = (64, 128, 256, 512, 512, 512, 512, 256)
ZHANG_FULL_DEPTHS = (2, 2, 3, 3, 3, 3, 3, 3)
ZHANG_SIMPLIFIED_WIDTHS = (64, 128, 256, 416, 416, 416, 416, 256)
ZHANG_SIMPLIFIED_DEPTHS = (2, 2, 2, 2, 2, 2, 2, 2)
ZHANG_CPU_WIDTHS = (24, 48, 96, 128, 128, 128, 128, 96)
ZHANG_CPU_DEPTHS = (2, 2, 2, 2, 2, 2, 2, 2)

#: (widths, depths) of blocks 1-8 by variant name.
ZHANG_VARIANTS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "full": (ZHANG_FULL_WIDTHS, ZHANG_FULL_DEPTHS),
    "simplified": (ZHANG_SIMPLIFIED_WIDTHS, ZHANG_SIMPLIFIED_DEPTHS),
    "cpu": (ZHANG_CPU_WIDTHS, ZHANG_CPU_DEPTHS),
}

_STRIDED_BLOCKS = (0, 1, 2)  # last convolution has stride 2: 1/8 resolution after block 3
_DILATED_BLOCKS = (4, 5)  # blocks 5 and 6: dilation 2
_UPSAMPLING_BLOCK = 7  # block 8 starts with a 4x4 stride-2 transposed convolution


def zhang_block(index: int, cin: int, width: int, depth: int, out: int | None) -> nn.Sequential:
    """Block ``index`` (0-based) of Zhang's network: ``depth`` convolutions with ReLUs,
    then a batch norm (blocks 1-7) or, for block 8, the 1x1 convolution to ``out`` logits."""
    layers: list[nn.Module] = []
    dilation = 2 if index in _DILATED_BLOCKS else 1
    for i in range(depth):
        conv_in = cin if i == 0 else width
        if index == _UPSAMPLING_BLOCK and i == 0:
            conv: nn.Module = nn.ConvTranspose2d(conv_in, width, 4, stride=2, padding=1)
        else:
            stride = 2 if index in _STRIDED_BLOCKS and i == depth - 1 else 1
            conv = nn.Conv2d(conv_in, width, 3, stride, padding=dilation, dilation=dilation)
        layers += [conv, nn.ReLU(inplace=True)]
    if out is None:
        layers.append(nn.BatchNorm2d(width))
    else:
        layers.append(nn.Conv2d(width, out, 1))
    return nn.Sequential(*layers)


def add_zhang_blocks(
    module: nn.Module, widths: Sequence[int], depths: Sequence[int], out: int
) -> tuple[str, ...]:
    """Add blocks ``model1`` ... ``model8`` of Zhang's network to ``module`` (block 8 ends
    in a 1x1 convolution to ``out`` channels); returns the block names in order."""
    if len(widths) != 8 or len(depths) != 8:
        raise ValueError(
            f"widths and depths need 8 values (one per block), got {list(widths)} "
            f"and {list(depths)}"
        )
    if min(depths) < 1 or min(widths) < 1:
        raise ValueError(f"widths and depths must be >= 1, got {list(widths)}, {list(depths)}")
    names = tuple(f"model{i + 1}" for i in range(8))
    cin = 1
    for i, (width, depth) in enumerate(zip(widths, depths, strict=True)):
        last = out if i == _UPSAMPLING_BLOCK else None
        module.add_module(names[i], zhang_block(i, cin, int(width), int(depth), last))
        cin = int(width)
    return names
