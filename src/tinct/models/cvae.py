"""Conditional variational autoencoders for diverse colourisation (seed 001 section 4.3).

Three networks (seed 001 figures 3.7, 3.8 and 4.10):

- the *training encoder* sees the whole image, normalised ``Y`` and ``UV`` stacked
  (``(B, 3, h, w)``), and gives the posterior ``N(mu1, sigma1)``;
- the *conditional encoder* sees only ``Y`` and gives ``N(mu2, sigma2)``, trained to
  approximate the posterior;
- the *decoder* maps a latent ``z`` to a coarse ``UV``, concatenates ``Y`` and refines
  the pair into the output ``UV``.

Training samples ``z`` from the posterior with the reparameterisation trick
``z = mu + eps sigma`` (seed equation 3.11); the loss is ``W MSE + KL(N1 || N2)``
(seed equations 4.5-4.7, :func:`tinct.losses.gaussian_kl`), computed by the training
module from the distributions the model returns in :attr:`ModelOutput.extras`
(``mu``, ``logvar``, ``prior_mu``, ``prior_logvar``; ``logvar = log sigma²``). At
inference ``z`` is drawn from the conditional encoder's distribution, so every call
can give another colourisation: :meth:`ConditionalVAE.sample` takes a
``torch.Generator`` for reproducible samples.

Two variants:

- ``cvae``: the seed's network. Four stride-2 convolutions (8, 16, 64, 128 filters)
  flatten into dense layers (512, then ``latent_dim`` for mu and for log sigma²); the
  decoder is a dense layer back to the smallest feature map and transposed
  convolutions. The dense layers fix the resolution (``image_size``, 32 in the seed);
  inputs of another size are resized to it and the chroma is resized back, so the
  pipeline can feed any photo, with chroma of ``image_size`` detail.

  Two layouts (``layout``), because the seed's text and its layer table disagree:

  - ``"figure"`` (the default): figure 4.10's layer table, 1,255,285 parameters at 32x32
    (training encoder 478,512, conditional encoder 478,368, decoder 298,405): latent
    128 (its ``dense_8``/``dense_9``), the decoder's layers after the upsampler are
    transposed convolutions, and the last one gives three channels, a reconstruction of
    Y besides UV; the loss's MSE is over all three (equation 4.6, ``MSE(X_YUV, Y_YUV)``),
    the reconstructed Y is returned as ``extras["luma_norm"]`` and the output chroma is
    the UV pair (the pipeline keeps the photo's own lightness). The figure's 1,100
    parameters for ``conv2d_transpose_10`` are a misprint for 1,160 (16 -> 8 filters,
    3x3): its decoder total, 298,405, counts 1,160.
  - ``"thesis-text"``: tinct's first reading (the bundled ``cvae.pt`` is one), after
    the text: latent 1024 (section 4.3.6: "1024 was chosen as the final latent
    dimension"), and the decoder gives UV only ("the decoder only convolves to produce
    the UV tensor", section 4.3.3) through ordinary convolutions; 3,552,556 parameters
    at 32x32. Model files written before ``layout`` existed have no ``layout`` in their
    kwargs and load as this layout (the registry's ``legacy_defaults``).
- ``cvae-conv``: fully convolutional. The same encoders stop at 1/8 resolution and
  1x1 convolutions give a *spatial* latent ``(B, latent_channels, h/8, w/8)``; the
  decoder upsamples it with transposed convolutions. No dense layer, so any multiple
  of 8 works at its own resolution, and each latent cell describes the colours of
  its 8x8 neighbourhood instead of one vector describing the whole image.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tinct.color import normalize_chroma
from tinct.models.base import Colouriser, ModelOutput
from tinct.models.registry import register_model
from tinct.nn.cvae import (
    CONV_DECODER_CHANNELS,
    CONV_ENCODER_CHANNELS,
    SEED_DECODER_CHANNELS,
    SEED_ENCODER_CHANNELS,
    SEED_FIGURE_LATENT,
    SEED_TEXT_LATENT,
    conv_encoder,
    conv_upsampler,
    dense_head,
    gaussian,
    refine_head,
    reparameterise,
    uv_head,
)

CVAELayout = Literal["figure", "thesis-text"]
#: The layouts of ``cvae`` (see the module docstring).
CVAE_LAYOUTS: tuple[str, ...] = ("figure", "thesis-text")


class ConditionalVAE(Colouriser):
    """Base of the two CVAE variants: the training step, sampling and the shared decoder head.

    Subclasses define :meth:`encode_posterior` (normalised YUV -> mu1, logvar1),
    :meth:`encode_prior` (normalised Y -> mu2, logvar2) and :meth:`decode_latent`
    (z, normalised Y -> coarse UV); this class joins Y and refines (seed 001 section 4.3.3)
    into UV, or with ``figure_head`` into YUV (figure 4.10c).
    """

    supports_sampling: ClassVar[bool] = True

    def __init__(self, *, space: str, refine_channels: int, figure_head: bool = False) -> None:
        super().__init__()
        self.space = space
        # Coarse UV concatenated with Y -> refined UV or YUV (the seed's last two layers).
        self.refine = refine_head(refine_channels, figure=figure_head)

    def encode_posterior(self, yuv_norm: Tensor) -> tuple[Tensor, Tensor]:
        """Training encoder: normalised ``(B, 3, h, w)`` Y|UV -> ``(mu1, logvar1)``."""
        raise NotImplementedError

    def encode_prior(self, y_norm: Tensor) -> tuple[Tensor, Tensor]:
        """Conditional encoder: normalised ``(B, 1, h, w)`` Y -> ``(mu2, logvar2)``."""
        raise NotImplementedError

    def decode_latent(self, z: Tensor, y_norm: Tensor) -> Tensor:
        """Decoder trunk: latent ``z`` -> coarse UV ``(B, 2, h, w)`` at ``y_norm``'s size."""
        raise NotImplementedError

    def _prepare(self, y_norm: Tensor) -> Tensor:
        """The luminance the networks see (the flat variant resizes it to its fixed size)."""
        return y_norm

    def _finish(self, chroma_norm: Tensor, size: tuple[int, int]) -> Tensor:
        return chroma_norm

    def _decode(self, z: Tensor, y_norm: Tensor) -> Tensor:
        coarse = self.decode_latent(z, y_norm)
        return torch.tanh(self.refine(torch.cat([y_norm, coarse], dim=1)))

    def forward(
        self,
        lightness: Tensor,
        target_chroma_norm: Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
    ) -> ModelOutput:
        """Lightness (colour-space units) -> :class:`ModelOutput`.

        With ``target_chroma_norm`` (the normalised ground-truth chroma, training and
        validation) ``z`` comes from the training encoder's posterior and the extras
        hold both distributions for the KL term. Without it, ``z`` is drawn from the
        conditional encoder's distribution (seed 001 section 4.3.5). A decoder that
        reconstructs Y too (the figure layout) returns it as ``extras["luma_norm"]``
        (normalised like the input, ``(B, 1, h, w)``).
        """
        size = (lightness.shape[-2], lightness.shape[-1])
        y_norm = self._prepare(self.normalize_input(lightness))
        prior_mu, prior_logvar = self.encode_prior(y_norm)
        extras = {"prior_mu": prior_mu, "prior_logvar": prior_logvar}
        if target_chroma_norm is None:
            z = reparameterise(prior_mu, prior_logvar, generator)
        else:
            if target_chroma_norm.shape[-2:] != lightness.shape[-2:]:
                raise ValueError(
                    f"target chroma {tuple(target_chroma_norm.shape)} and lightness "
                    f"{tuple(lightness.shape)} differ in size"
                )
            target = self._prepare(self.to_compute_dtype(target_chroma_norm))
            mu, logvar = self.encode_posterior(torch.cat([y_norm, target], dim=1))
            extras.update(mu=mu, logvar=logvar)
            z = reparameterise(mu, logvar, generator)
        decoded = self._finish(self._decode(z, y_norm), size)
        if decoded.shape[1] == 3:  # Y, U, V (figure 4.10c)
            extras["luma_norm"] = decoded[:, :1]
            decoded = decoded[:, 1:]
        return ModelOutput(chroma_norm=decoded, extras=extras)

    def sample(self, lightness: Tensor, *, generator: torch.Generator | None = None) -> ModelOutput:
        """One colourisation per item of ``lightness``, ``z`` drawn from the conditional
        encoder with ``generator`` (the same generator state gives the same output)."""
        return self(lightness, generator=generator)

    def reconstruct(self, lightness: Tensor, chroma: Tensor) -> ModelOutput:
        """Output with ``z`` from the training encoder given the true chroma (colour-space
        units): how well the decoder can reproduce an image it is shown."""
        return self(lightness, normalize_chroma(chroma, self.space))


@register_model("cvae", family="cvae", legacy_defaults={"layout": "thesis-text"})
class SeedCVAE(ConditionalVAE):
    """Seed 001's conditional VAE (dense latent, diverse samples; section 4.3, figure 4.10).

    Encoders (figure 4.10a/b): 3x3 stride-2 convolutions with 8, 16, 64 and 128
    filters to ``image_size / 16``, flattened, a dense layer of ``hidden``, and dense
    layers of ``latent_dim`` for mu and log sigma². Decoder (figure 4.10c): a dense layer
    back to the 128-channel map, transposed convolutions 128 -> 128 -> 64 -> 16 -> 8 up
    to ``image_size``, a 3x3 layer to UV, then Y is concatenated and two 3x3 layers give
    the output: YUV through transposed convolutions in the ``"figure"`` layout (1,255,285
    parameters at the defaults, as figure 4.10 counts), UV through convolutions in the
    ``"thesis-text"`` layout (see the module docstring).

    Args:
        layout: ``"figure"`` (figure 4.10's table) or ``"thesis-text"`` (the older
            layout after the text; model files without ``layout`` are this one).
        latent_dim: size of the latent vector; default 128 in the figure layout (figure
            4.10), 1024 in the text layout (section 4.3.6).
        image_size: the fixed square resolution of the dense layers (seed: 32); other
            inputs are resized to it and the chroma back to theirs.
        hidden: the dense layer between the flattened features and the latent.
        space: colour space of the lightness/chroma pair (the seed's is "yuv").
    """

    input_size = 32
    input_multiple = 1

    def __init__(
        self,
        *,
        layout: CVAELayout = "figure",
        latent_dim: int | None = None,
        image_size: int = 32,
        hidden: int = 512,
        space: str = "yuv",
    ) -> None:
        if layout not in CVAE_LAYOUTS:
            raise ValueError(f"layout must be one of {list(CVAE_LAYOUTS)}, got {layout!r}")
        figure = layout == "figure"
        super().__init__(space=space, refine_channels=8, figure_head=figure)
        if latent_dim is None:
            latent_dim = SEED_FIGURE_LATENT if figure else SEED_TEXT_LATENT
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be positive, got {latent_dim}")
        if image_size < 16 or image_size % 16:
            raise ValueError(f"image_size must be a multiple of 16 (>= 16), got {image_size}")
        self.layout = layout
        self.image_size = image_size
        self.input_size = image_size
        self.latent_dim = latent_dim
        self._side = image_size // 16
        chans = SEED_ENCODER_CHANNELS
        flat = chans[-1] * self._side**2
        self.posterior_conv = conv_encoder(3, chans)
        self.posterior_dense, self.posterior_mu, self.posterior_logvar = dense_head(
            flat, hidden, latent_dim
        )
        self.prior_conv = conv_encoder(1, chans)
        self.prior_dense, self.prior_mu, self.prior_logvar = dense_head(flat, hidden, latent_dim)
        self.decoder_dense = nn.Sequential(nn.Linear(latent_dim, flat), nn.ReLU(inplace=True))
        self.decoder_up = nn.Sequential(
            conv_upsampler(SEED_DECODER_CHANNELS),
            uv_head(SEED_DECODER_CHANNELS[-1], figure=figure),
        )

    def _prepare(self, y_norm: Tensor) -> Tensor:
        if y_norm.shape[-2:] == (self.image_size, self.image_size):
            return y_norm
        side = (self.image_size, self.image_size)
        # Antialiased resizing has no bfloat16 kernel: resize in float32.
        resized = F.interpolate(y_norm.float(), size=side, mode="bilinear", antialias=True)
        return resized.to(y_norm.dtype)

    def _finish(self, chroma_norm: Tensor, size: tuple[int, int]) -> Tensor:
        if chroma_norm.shape[-2:] == size:
            return chroma_norm
        resized = F.interpolate(
            chroma_norm.float(), size=size, mode="bilinear", align_corners=False
        )
        return resized.to(chroma_norm.dtype)

    def encode_posterior(self, yuv_norm: Tensor) -> tuple[Tensor, Tensor]:
        features = self.posterior_dense(self.posterior_conv(yuv_norm))
        return gaussian(features, self.posterior_mu, self.posterior_logvar)

    def encode_prior(self, y_norm: Tensor) -> tuple[Tensor, Tensor]:
        features = self.prior_dense(self.prior_conv(y_norm))
        return gaussian(features, self.prior_mu, self.prior_logvar)

    def decode_latent(self, z: Tensor, y_norm: Tensor) -> Tensor:
        x = self.decoder_dense(z).view(
            z.shape[0], SEED_ENCODER_CHANNELS[-1], self._side, self._side
        )
        return self.decoder_up(x)


@register_model("cvae-conv", family="cvae")
class ConvCVAE(ConditionalVAE):
    """Fully convolutional CVAE: a spatial latent, so it works at any size (multiple of 8).

    Encoders: 3x3 stride-2 convolutions with 16, 64 and 128 filters (1/8 resolution),
    then 1x1 convolutions to ``latent_channels`` maps of mu and log sigma². Decoder:
    transposed convolutions 128 -> 64 -> 16 back to full resolution after a 1x1
    convolution of ``z``, then Y is joined and two convolutions give UV.

    Args:
        latent_channels: channels of the spatial latent (one latent vector of this size
            per 8x8 block of the image).
        space: colour space of the lightness/chroma pair (the seed's is "yuv").
    """

    input_size = 64
    input_multiple = 8

    def __init__(self, *, latent_channels: int = 32, space: str = "yuv") -> None:
        super().__init__(space=space, refine_channels=16)
        if latent_channels < 1:
            raise ValueError(f"latent_channels must be positive, got {latent_channels}")
        self.latent_channels = latent_channels
        chans = CONV_ENCODER_CHANNELS
        self.posterior_conv = conv_encoder(3, chans)
        self.posterior_mu = nn.Conv2d(chans[-1], latent_channels, 1)
        self.posterior_logvar = nn.Conv2d(chans[-1], latent_channels, 1)
        self.prior_conv = conv_encoder(1, chans)
        self.prior_mu = nn.Conv2d(chans[-1], latent_channels, 1)
        self.prior_logvar = nn.Conv2d(chans[-1], latent_channels, 1)
        self.decoder_in = nn.Sequential(
            nn.Conv2d(latent_channels, CONV_DECODER_CHANNELS[0], 1), nn.ReLU(inplace=True)
        )
        self.decoder_up = nn.Sequential(
            conv_upsampler(CONV_DECODER_CHANNELS),
            nn.Conv2d(CONV_DECODER_CHANNELS[-1], 2, 3, padding=1),
        )

    def _check(self, x: Tensor) -> None:
        if x.shape[-2] % 8 or x.shape[-1] % 8:
            raise ValueError(f"cvae-conv needs sides that are multiples of 8, got {tuple(x.shape)}")

    def encode_posterior(self, yuv_norm: Tensor) -> tuple[Tensor, Tensor]:
        return gaussian(self.posterior_conv(yuv_norm), self.posterior_mu, self.posterior_logvar)

    def encode_prior(self, y_norm: Tensor) -> tuple[Tensor, Tensor]:
        self._check(y_norm)
        return gaussian(self.prior_conv(y_norm), self.prior_mu, self.prior_logvar)

    def decode_latent(self, z: Tensor, y_norm: Tensor) -> Tensor:
        return self.decoder_up(self.decoder_in(z))
