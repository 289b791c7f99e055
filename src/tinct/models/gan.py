"""Adversarial colourisers (family ``gan``): a generator that is a regular colouriser, and
the discriminator it is trained against.

The registered model *is* the generator: it predicts normalised chroma from lightness
like any regression colouriser, so the pipeline, ``tinct evaluate`` and exported model
files treat it the same way (a model file holds the generator only). Its discriminator
is built on demand by :meth:`GANColouriser.build_discriminator` for training (see
:mod:`tinct.train.objectives.adversarial`), with the layout the model's seed pairs it with.

- ``pix2pix``: U-Net generator + 70x70 PatchGAN (Isola et al. 2017; seed 004 section
  4.1.2, seed 000 section 4.4.2).
- ``gorriz``: pix2pix with IBN in the shallow layers of G and D, spectral norm in D and
  multi-scale discriminators (Górriz et al.; seed 004 section 4.1.3).
- ``efficient-gan``: DS-conv res-block generator with self-attention and its PatchGAN
  (seed 000 section 4.5), with the ablations of table 4.1 as ``variant``.
- ``cgan-yuv``: seed 001's small convolutional GAN in YUV, unconditional UV
  discriminator (section 4.2).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from tinct.models.base import Colouriser, ModelOutput
from tinct.models.registry import register_model
from tinct.nn.discriminators import MultiScaleDiscriminator, PatchDiscriminator
from tinct.nn.efficient_gan import (
    EFFICIENT_GAN_VARIANTS,
    EfficientDiscriminator,
    EfficientGenerator,
)
from tinct.nn.spectral import remove_spectral_norm
from tinct.nn.unet import UNetGenerator
from tinct.nn.yuv_gan import YUVDiscriminator, YUVGenerator


class GANColouriser(Colouriser):
    """A GAN generator as a colouriser: lightness -> normalised chroma (tanh).

    Args:
        generator: ``(B, 1, H, W)`` normalised lightness -> ``(B, 2, H, W)`` normalised
            chroma.
        discriminator: factory of the paired discriminator (built only for training).
        space: colour space of the lightness/chroma pair.
        input_multiple: what both input sides must be multiples of.
        conditional: the discriminator sees lightness and chroma concatenated
            (``(B, 3, H, W)``, pix2pix); otherwise chroma only (``(B, 2, H, W)``).
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: Callable[[], nn.Module],
        *,
        space: str = "lab",
        input_multiple: int = 32,
        conditional: bool = True,
    ) -> None:
        super().__init__()
        self.generator = generator
        self._discriminator_factory = discriminator
        self.space = space
        self.input_multiple = input_multiple
        self.conditional = conditional

    def forward(self, lightness: Tensor) -> ModelOutput:
        return ModelOutput(chroma_norm=self.generator(self.normalize_input(lightness)))

    def build_discriminator(self) -> nn.Module:
        """A new, untrained discriminator of the layout this model is trained against."""
        return self._discriminator_factory()

    def fuse_for_inference(self) -> None:
        remove_spectral_norm(self)
        super().fuse_for_inference()


@register_model("pix2pix", family="gan")
def pix2pix(
    *,
    depth: int = 8,
    base_channels: int = 64,
    max_channels: int = 512,
    dropout_blocks: int = 3,
    d_layers: int = 3,
    d_base_channels: int = 64,
    space: str = "lab",
) -> GANColouriser:
    """pix2pix: U-Net generator + 70x70 PatchGAN discriminator (seed 004 sec. 4.1.2).

    Args:
        depth: stride-2 layers of the U-Net (8 at 256 px: a 1x1 bottleneck; inputs must
            be multiples of ``2**depth``).
        base_channels, max_channels, dropout_blocks: see :class:`UNetGenerator`.
        d_layers: stride-2 layers of the PatchGAN (3: the 70x70 receptive field).
        d_base_channels: channels of the discriminator's first layer.
        space: colour space.
    """
    generator = UNetGenerator(
        base_channels=base_channels,
        max_channels=max_channels,
        depth=depth,
        dropout_blocks=dropout_blocks,
    )
    return GANColouriser(
        generator,
        lambda: PatchDiscriminator(base_channels=d_base_channels, n_layers=d_layers),
        space=space,
        input_multiple=2**depth,
    )


@register_model("gorriz", family="gan")
def gorriz(
    *,
    depth: int = 8,
    base_channels: int = 64,
    max_channels: int = 512,
    dropout_blocks: int = 3,
    ibn_layers: int = 3,
    d_layers: int = 3,
    d_base_channels: int = 64,
    d_ibn_layers: int = 2,
    d_scales: int = 3,
    space: str = "lab",
) -> GANColouriser:
    """Górriz et al.: pix2pix with IBN, spectral norm in D, multi-scale D (seed 004 4.1.3).

    IBN (half the channels instance-normalised) in the first ``ibn_layers`` normalised
    layers of the generator's encoder and the first ``d_ibn_layers`` of each
    discriminator, batch norm elsewhere; ``d_scales`` PatchGAN discriminators of the same
    layout on the input average-pooled 0, 1, 2, ... times, all spectrally normalised.
    """
    generator = UNetGenerator(
        base_channels=base_channels,
        max_channels=max_channels,
        depth=depth,
        dropout_blocks=dropout_blocks,
        ibn_layers=ibn_layers,
    )
    return GANColouriser(
        generator,
        lambda: MultiScaleDiscriminator(
            d_scales,
            base_channels=d_base_channels,
            n_layers=d_layers,
            ibn_layers=d_ibn_layers,
            spectral=True,
        ),
        space=space,
        input_multiple=2**depth,
    )


@register_model("efficient-gan", family="gan")
def efficient_gan_model(*, variant: str = "cgan+att+dsconv+sn") -> GANColouriser:
    """Seed 000's efficient GAN: DS-conv res-blocks, self-attention, spectral norm.

    ``variant`` picks a model of seed 000 table 4.1: ``cgan`` (standard convolutions, no
    attention, no SN), ``cgan+att``, ``cgan+att+dsconv`` (no SN) or
    ``cgan+att+dsconv+sn`` (the proposed model, default). Inputs: multiples of 8 (the
    seed: 96x96, a 12x12 patch grid).
    """
    if variant not in EFFICIENT_GAN_VARIANTS:
        known = ", ".join(EFFICIENT_GAN_VARIANTS)
        raise ValueError(f"unknown efficient-gan variant {variant!r}; known: {known}")
    flags = EFFICIENT_GAN_VARIANTS[variant]
    generator = EfficientGenerator(
        dsconv=flags["dsconv"], attention=flags["attention"], spectral=flags["spectral"]
    )
    return GANColouriser(
        generator,
        lambda: EfficientDiscriminator(attention=flags["attention"], spectral=flags["spectral"]),
        input_multiple=8,
    )


@register_model("cgan-yuv", family="gan")
def cgan_yuv() -> GANColouriser:
    """Seed 001's convolutional GAN: small CNN generator Y -> UV, UV-only discriminator.

    Generator: the layer table of seed 001 figure 4.9 (:class:`~tinct.nn.YUVGenerator`,
    233,106 Keras parameters); discriminator: an unconditional CNN on U and V with one
    real/fake score per image (:class:`~tinct.nn.YUVDiscriminator`). Trained with BCE
    and Adam 2e-4, beta1 0.5 (``configs/gan/cgan-yuv.yaml``). Inputs: multiples of 32.
    """
    return GANColouriser(
        YUVGenerator(), YUVDiscriminator, space="yuv", input_multiple=32, conditional=False
    )
