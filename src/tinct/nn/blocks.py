"""Shared blocks: U-Net units, DS and residual blocks, IBN, self-attention (seeds 000 and 004).

Plain convolution blocks shared by the U-Net style networks: :class:`ConvBnAct`,
:class:`DoubleConv`, :class:`DecoderBlock`.

Adversarial building blocks: :class:`DSConv`, :class:`DSResBlock` (seed 000 section 2.8.1 and
4.5.1), :class:`SelfAttention` (SAGAN, seed 000 section 4.4.3, eqs. 4.8-4.10) and :class:`IBN`
(seed 004 section 4.1.3), with the helpers the GAN networks share (:func:`same_conv`,
:func:`norm_layer`, :func:`activation`, :func:`check_multiple`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class ConvBnAct(nn.Sequential):
    """3x3 (or ``kernel_size``) convolution, batch normalisation, ReLU."""

    def __init__(
        self, in_channels: int, out_channels: int, *, kernel_size: int = 3, stride: int = 1
    ) -> None:
        super().__init__(
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=kernel_size // 2,
                bias=False,
            ),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class DoubleConv(nn.Sequential):
    """Two :class:`ConvBnAct` in a row, the unit of the original U-Net (Ronneberger 2015)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            ConvBnAct(in_channels, out_channels), ConvBnAct(out_channels, out_channels)
        )


class DecoderBlock(nn.Module):
    """Upsample x2 (bilinear), concatenate the skip connection, then :class:`DoubleConv`.

    Bilinear upsampling + convolution instead of transposed convolution avoids
    checkerboard artefacts in the predicted chroma.
    """

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = DoubleConv(in_channels + skip_channels, out_channels)

    def forward(self, x: Tensor, skip: Tensor | None = None) -> Tensor:
        size = skip.shape[-2:] if skip is not None else (x.shape[-2] * 2, x.shape[-1] * 2)
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        out: Tensor = self.conv(x)
        return out


def same_conv(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    *,
    stride: int = 1,
    groups: int = 1,
    bias: bool = False,
) -> nn.Module:
    """A convolution that keeps the size (stride 1; an even kernel gets the extra row and
    column of zero padding at the bottom and right) or divides even sizes exactly by
    ``stride``. Returns the convolution, or ``ZeroPad2d`` + convolution for even kernels at
    stride 1."""
    if stride != 1 or kernel_size % 2:
        padding = (kernel_size - 1) // 2 if stride != 1 else kernel_size // 2
        return nn.Conv2d(
            in_channels, out_channels, kernel_size, stride, padding, groups=groups, bias=bias
        )
    before = (kernel_size - 1) // 2
    after = kernel_size - 1 - before
    return nn.Sequential(
        nn.ZeroPad2d((before, after, before, after)),
        nn.Conv2d(in_channels, out_channels, kernel_size, groups=groups, bias=bias),
    )


class DSConv(nn.Sequential):
    """Depthwise-separable convolution: a ``k x k`` depthwise convolution (one filter per
    input channel, carrying the stride) followed by a 1x1 pointwise convolution.

    Seed 000 section 2.8.1 (MobileNet / Xception factorisation, eq. 2.25: about
    ``1/C_out + 1/k^2`` of a standard convolution's cost). No normalisation between the
    two (Xception's separable convolution); ``(B, C_in, H, W) -> (B, C_out, H/s, W/s)``.

    Args:
        in_channels: input channels ``C_in``.
        out_channels: output channels ``C_out``.
        kernel_size: depthwise kernel size.
        stride: depthwise stride (1 keeps the size, 2 halves even sizes).
        bias: bias on the pointwise convolution (off when a norm follows).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        *,
        stride: int = 1,
        bias: bool = False,
    ) -> None:
        super().__init__()
        self.depthwise = same_conv(
            in_channels, in_channels, kernel_size, stride=stride, groups=in_channels
        )
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=bias)


class IBN(nn.Module):
    """Instance-batch normalisation (Pan et al. 2018, IBN-Net): the first
    ``int(channels * ratio)`` channels get an affine instance norm, the rest batch norm.

    Instance norm removes per-image appearance (contrast, colour cast) and batch norm keeps
    content statistics; Górriz et al. use it in the shallow layers of the pix2pix generator
    and discriminator only (seed 004 section 4.1.3). ``(B, C, H, W) -> (B, C, H, W)``.

    Args:
        channels: number of channels ``C``.
        ratio: share of channels given to instance norm; both halves must be non-empty.
    """

    def __init__(self, channels: int, ratio: float = 0.5) -> None:
        super().__init__()
        self.instance_channels = int(channels * ratio)
        if not 0 < self.instance_channels < channels:
            raise ValueError(
                f"IBN needs 0 < int(channels * ratio) < channels, got channels={channels}, "
                f"ratio={ratio}"
            )
        self.instance = nn.InstanceNorm2d(self.instance_channels, affine=True)
        self.batch = nn.BatchNorm2d(channels - self.instance_channels)

    def forward(self, x: Tensor) -> Tensor:
        first, second = torch.split(
            x, [self.instance_channels, x.shape[1] - self.instance_channels], dim=1
        )
        return torch.cat([self.instance(first.contiguous()), self.batch(second.contiguous())], 1)


def norm_layer(channels: int, *, ibn: bool = False) -> nn.Module:
    """:class:`IBN` (``ibn``) or batch normalisation over ``channels``."""
    return IBN(channels) if ibn else nn.BatchNorm2d(channels)


class SelfAttention(nn.Module):
    """SAGAN self-attention (Zhang et al. 2019) as seed 000 section 4.4.3 writes it.

    With ``x_i`` the feature of position ``i`` (N = H*W positions), 1x1 convolutions
    ``f, g, h: C -> C/k`` and ``v: C/k -> C``::

        s_ij = f(x_i)^T g(x_j),   beta_ji = softmax_i(s_ij)            (eq. 4.8)
        o_j = v(sum_i beta_ji h(x_i))                                    (eq. 4.9)
        y_j = gamma * o_j + x_j                                          (eq. 4.10)

    ``gamma`` is learnable and starts at 0, so the block starts as the identity and the
    network learns how much non-local evidence to mix in. No ``1/sqrt(d)`` scaling (as in
    SAGAN). ``(B, C, H, W) -> (B, C, H, W)``; memory grows with ``(H*W)^2``.

    Args:
        channels: ``C``.
        k: channel reduction of ``f, g, h`` (the seed mentions 1, 2, 4, 8).
    """

    def __init__(self, channels: int, k: int = 8) -> None:
        super().__init__()
        if k < 1 or channels % k:
            raise ValueError(f"channels ({channels}) must be a multiple of k ({k})")
        reduced = channels // k
        self.f = nn.Conv2d(channels, reduced, 1)
        self.g = nn.Conv2d(channels, reduced, 1)
        self.h = nn.Conv2d(channels, reduced, 1)
        self.v = nn.Conv2d(reduced, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: Tensor) -> Tensor:
        b, _, height, width = x.shape
        # (B, N, C/k): rows are positions; query j is g(x_j), key i is f(x_i), value h(x_i).
        key = self.f(x).flatten(2).transpose(1, 2)
        query = self.g(x).flatten(2).transpose(1, 2)
        value = self.h(x).flatten(2).transpose(1, 2)
        # One head as (B, 1, N, C/k): the 4-D form ONNX export supports.
        mixed = F.scaled_dot_product_attention(
            query[:, None], key[:, None], value[:, None], scale=1.0
        )
        o = self.v(mixed[:, 0].transpose(1, 2).reshape(b, -1, height, width))
        return self.gamma * o + x


class DSResBlock(nn.Module):
    """Residual block of depthwise-separable convolutions (seed 000 section 4.5.1).

    Main path: ``depth`` x (convolution -> norm), with the activation between them; the
    first convolution carries the stride. ``upsample`` doubles the input size (nearest)
    before both paths. Shortcut: identity, or a bias-free 1x1 convolution (with the
    stride) when the shape changes. Output: ``act(main + shortcut)``.
    ``(B, C_in, H, W) -> (B, C_out, H*u/s, W*u/s)``.

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        stride: 1, or 2 to halve the size (down-sampling).
        upsample: double the size first (decoder).
        depth: convolutions in the main path.
        kernel_size: kernel of the main-path convolutions.
        dsconv: depthwise-separable (``True``) or standard convolutions.
        leaky: LeakyReLU(0.2) (discriminators) instead of ReLU.
        ibn: :class:`IBN` instead of batch norm.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        stride: int = 1,
        upsample: bool = False,
        depth: int = 1,
        kernel_size: int = 3,
        dsconv: bool = True,
        leaky: bool = False,
        ibn: bool = False,
    ) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        if stride not in (1, 2) or (stride == 2 and upsample):
            raise ValueError(f"stride must be 1 or 2 (1 with upsample), got {stride}")
        self.upsample = upsample
        layers: list[nn.Module] = []
        for i in range(depth):
            cin = in_channels if i == 0 else out_channels
            s = stride if i == 0 else 1
            conv: nn.Module = (
                DSConv(cin, out_channels, kernel_size, stride=s)
                if dsconv
                else same_conv(cin, out_channels, kernel_size, stride=s)
            )
            if i:
                layers.append(activation(leaky))
            layers += [conv, norm_layer(out_channels, ibn=ibn)]
        self.main = nn.Sequential(*layers)
        self.shortcut: nn.Module = (
            nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
            if in_channels != out_channels or stride != 1 or upsample
            else nn.Identity()
        )
        self.act = activation(leaky)

    def forward(self, x: Tensor) -> Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        out: Tensor = self.act(self.main(x) + self.shortcut(x))
        return out


def activation(leaky: bool) -> nn.Module:
    """LeakyReLU(0.2) (discriminators) or ReLU, in place."""
    return nn.LeakyReLU(0.2, inplace=True) if leaky else nn.ReLU(inplace=True)


def check_multiple(x: Tensor, multiple: int, name: str) -> None:
    """Raise ``ValueError`` (naming network ``name``) unless ``x`` is ``(B, C, H, W)`` with H and
    W multiples of ``multiple``."""
    if x.ndim != 4 or x.shape[-1] % multiple or x.shape[-2] % multiple:
        raise ValueError(
            f"{name} needs a (B, C, H, W) input with H and W multiples of {multiple}, "
            f"got {tuple(x.shape)}"
        )
