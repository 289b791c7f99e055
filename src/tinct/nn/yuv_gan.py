"""Seed 001's convolutional GAN in YUV (section 4.2): Y -> UV generator, UV-only discriminator."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from tinct.nn.blocks import check_multiple


class YUVGenerator(nn.Module):
    """Generator of seed 001's convolutional GAN (section 4.2.2, figure 4.9 b): Y -> UV.

    The layer table of figure 4.9 (Keras, 32x32 input), 3x3 convolutions with ReLU:
    ``conv 8 (valid) - conv 16 /2 - BN - conv 32 /2 - BN - conv 128 /2 - up x2 - BN -
    conv 128 - up x2 - conv 32 - BN - conv 16 - up x2 - conv 2 (tanh)``; 233,106
    parameters in Keras, where a batch norm also counts its two running statistics as
    parameters (here they are buffers: 232,690 parameters + 416 buffer values). Batch
    norm follows the activation, as in Keras' ``Conv2D(activation="relu")`` then
    ``BatchNormalization``. ``(B, 1, H, W) -> (B, 2, H, W)``, H and W multiples of 32 (the
    valid first convolution and the three stride-2 ones take 32k to 4k; three
    upsamplings give 32k back).
    """

    def __init__(self, *, in_channels: int = 1, out_channels: int = 2) -> None:
        super().__init__()

        def conv(cin: int, cout: int, stride: int = 1, padding: int = 1) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, stride, padding), nn.ReLU(inplace=True)]

        up = nn.Upsample(scale_factor=2, mode="nearest")
        self.net = nn.Sequential(
            *conv(in_channels, 8, padding=0),
            *conv(8, 16, stride=2),
            nn.BatchNorm2d(16),
            *conv(16, 32, stride=2),
            nn.BatchNorm2d(32),
            *conv(32, 128, stride=2),
            up,
            nn.BatchNorm2d(128),
            *conv(128, 128),
            nn.Upsample(scale_factor=2, mode="nearest"),
            *conv(128, 32),
            nn.BatchNorm2d(32),
            *conv(32, 16),
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(16, out_channels, 3, padding=1),
            nn.Tanh(),
        )

    def forward(self, y_norm: Tensor) -> Tensor:
        check_multiple(y_norm, 32, type(self).__name__)
        out: Tensor = self.net(y_norm)
        return out


class YUVDiscriminator(nn.Module):
    """Discriminator of seed 001's convolutional GAN (section 4.2.1): UV only -> one score.

    Seed 001 states: the input is the U and V channels only (not conditioned on Y), a CNN
    with ReLU hidden layers and a sigmoid output giving one real/fake probability per
    image, of higher capacity than the generator (408,129 parameters); its layer table
    is lost with figure 4.9 a. Chosen here: 3x3 convolutions 2 -> 32 (stride 1) -> 64 ->
    128 -> 256 (stride 2) with ReLU, global average pooling (any input size) and a linear
    layer to one logit; 388,385 parameters. The sigmoid is part of the loss
    (``bce`` objective: binary cross-entropy on logits, the same function computed
    stably). ``(B, 2, H, W) -> (B, 1)``.
    """

    def __init__(self, *, in_channels: int = 2, channels: Sequence[int] = (32, 64, 128, 256)):
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_channels
        for i, cout in enumerate(channels):
            layers += [nn.Conv2d(cin, cout, 3, 1 if i == 0 else 2, 1), nn.ReLU(inplace=True)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(cin, 1)

    def forward(self, uv_norm: Tensor) -> Tensor:
        out: Tensor = self.classifier(self.features(uv_norm).mean(dim=(-2, -1)))
        return out
