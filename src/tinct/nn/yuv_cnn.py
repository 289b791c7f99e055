"""Seed 001's YUV regression CNN (section 4.1): the layer plan that maps Y to UV."""

from __future__ import annotations

from torch import nn

#: Padding of the first convolution: the seed's "valid" (figure 4.9b: 32 -> 30) or "same".
FIRST_PADDINGS = ("valid", "same")


def yuv_cnn(
    *,
    dropout: float = 0.2,
    width: float = 1.0,
    in_channels: int = 1,
    out_channels: int = 2,
    first_padding: str = "valid",
) -> nn.Sequential:
    """The layers of seed 001's final CNN (the ``yuv-cnn`` model, see
    :class:`tinct.models.regression.YuvCNN`): 3x3 convolutions with 8 -> 16 -> 32 -> 128
    filters (times ``width``), the last three with stride 2, then nearest-neighbour
    upsampling back through 128 -> 32 -> 16 -> ``out_channels`` filters; ReLU after the
    hidden layers, ``Dropout(dropout)`` after every hidden layer but the first (none when
    ``dropout`` is 0), no output activation.

    ``first_padding="valid"`` (the seed, figure 4.9b): the first convolution has no
    padding, 32 -> 30; the stride-2 ones pad by one ("same" in Keras: 30 -> 15 -> 8 -> 4)
    and three upsamplings give 32 back; in general ``8m -> 8m - 2 -> 4m - 1 -> 2m -> m``
    and back to ``8m``. ``"same"``: every convolution pads by one (``8m -> 8m -> 4m ->
    2m -> m``). Either way ``(B, 1, H, W) -> (B, 2, H, W)`` for H and W multiples of 8,
    with the same parameters (the padding has none).
    """
    if first_padding not in FIRST_PADDINGS:
        raise ValueError(
            f"first_padding must be one of {list(FIRST_PADDINGS)}, got {first_padding!r}"
        )
    c8, c16, c32, c128 = (max(1, round(c * width)) for c in (8, 16, 32, 128))

    def conv(cin: int, cout: int, stride: int = 1, padding: int = 1) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, stride=stride, padding=padding), nn.ReLU(inplace=True)]

    def drop() -> list[nn.Module]:
        return [nn.Dropout(dropout)] if dropout > 0 else []

    up = nn.Upsample(scale_factor=2, mode="nearest")
    return nn.Sequential(
        *conv(in_channels, c8, padding=0 if first_padding == "valid" else 1),
        *conv(c8, c16, 2), *drop(),
        *conv(c16, c32, 2), *drop(),
        *conv(c32, c128, 2), *drop(),
        up, *conv(c128, c128), *drop(),
        nn.Upsample(scale_factor=2, mode="nearest"), *conv(c128, c32), *drop(),
        *conv(c32, c16), *drop(),
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(c16, out_channels, 3, padding=1),
    )  # fmt: skip
