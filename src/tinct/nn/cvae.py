"""Layers of seed 001's conditional VAEs (section 4.3): encoders, decoders, the latent draw.

:mod:`tinct.models.cvae` assembles them into the ``cvae`` and ``cvae-conv`` colourisers
(which own the layers directly, so the state-dict keys are ``posterior_conv.0.weight``
etc.). Encoders are 3x3 stride-2 convolutions with ReLU (:func:`conv_encoder`); the
distributions are ``(mu, log sigma²)`` pairs (:func:`gaussian`); decoders upsample with
stride-2 transposed convolutions (:func:`conv_upsampler`) and :func:`refine_head` turns the
coarse UV, concatenated with Y, into the output (seed 001 figures 3.7, 3.8 and 4.10): UV,
or with ``figure=True`` the three YUV channels through transposed convolutions, as
figure 4.10c draws them.
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor, nn

#: log sigma² is clamped to this range: exp() of it stays finite in float32 and bf16.
LOGVAR_RANGE = (-30.0, 20.0)

#: Encoder filters of seed 001's CVAE (figure 4.10a/b) and the upsampler of its decoder
#: (figure 4.10c, before the convolution to UV).
SEED_ENCODER_CHANNELS = (8, 16, 64, 128)
SEED_DECODER_CHANNELS = (128, 128, 64, 16, 8)
#: Latent dimension of figure 4.10 (dense_8/dense_9: 128) and of the text (section 4.3.6:
#: 1024, chosen after figure 4.11a).
SEED_FIGURE_LATENT = 128
SEED_TEXT_LATENT = 1024
#: The same for the fully convolutional variant (``cvae-conv``: 1/8 resolution).
CONV_ENCODER_CHANNELS = (16, 64, 128)
CONV_DECODER_CHANNELS = (128, 64, 16, 16)


def reparameterise(mu: Tensor, logvar: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """``z = mu + eps sigma`` with ``eps ~ N(0, 1)`` drawn from ``generator`` (seed 001
    equation 3.11); gradients flow to ``mu`` and ``logvar``. ``eps`` is drawn in float32
    on the CPU generator's device and cast, so a seed gives the same ``z`` in any dtype."""
    device = generator.device if generator is not None else mu.device
    eps = torch.randn(mu.shape, generator=generator, device=device, dtype=torch.float32)
    return mu + eps.to(device=mu.device, dtype=mu.dtype) * torch.exp(0.5 * logvar)


def gaussian(features: Tensor, mu: nn.Module, logvar: nn.Module) -> tuple[Tensor, Tensor]:
    """``(mu(features), logvar(features))``, log sigma² clamped to :data:`LOGVAR_RANGE`."""
    return mu(features), logvar(features).clamp(*LOGVAR_RANGE)


def conv_encoder(in_channels: int, channels: tuple[int, ...]) -> nn.Sequential:
    """Stride-2 3x3 convolutions with ReLU: each halves the resolution."""
    layers: list[nn.Module] = []
    for cin, cout in zip((in_channels, *channels[:-1]), channels, strict=True):
        layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


def conv_upsampler(channels: tuple[int, ...]) -> nn.Sequential:
    """Stride-2 transposed convolutions with ReLU: each doubles the resolution."""
    layers: list[nn.Module] = []
    for cin, cout in itertools.pairwise(channels):
        layers += [
            nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1),
            nn.ReLU(inplace=True),
        ]
    return nn.Sequential(*layers)


def dense_head(
    in_features: int, hidden: int, latent_dim: int
) -> tuple[nn.Sequential, nn.Linear, nn.Linear]:
    """Flattened encoder features -> a dense ReLU layer of ``hidden`` units (the trunk),
    and the two dense layers giving mu and log sigma² of size ``latent_dim``."""
    trunk = nn.Sequential(nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU(inplace=True))
    return trunk, nn.Linear(hidden, latent_dim), nn.Linear(hidden, latent_dim)


def uv_head(channels: int, *, figure: bool = False) -> nn.Module:
    """The decoder's 3x3 layer from ``channels`` feature maps to the coarse UV ``(B, 2, h,
    w)``, same size; a transposed convolution with ``figure`` (figure 4.10c's
    ``conv2d_transpose_11``: 146 parameters either way), else a convolution."""
    layer = nn.ConvTranspose2d if figure else nn.Conv2d
    return layer(channels, 2, 3, padding=1)


def refine_head(channels: int, *, figure: bool = False) -> nn.Sequential:
    """Coarse UV concatenated with Y ``(B, 3, h, w)`` -> the output (the seed's last two
    layers; no output activation).

    ``figure=False``: two convolutions giving UV ``(B, 2, h, w)``. ``figure=True``: two
    stride-1 transposed convolutions giving YUV ``(B, 3, h, w)``, figure 4.10c's
    ``conv2d_transpose_12/13`` (224 + 219 parameters with ``channels=8``).
    """
    layer = nn.ConvTranspose2d if figure else nn.Conv2d
    return nn.Sequential(
        layer(3, channels, 3, padding=1),
        nn.ReLU(inplace=True),
        layer(channels, 3 if figure else 2, 3, padding=1),
    )
