"""Adversarial building blocks and the GAN networks of seeds 000 and 004.

Every network here sees normalised tensors: lightness ``L`` in about [-1, 1] as
``(B, 1, H, W)``; generators return normalised chroma ``(B, 2, H, W)`` in [-1, 1] (tanh);
conditional discriminators take ``cat([L, ab], dim=1)`` = ``(B, 3, H, W)`` and return raw
patch logits ``(B, 1, h, w)`` (no sigmoid: the loss decides).

Blocks: :class:`DSConv`, :class:`DSResBlock` (seed 000 section 2.8.1 and 4.5.1),
:class:`SelfAttention` (SAGAN, seed 000 section 4.4.3, eqs. 4.8-4.10), :class:`IBN`
(seed 004 section 4.1.3) and :func:`spectral_norm_all` (Miyato et al. 2018; seed 000
section 4.5, seed 004 section 4.1.3).

Networks:

- :class:`UNetGenerator`, :class:`PatchDiscriminator`, :class:`MultiScaleDiscriminator`:
  pix2pix (Isola et al. 2017) as seed 004 sections 4.1.1-4.1.3 and seed 000 section 4.4.2
  describe it, with the Górriz et al. additions (IBN in the shallow layers, spectral norm,
  N discriminators on average-pooled inputs).
- :class:`EfficientGenerator`, :class:`EfficientDiscriminator`: the efficient
  colourisation GAN of seed 000 section 4.5 (table 4.1 variants: :func:`efficient_gan`).

Efficient GAN: what seed 000 states, what had to be chosen, the parameter count
-------------------------------------------------------------------------------

Stated (section 4.5.1, 4.5.2, 4.6): STL-10 images, 96x96. G: an initial
conv-BN-ReLU; "14 Res-block [35] like modules which uses depth-wise separable
convolutions", encoder channels [64, 128, 256, 256, 256, 256, 256], decoder
[256, 256, 256, 256, 256, 128, 64]; U-Net skips that *concatenate* the features "between
the ith and n-ith for the i > 3 Res-blocks", n = 14; a 256-channel self-attention between
encoder and decoder; a final conv-BN-tanh. D: PatchGAN; an initial 64-channel convolution,
a 64-channel self-attention, 3 res-blocks doubling the channels, a 12x12 patch
classifier; "All convolution layers used in the discriminator uses
convolution-BatchNorm-leakyRelu" (slope 0.2). Spectral norm on G and D. Self-attention
(eq. 4.9): ``W_f, W_g, W_h`` are C/k x C, ``W_v`` is C x C/k (so, unlike the SAGAN paper's
code, ``h`` is reduced too and ``v`` projects back). Table 4.1: G + D have 4,135,798
parameters with DS convolutions (with or without SN), 11,874,089 for "cGAN+Att" (the same
layers with standard convolutions) and 11,740,484 for "cGAN" (no attention either).

Not stated, chosen here: kernel sizes, strides, what a res-block holds, the shortcut, which
skip pairs "i > 3" means, biases, and whether D uses DS convolutions (the seed mentions
them for G only). Choices:

- G res-block (:class:`DSResBlock`, ``depth=1``): one 3x3 DS convolution (depthwise 3x3 +
  pointwise 1x1, no bias) -> BN, plus the shortcut: identity, or a bias-free 1x1
  convolution (He et al.'s ``W_s x``, no BN) when the shape changes; ReLU after the sum.
- G resolution: encoder blocks 1-3 have stride 2 (96 -> 12), blocks 4-7 stay at 12x12, the
  attention runs at 12x12; decoder blocks 5-7 upsample x2 (nearest) and their shortcut is
  the 1x1 projection of the upsampled input, mirroring the encoder. So "i > 3" pairs the
  12x12 blocks: encoder blocks 6, 5, 4 feed (by concatenation) the inputs of decoder
  blocks 1, 2, 3 (block i with block n - i = 14 - i, numbered 1..14).
- G ends: 3x3 stem conv 1 -> 64 and 3x3 head conv 64 -> 2, then BN.
- Biases: none where a BN follows (nor on the shortcut, which is added to a BN output);
  the attention convolutions and the D classifier have one.
- Self-attention: eqs. 4.8-4.10 with k = 8 and biases (:class:`SelfAttention`).
- D: 3x3 stride-2 stem conv-BN-LeakyReLU (96 -> 48; the attention runs at 48x48), then
  res-blocks of one *standard* convolution -> BN plus a bias-free 1x1 projection
  shortcut, LeakyReLU(0.2) after the sum: 128 (3x3, stride 2), 256 (3x3, stride 2), 512
  (4x4, stride 1, "same" padding), and a 1x1 classifier with bias: a 12x12 patch grid at
  96x96. Table 4.1's ``dsconv`` switch concerns G only.

This G + D has 4,135,615 parameters (G 1,491,493, D 2,644,122): 183 (0.004 %) below the
seed's 4,135,798. With standard convolutions in G ("cGAN+Att") it has 11,081,791 (seed:
11,874,089, -6.7 %), without attention either ("cGAN") 11,046,533 (seed: 11,740,484,
-5.9 %); spectral norm adds no parameters. Found by exhaustive counting (a throw-away
script, not in the repository) over: 1 or 2 convolutions per res-block; 3x3 or 4x4
kernels in G and in D (separately for stride-1 and stride-2 layers); BN between depthwise
and pointwise or not; a bias on each kind of layer or not; 1x1 shortcuts with or without
BN, also on stride-only changes; 3 (literal "i > 3"), 4 (pix2pix mirror, block i with
15 - i) or all 6 skips; stem and head kernels 1, 3, 4, 7; 2 or 3 stride-2 D blocks; D
with DS or standard convolutions; SAGAN's attention (``h``: C -> C) or the seed's.
Findings:

- Many structures come within 0.01 % of 4,135,798, so the count alone does not pin one
  down. Table 4.1's DS -> standard difference (7,738,291) does narrow it: with 3x3
  kernels it needs about 0.97M pointwise weights in G (a 3x3 standard convolution has
  9x the pointwise weights). One DS convolution per G block has 0.87M (standard G + D:
  11.08M, -6.7 %); two (ResNet basic blocks) about 1.6M (16.4-17.3M, +39 to +46 %).
  With one per block, D must then hold about 2.64M: more than 3x3 single-convolution
  blocks (1.73M), less than 4x4 ones (2.93M), hence the one 4x4 layer; 3x3 stride-2
  layers with the 4x4 one at stride 1 is the arrangement that lands on the count.
- Two DS convolutions per G block, 3x3 D blocks, 1x1 conv + BN shortcuts, a 4x4
  classifier and all six pix2pix skips give 4,135,679 (-0.003 %), but contradict "i > 3"
  (with the three literal skips: about 3.96M, -4.3 %) and table 4.1's standard counts.
- No structure reproduces all three totals: cGAN+Att - cGAN = 133,605 is odd, while
  removing the two attention modules (one gamma each, convolutions with an even number of
  weights and biases) always removes an even number; the seed's cGAN baseline differs by
  more than the attention.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrizations, parametrize

__all__ = [
    "EFFICIENT_GAN_VARIANTS",
    "IBN",
    "DSConv",
    "DSResBlock",
    "EfficientDiscriminator",
    "EfficientGenerator",
    "MultiScaleDiscriminator",
    "PatchDiscriminator",
    "SelfAttention",
    "UNetGenerator",
    "YUVDiscriminator",
    "YUVGenerator",
    "efficient_gan",
    "remove_spectral_norm",
    "spectral_norm_all",
]

_WEIGHTED = (
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
    nn.Linear,
)


def spectral_norm_all(module: nn.Module, *, n_power_iterations: int = 1) -> nn.Module:
    """Apply spectral normalisation to every convolution (transposed too) and linear layer.

    Uses :func:`torch.nn.utils.parametrizations.spectral_norm`, so the weight is divided
    by its largest singular value (estimated by power iteration, one step per training
    forward) and the parameter count does not change. Layers already parametrised are
    left alone; ``module`` is changed in place and returned. Seed 000 section 4.5 (SN on
    G and D, after Zhang et al.'s SAGAN), seed 004 section 4.1.3 (SN in Górriz et al.'s D).
    """
    if n_power_iterations < 1:
        raise ValueError(f"n_power_iterations must be >= 1, got {n_power_iterations}")
    for layer in list(module.modules()):
        if isinstance(layer, _WEIGHTED) and not parametrize.is_parametrized(layer, "weight"):
            parametrizations.spectral_norm(layer, n_power_iterations=n_power_iterations)
    return module


def remove_spectral_norm(module: nn.Module) -> int:
    """Replace every spectrally normalised weight under ``module`` by its current
    normalised value (a plain parameter again); returns how many. For inference: the
    result computes what the eval-mode parametrised network computes, without the
    per-call division, and its batch norms can then be folded."""
    count = 0
    for layer in list(module.modules()):
        if parametrize.is_parametrized(layer, "weight"):
            parametrize.remove_parametrizations(layer, "weight", leave_parametrized=True)
            count += 1
    return count


def _conv(
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
        self.depthwise = _conv(
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


def _norm(channels: int, *, ibn: bool = False) -> nn.Module:
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
        mixed = F.scaled_dot_product_attention(query, key, value, scale=1.0)
        o = self.v(mixed.transpose(1, 2).reshape(b, -1, height, width))
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
                else _conv(cin, out_channels, kernel_size, stride=s)
            )
            if i:
                layers.append(_activation(leaky))
            layers += [conv, _norm(out_channels, ibn=ibn)]
        self.main = nn.Sequential(*layers)
        self.shortcut: nn.Module = (
            nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
            if in_channels != out_channels or stride != 1 or upsample
            else nn.Identity()
        )
        self.act = _activation(leaky)

    def forward(self, x: Tensor) -> Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        out: Tensor = self.act(self.main(x) + self.shortcut(x))
        return out


def _activation(leaky: bool) -> nn.Module:
    return nn.LeakyReLU(0.2, inplace=True) if leaky else nn.ReLU(inplace=True)


def _check_multiple(x: Tensor, multiple: int, name: str) -> None:
    if x.ndim != 4 or x.shape[-1] % multiple or x.shape[-2] % multiple:
        raise ValueError(
            f"{name} needs a (B, C, H, W) input with H and W multiples of {multiple}, "
            f"got {tuple(x.shape)}"
        )


class UNetGenerator(nn.Module):
    """pix2pix U-Net generator (Isola et al. 2017; seed 004 sections 4.1.1-4.1.2).

    Encoder ``C64-C128-C256-C512-C512-C512-C512-C512`` at the defaults: 4x4 stride-2
    convolutions, LeakyReLU(0.2), batch norm except on the first layer and on the innermost
    one (as the reference code: its 1x1 map would be normalised away). Decoder: ReLU, 4x4
    stride-2 transposed convolutions, batch norm, dropout 0.5 in the first
    ``dropout_blocks`` blocks, concatenation of the mirrored encoder features (skips), a
    last transposed convolution to ``out_channels`` and tanh. ``(B, 1, H, W) -> (B, 2, H, W)``
    with H, W multiples of ``2**depth`` (depth 5 at 32x32, 6 at 64x64, 8 at 256x256).

    Args:
        in_channels: input channels (L).
        out_channels: output channels (ab).
        base_channels: channels of the first layer, doubled per layer up to ``max_channels``.
        max_channels: channel cap.
        depth: number of stride-2 layers (>= 2).
        dropout_blocks: decoder blocks with dropout (the first ones).
        dropout: dropout probability.
        ibn_layers: the first ``ibn_layers`` normalised encoder layers use :class:`IBN`
            (Górriz et al.: instance norm in shallow layers only).
        spectral: spectral norm on every convolution (:func:`spectral_norm_all`).
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        out_channels: int = 2,
        base_channels: int = 64,
        max_channels: int = 512,
        depth: int = 8,
        dropout_blocks: int = 3,
        dropout: float = 0.5,
        ibn_layers: int = 0,
        spectral: bool = False,
    ) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError(f"depth must be >= 2, got {depth}")
        chans = [min(base_channels * 2**i, max_channels) for i in range(depth)]
        self.depth = depth
        self.encoder = nn.ModuleList()
        self.encoder.append(nn.Conv2d(in_channels, chans[0], 4, 2, 1))
        for i in range(1, depth):
            innermost = i == depth - 1
            layers: list[nn.Module] = [
                nn.LeakyReLU(0.2, inplace=False),
                nn.Conv2d(chans[i - 1], chans[i], 4, 2, 1, bias=innermost),
            ]
            if not innermost:
                layers.append(_norm(chans[i], ibn=i - 1 < ibn_layers))
            self.encoder.append(nn.Sequential(*layers))
        self.decoder = nn.ModuleList()
        for j, i in enumerate(reversed(range(1, depth))):
            cin = chans[i] if i == depth - 1 else 2 * chans[i]
            up: list[nn.Module] = [
                nn.ReLU(inplace=False),
                nn.ConvTranspose2d(cin, chans[i - 1], 4, 2, 1, bias=False),
                nn.BatchNorm2d(chans[i - 1]),
            ]
            if j < dropout_blocks:
                up.append(nn.Dropout(dropout))
            self.decoder.append(nn.Sequential(*up))
        self.head = nn.Sequential(
            nn.ReLU(inplace=False), nn.ConvTranspose2d(2 * chans[0], out_channels, 4, 2, 1)
        )
        if spectral:
            spectral_norm_all(self)

    def forward(self, l_norm: Tensor) -> Tensor:
        _check_multiple(l_norm, 2**self.depth, type(self).__name__)
        skips: list[Tensor] = []
        x = l_norm
        for layer in self.encoder:
            x = layer(x)
            skips.append(x)
        skips.pop()
        for layer in self.decoder:
            x = torch.cat([layer(x), skips.pop()], dim=1)
        return torch.tanh(self.head(x))


class PatchDiscriminator(nn.Module):
    """pix2pix PatchGAN discriminator (seed 004 section 4.1.2; seed 000 section 4.4.2).

    ``n_layers = 3`` is the 70x70 PatchGAN ``C64-C128-C256-C512``: 4x4 convolutions with
    padding 1, stride 2 except the last two (C512 and the 1-channel output), LeakyReLU(0.2),
    no norm on the first layer. Each output logit judges one receptive-field patch; for an
    input of side S the grid side is ``S/2**n_layers - 2`` (30 at 256). Conditional: the
    input is L and ab concatenated, ``(B, 3, S, S) -> (B, 1, s, s)``.

    Args:
        in_channels: input channels (L + ab = 3).
        base_channels: channels of the first layer (doubled per layer, at most 8x).
        n_layers: stride-2 layers.
        norm: batch norm (or IBN) after every convolution but the first and the output.
        ibn_layers: the first ``ibn_layers`` normalised layers use :class:`IBN`.
        spectral: spectral norm on every convolution (Górriz et al.).
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        base_channels: int = 64,
        n_layers: int = 3,
        norm: bool = True,
        ibn_layers: int = 0,
        spectral: bool = False,
    ) -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be >= 1, got {n_layers}")
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, base_channels, 4, 2, 1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        cin = base_channels
        for n in range(1, n_layers + 1):
            cout = base_channels * min(2**n, 8)
            layers.append(nn.Conv2d(cin, cout, 4, 2 if n < n_layers else 1, 1, bias=not norm))
            if norm:
                layers.append(_norm(cout, ibn=n - 1 < ibn_layers))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            cin = cout
        layers.append(nn.Conv2d(cin, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)
        # A side of S gives a grid of S / 2**n_layers - 2: at least one patch.
        self.n_layers = n_layers
        self.min_side = 3 * 2**n_layers
        if spectral:
            spectral_norm_all(self)

    def forward(self, lab_norm: Tensor) -> Tensor:
        if lab_norm.ndim != 4 or min(lab_norm.shape[-2:]) < self.min_side:
            raise ValueError(
                f"{type(self).__name__} with n_layers={self.n_layers} needs "
                f"(B, C, H, W) inputs of at least {self.min_side} px, got "
                f"{tuple(lab_norm.shape)} (a multi-scale discriminator halves it per scale)"
            )
        out: Tensor = self.net(lab_norm)
        return out


class MultiScaleDiscriminator(nn.Module):
    """``n_scales`` :class:`PatchDiscriminator` of the same layout, the i-th on the input
    average-pooled i times (3x3, stride 2: halves even sizes); Górriz et al.'s multi-scale
    discriminator after Wang et al.'s pix2pixHD (seed 004 section 4.1.3). Coarser scales
    see larger patches with the same architecture. Returns one patch map per scale, finest
    first.

    Args:
        n_scales: number of discriminators.
        **kwargs: :class:`PatchDiscriminator` arguments, shared by all scales.
    """

    def __init__(self, n_scales: int = 3, **kwargs: int | bool) -> None:
        super().__init__()
        if n_scales < 1:
            raise ValueError(f"n_scales must be >= 1, got {n_scales}")
        self.discriminators = nn.ModuleList(
            PatchDiscriminator(**kwargs)  # type: ignore[arg-type]
            for _ in range(n_scales)
        )

    def forward(self, lab_norm: Tensor) -> list[Tensor]:
        outs: list[Tensor] = []
        x = lab_norm
        for i, disc in enumerate(self.discriminators):
            if i:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            outs.append(disc(x))
        return outs


class EfficientGenerator(nn.Module):
    """Generator of seed 000's efficient colourisation GAN (section 4.5.1, figure 4.4).

    Stem conv-BN-ReLU; an encoder of :class:`DSResBlock` (the first ``down_blocks`` with
    stride 2); :class:`SelfAttention` at the bottleneck; a decoder of :class:`DSResBlock`
    (the last ``down_blocks`` upsample x2) whose first blocks also receive, concatenated,
    the outputs of encoder blocks ``i >= skip_from`` (1-based; block i pairs with block
    ``n - i`` of the n = 2 * len(encoder) blocks: the seed's "i > 3"); head conv-BN-tanh.
    See the module docstring for the choices and the parameter count.
    ``(B, 1, H, W) -> (B, 2, H, W)``, H and W multiples of ``2**down_blocks``.

    Args:
        in_channels: input channels (L).
        out_channels: output channels (ab).
        encoder_channels: output channels of the encoder blocks.
        decoder_channels: output channels of the decoder blocks (same count).
        down_blocks: stride-2 encoder blocks (and upsampling decoder blocks).
        skip_from: first encoder block (1-based) whose output is skipped to the decoder;
            the joined maps must have the same size (with ``down_blocks = 3``: >= 4).
        dsconv: depthwise-separable convolutions in the blocks (``False``: standard).
        attention: the bottleneck self-attention.
        spectral: spectral norm on every convolution.
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        out_channels: int = 2,
        encoder_channels: Sequence[int] = (64, 128, 256, 256, 256, 256, 256),
        decoder_channels: Sequence[int] = (256, 256, 256, 256, 256, 128, 64),
        down_blocks: int = 3,
        skip_from: int = 4,
        dsconv: bool = True,
        attention: bool = True,
        spectral: bool = True,
    ) -> None:
        super().__init__()
        n = len(encoder_channels)
        if len(decoder_channels) != n or not 0 <= down_blocks <= n:
            raise ValueError(
                f"need as many decoder as encoder channels and 0 <= down_blocks <= {n}, got "
                f"{list(encoder_channels)}, {list(decoder_channels)}, {down_blocks}"
            )
        self.down_blocks = down_blocks
        stem_channels = encoder_channels[0]
        self.stem = nn.Sequential(
            _conv(in_channels, stem_channels, 3),
            nn.BatchNorm2d(stem_channels),
            nn.ReLU(inplace=True),
        )
        self.encoder = nn.ModuleList()
        cin = stem_channels
        for i, cout in enumerate(encoder_channels):
            self.encoder.append(
                DSResBlock(cin, cout, stride=2 if i < down_blocks else 1, dsconv=dsconv)
            )
            cin = cout
        self.attention: nn.Module = (
            SelfAttention(encoder_channels[-1]) if attention else nn.Identity()
        )
        # Block i (1-based, encoder 1..n) pairs with block 2n - i, i.e. decoder block n - i.
        self.skip_of = {n - i: i - 1 for i in range(max(skip_from, 1), n)}
        for d, e in self.skip_of.items():
            # Halvings so far: encoder block e+1's output vs decoder block d's input.
            enc_level = min(e + 1, down_blocks)
            dec_level = down_blocks - max(0, d - 1 - (n - down_blocks))
            if enc_level != dec_level:
                raise ValueError(
                    f"skip_from={skip_from} joins encoder block {e + 1} to decoder block {d} "
                    f"at different resolutions (down_blocks={down_blocks})"
                )
        self.decoder = nn.ModuleList()
        for d, cout in enumerate(decoder_channels, start=1):
            extra = encoder_channels[self.skip_of[d]] if d in self.skip_of else 0
            up = d > n - down_blocks
            self.decoder.append(DSResBlock(cin + extra, cout, upsample=up, dsconv=dsconv))
            cin = cout
        self.head = nn.Sequential(
            _conv(cin, out_channels, 3), nn.BatchNorm2d(out_channels), nn.Tanh()
        )
        if spectral:
            spectral_norm_all(self)

    def forward(self, l_norm: Tensor) -> Tensor:
        _check_multiple(l_norm, 2**self.down_blocks, type(self).__name__)
        x = self.stem(l_norm)
        feats: list[Tensor] = []
        for block in self.encoder:
            x = block(x)
            feats.append(x)
        x = self.attention(x)
        for d, block in enumerate(self.decoder, start=1):
            if d in self.skip_of:
                x = torch.cat([x, feats[self.skip_of[d]]], dim=1)
            x = block(x)
        out: Tensor = self.head(x)
        return out


class EfficientDiscriminator(nn.Module):
    """PatchGAN discriminator of seed 000's efficient colourisation GAN (section 4.5.1).

    Stem conv-BN-LeakyReLU(0.2) with stride 2, :class:`SelfAttention` on its
    ``base_channels`` maps, then ``len(kernel_sizes)`` :class:`DSResBlock` doubling the
    channels (one convolution -> BN each, plus the 1x1 projection shortcut, LeakyReLU after
    the sum; standard convolutions unless ``dsconv``; the first ``stride_blocks`` with
    stride 2) and a 1x1 classifier: an input of side S gives a
    ``S / 2**(1 + stride_blocks)`` grid, 12x12 at the seed's 96x96. Conditional:
    ``(B, 3, S, S) -> (B, 1, s, s)``, S a multiple of ``2**(1 + stride_blocks)``.

    Args:
        in_channels: input channels (L + ab = 3).
        base_channels: stem and attention channels.
        kernel_sizes: kernel of each res-block (the default reaches the seed's count; see
            the module docstring).
        stride_blocks: res-blocks with stride 2 (the first ones).
        dsconv: depthwise-separable convolutions in the res-blocks.
        attention: the self-attention after the stem.
        spectral: spectral norm on every convolution.
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        base_channels: int = 64,
        kernel_sizes: Sequence[int] = (3, 3, 4),
        stride_blocks: int = 2,
        dsconv: bool = False,
        attention: bool = True,
        spectral: bool = True,
    ) -> None:
        super().__init__()
        if not 0 <= stride_blocks <= len(kernel_sizes):
            raise ValueError(f"stride_blocks must be in 0..{len(kernel_sizes)}")
        self.multiple = 2 ** (1 + stride_blocks)
        self.stem = nn.Sequential(
            _conv(in_channels, base_channels, 3, stride=2),
            nn.BatchNorm2d(base_channels),
            nn.LeakyReLU(0.2, inplace=True),
        )
        self.attention: nn.Module = SelfAttention(base_channels) if attention else nn.Identity()
        blocks: list[nn.Module] = []
        cin = base_channels
        for j, k in enumerate(kernel_sizes):
            blocks.append(
                DSResBlock(
                    cin,
                    2 * cin,
                    stride=2 if j < stride_blocks else 1,
                    kernel_size=k,
                    dsconv=dsconv,
                    leaky=True,
                )
            )
            cin *= 2
        self.blocks = nn.Sequential(*blocks)
        self.classifier = nn.Conv2d(cin, 1, 1)
        if spectral:
            spectral_norm_all(self)

    def forward(self, lab_norm: Tensor) -> Tensor:
        _check_multiple(lab_norm, self.multiple, type(self).__name__)
        out: Tensor = self.classifier(self.blocks(self.attention(self.stem(lab_norm))))
        return out


# Seed 000 table 4.1: which parts each compared model has.
EFFICIENT_GAN_VARIANTS: dict[str, dict[str, bool]] = {
    "cgan": {"dsconv": False, "attention": False, "spectral": False},
    "cgan+att": {"dsconv": False, "attention": True, "spectral": False},
    "cgan+att+dsconv": {"dsconv": True, "attention": True, "spectral": False},
    "cgan+att+dsconv+sn": {"dsconv": True, "attention": True, "spectral": True},
}


def efficient_gan(
    variant: str = "cgan+att+dsconv+sn",
) -> tuple[EfficientGenerator, EfficientDiscriminator]:
    """Generator and discriminator of one model of seed 000 table 4.1.

    ``"cgan"`` (standard convolutions, no attention, no SN), ``"cgan+att"``,
    ``"cgan+att+dsconv"`` (no SN) or ``"cgan+att+dsconv+sn"`` (the proposed model). The
    ``dsconv`` switch concerns the generator; the discriminator has standard convolutions
    in all four (the seed mentions DS convolutions for the generator only).
    """
    try:
        flags = EFFICIENT_GAN_VARIANTS[variant]
    except KeyError:
        known = ", ".join(EFFICIENT_GAN_VARIANTS)
        raise KeyError(f"unknown variant {variant!r}; known: {known}") from None
    generator = EfficientGenerator(
        dsconv=flags["dsconv"], attention=flags["attention"], spectral=flags["spectral"]
    )
    discriminator = EfficientDiscriminator(attention=flags["attention"], spectral=flags["spectral"])
    return generator, discriminator


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
        _check_multiple(y_norm, 32, type(self).__name__)
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
