"""Image classifiers for 32x32 inputs with any number of channels (seed 000 appendix B.0.2).

Seed 000 (the PhD thesis on deep learning and colour) compares colour spaces as classifier
inputs with two ImageNet networks adapted to CIFAR's 32x32 images:

* :class:`DenseNetBC`: DenseNet-BC (Huang et al. 2017) with growth rate ``k = 12`` and
  compression ``θ = 0.5``, the first convolution 3x3 instead of 7x7 and no first max-pool;
  by default the DenseNet-121 block layout ``(6, 12, 24, 16)``.
* :class:`MobileNetV1`: MobileNet v1 (Howard et al. 2017) with the same stem change: its
  first convolution is already 3x3, so the change is stride 1 instead of 2 (no early
  down-sampling of a 32x32 image).

Both take ``in_channels`` (1 for grey, 3 for one colour space, 12 for RGB+LAB+HSV+YUV...),
end in a linear layer of ``num_classes`` units and use Xavier (Glorot) initialisation
(:func:`xavier_init`). :class:`InputSE` is the squeeze-and-excitation block of seed 000
section 5.4 placed on the input channels, which can record its gate activations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = [
    "DENSENET121_BLOCKS",
    "MOBILENET_V1_LAYERS",
    "DenseNetBC",
    "InputSE",
    "MobileNetV1",
    "xavier_init",
]

#: DenseNet-121's number of bottleneck layers per dense block.
DENSENET121_BLOCKS: tuple[int, ...] = (6, 12, 24, 16)

#: MobileNet v1's depthwise-separable layers: (output channels, stride) at width 1.0.
MOBILENET_V1_LAYERS: tuple[tuple[int, int], ...] = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
)


def xavier_init(module: nn.Module) -> None:
    """Xavier-uniform weights for every convolution and linear layer, zero biases, batch
    norms at scale 1 and shift 0 (seed 000 appendix B.0.2, Glorot & Bengio 2010)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def _check_channels(in_channels: int, num_classes: int) -> None:
    if in_channels < 1:
        raise ValueError(f"in_channels must be at least 1, got {in_channels}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")


class _DenseLayer(nn.Module):
    """Bottleneck layer: BN-ReLU-Conv1x1(bn_size*k)-BN-ReLU-Conv3x3(k), output appended."""

    def __init__(self, channels: int, growth: int, bn_size: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, bn_size * growth, 1, bias=False),
            nn.BatchNorm2d(bn_size * growth),
            nn.ReLU(inplace=True),
            nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False),
        )

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat((x, self.body(x)), dim=1)


class _Transition(nn.Sequential):
    """BN-ReLU-Conv1x1 to ``out`` channels, then 2x2 average pooling."""

    def __init__(self, channels: int, out: int) -> None:
        super().__init__(
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, out, 1, bias=False),
            nn.AvgPool2d(2),
        )


class DenseNetBC(nn.Module):
    """DenseNet-BC for 32x32 images (seed 000 appendix B.0.2; Huang et al. 2017).

    Stem: 3x3 convolution to ``2 * growth`` channels, batch norm, ReLU (no max-pool); then
    dense blocks of bottleneck layers separated by transitions that keep
    ``floor(compression * channels)``; final batch norm, ReLU, global average pooling and a
    linear classifier. A 32x32 input is 4x4 in the last block of the default layout.

    Parameter counts (with the defaults: blocks ``(6, 12, 24, 16)``, growth 12, compression
    0.5, bottleneck width 4k; checked in ``tests/test_classifiers.py``): 3 input channels
    and 10 classes: 1,000,666; 12 channels and 100 classes: 1,037,260.

    Args:
        in_channels: input channels (any number >= 1).
        num_classes: classifier outputs.
        blocks: bottleneck layers per dense block (DenseNet-121: ``(6, 12, 24, 16)``;
            the CIFAR DenseNet-BC-100: ``(16, 16, 16)``).
        growth: growth rate ``k``.
        compression: ``θ`` of the transitions.
        bn_size: bottleneck width as a multiple of ``k``.

    Shape: ``(B, in_channels, H, W)`` -> logits ``(B, num_classes)``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 10,
        *,
        blocks: Sequence[int] = DENSENET121_BLOCKS,
        growth: int = 12,
        compression: float = 0.5,
        bn_size: int = 4,
    ) -> None:
        super().__init__()
        _check_channels(in_channels, num_classes)
        blocks = tuple(int(b) for b in blocks)
        if not blocks or min(blocks) < 1:
            raise ValueError(f"blocks must be positive layer counts, got {blocks}")
        if growth < 1 or bn_size < 1:
            raise ValueError(f"growth and bn_size must be >= 1, got {growth}, {bn_size}")
        if not 0.0 < compression <= 1.0:
            raise ValueError(f"compression must be in (0, 1], got {compression}")
        channels = 2 * growth
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
        ]
        for index, count in enumerate(blocks):
            for _ in range(count):
                layers.append(_DenseLayer(channels, growth, bn_size))
                channels += growth
            if index < len(blocks) - 1:
                out = math.floor(compression * channels)
                layers.append(_Transition(channels, out))
                channels = out
        layers += [nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(channels, num_classes)
        self.in_channels = in_channels
        xavier_init(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x).mean(dim=(-2, -1)))


def _conv_bn_relu(cin: int, cout: int, stride: int, groups: int = 1, k: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class MobileNetV1(nn.Module):
    """MobileNet v1 for 32x32 images (seed 000 appendix B.0.2; Howard et al. 2017).

    Stem: 3x3 convolution to ``32 * width`` channels with stride 1 (ImageNet: 2); then the
    13 depthwise-separable layers of :data:`MOBILENET_V1_LAYERS` (depthwise 3x3-BN-ReLU,
    pointwise 1x1-BN-ReLU), global average pooling and a linear classifier. A 32x32 input
    is 2x2 at the last layer.

    Parameter counts (width 1.0, checked in ``tests/test_classifiers.py``): 3 input
    channels and 10 classes: 3,217,226; 12 channels and 100 classes: 3,312,068.

    Args:
        in_channels: input channels (any number >= 1).
        num_classes: classifier outputs.
        width: width multiplier ``α`` (channels ``max(1, int(c * α))``).

    Shape: ``(B, in_channels, H, W)`` -> logits ``(B, num_classes)``.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 10, *, width: float = 1.0) -> None:
        super().__init__()
        _check_channels(in_channels, num_classes)
        if width <= 0:
            raise ValueError(f"width must be > 0, got {width}")

        def scaled(c: int) -> int:
            return max(1, int(c * width))

        channels = scaled(32)
        layers: list[nn.Module] = [_conv_bn_relu(in_channels, channels, 1)]
        for out, stride in MOBILENET_V1_LAYERS:
            out = scaled(out)
            layers.append(
                nn.Sequential(
                    _conv_bn_relu(channels, channels, stride, groups=channels),
                    _conv_bn_relu(channels, out, 1, k=1),
                )
            )
            channels = out
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(channels, num_classes)
        self.in_channels = in_channels
        xavier_init(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x).mean(dim=(-2, -1)))


class InputSE(nn.Module):
    """Squeeze-and-excitation on the input channels (seed 000 section 5.4; Hu et al. 2018).

    ``z = mean_{H,W}(x)``, ``s = sigmoid(W2 relu(W1 z))`` (seed 000 eq. 2.44) and the
    output is ``x * s`` per channel. The hidden width is ``max(2, channels // reduction)``
    (the seed does not give one; Hu et al.'s 16 would leave 0 units for 12 channels).

    Between :meth:`start_recording` and :meth:`stop_recording` every forward pass adds its
    gate vectors ``s`` to a running sum; :meth:`stop_recording` returns their mean, one
    entry per input channel (seed 000 section 5.4 steps 2-3).

    Shape: ``(B, C, H, W)`` -> ``(B, C, H, W)``.
    """

    def __init__(self, channels: int, *, reduction: int = 2) -> None:
        super().__init__()
        if channels < 1 or reduction < 1:
            raise ValueError(f"channels and reduction must be >= 1, got {channels}, {reduction}")
        hidden = max(2, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)
        self.channels = channels
        self._sum: Tensor | None = None
        self._count = 0

    def gates(self, x: Tensor) -> Tensor:
        """The excitation ``s``: ``(B, C)`` in (0, 1)."""
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"InputSE expects (B, {self.channels}, H, W), got {tuple(x.shape)}")
        z = x.mean(dim=(-2, -1))
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(z))))

    def forward(self, x: Tensor) -> Tensor:
        s = self.gates(x)
        if self._sum is not None:
            self._sum += s.detach().double().sum(dim=0).cpu()
            self._count += s.shape[0]
        return x * s[:, :, None, None]

    def start_recording(self) -> None:
        """Start summing the gate vectors of the following forward passes."""
        self._sum = torch.zeros(self.channels, dtype=torch.float64)
        self._count = 0

    def stop_recording(self) -> Tensor:
        """Stop recording; the mean gate vector ``(C,)`` (float64) over the recorded images."""
        if self._sum is None:
            raise RuntimeError("stop_recording() without start_recording()")
        if self._count == 0:
            self._sum = None
            raise RuntimeError("no images were recorded")
        mean = self._sum / self._count
        self._sum = None
        return mean
