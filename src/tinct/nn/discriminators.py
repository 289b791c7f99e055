"""PatchGAN and multi-scale discriminators (pix2pix, Górriz et al.; seed 004 sec. 4.1.2-4.1.3)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from tinct.nn.blocks import norm_layer
from tinct.nn.spectral import spectral_norm_all


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
                layers.append(norm_layer(cout, ibn=n - 1 < ibn_layers))
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
