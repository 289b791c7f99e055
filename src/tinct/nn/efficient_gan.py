"""Seed 000's efficient colourisation GAN (section 4.5): generator, discriminator, table 4.1.

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
from torch import Tensor, nn

from tinct.nn.blocks import DSResBlock, SelfAttention, check_multiple, same_conv
from tinct.nn.spectral import spectral_norm_all


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
            same_conv(in_channels, stem_channels, 3),
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
            same_conv(cin, out_channels, 3), nn.BatchNorm2d(out_channels), nn.Tanh()
        )
        if spectral:
            spectral_norm_all(self)

    def forward(self, l_norm: Tensor) -> Tensor:
        check_multiple(l_norm, 2**self.down_blocks, type(self).__name__)
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
            same_conv(in_channels, base_channels, 3, stride=2),
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
        check_multiple(lab_norm, self.multiple, type(self).__name__)
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
