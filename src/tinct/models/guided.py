"""Guided colourisers (family ``guided``): seed 003's edge- and saliency-map guided
multi-path GAN.

``multipath-gan`` (:mod:`tinct.nn.multipath` describes the network and what seed 003
leaves open): the grey image, stacked to 3 channels in [-1, 1], goes through a six-group
encoder joined after its fifth group by a frozen pretrained backbone's features, and a
six-stage up-sampling decoder with skips, to 5 channels in [-1, 1]: RGB, a saliency map,
an edge map. Like every colouriser it takes lightness and its :meth:`decode` gives chroma:
the a*b* of its RGB output (so the pipeline recombines that chroma with the
full-resolution lightness, as for any model). The RGB, saliency and edge channels are
kept in ``extras`` for the losses (:mod:`tinct.train.objectives.guided`) and
:meth:`decode_aux` (``tinct colourise --save-aux``).

The model file holds the generator (backbone included); its discriminator is built by
:meth:`build_discriminator` for training, as for the ``gan`` family.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor

from tinct.color import lab_lightness_to_grey, normalize_chroma, rgb_to_lab
from tinct.models.base import ModelOutput
from tinct.models.gan import GANColouriser
from tinct.models.registry import register_model
from tinct.nn.multipath import BackbonePath, MultipathDiscriminator, MultipathGenerator


class MultipathColouriser(GANColouriser):
    """Seed 003's multi-path generator as a colouriser.

    ``forward(lightness)`` returns ``ModelOutput(chroma_norm=(B, 2, H, W), extras={"rgb":
    (B, 3, H, W), "saliency": (B, 1, H, W), "edges": (B, 1, H, W)})``: the maps raw, in
    [-1, 1] (tanh); ``chroma_norm`` is the normalised a*b* of the RGB output. H and W:
    multiples of 64.
    """

    aux_maps: ClassVar[tuple[str, ...]] = ("saliency", "edges")

    def __init__(self, generator: MultipathGenerator, d_channels: Sequence[int]) -> None:
        channels = tuple(int(c) for c in d_channels)
        super().__init__(
            generator,
            lambda: MultipathDiscriminator(in_channels=4, channels=channels),
            space="lab",
            input_multiple=64,
            conditional=True,
        )
        self.input_size = 64

    def grey_input(self, lightness: Tensor) -> Tensor:
        """Lightness (L* units) -> the grey image ``(B, 1, H, W)`` in [-1, 1] the
        generator sees (stacked to 3 channels) and the discriminator is conditioned on."""
        return lab_lightness_to_grey(lightness.float()) * 2.0 - 1.0

    def forward(self, lightness: Tensor) -> ModelOutput:
        grey = self.to_compute_dtype(self.grey_input(lightness))
        out = self.generator(grey.expand(*grey.shape[:-3], 3, *grey.shape[-2:]))
        rgb = out[:, :3]
        # The chroma of the predicted RGB, in float32 (the colour maths of a bf16 model too).
        lab = rgb_to_lab((rgb.float() + 1.0) * 0.5)
        return ModelOutput(
            chroma_norm=normalize_chroma(lab[:, 1:], "lab"),
            extras={"rgb": rgb, "saliency": out[:, 3:4], "edges": out[:, 4:5]},
        )

    def decode_aux(self, output: ModelOutput) -> dict[str, Tensor]:
        """The predicted saliency and edge maps, ``(B, 1, h, w)`` in [0, 1]."""
        return {
            name: ((output.extras[name].float() + 1.0) * 0.5).clamp(0.0, 1.0)
            for name in self.aux_maps
        }

    @torch.no_grad()
    def fuse_for_inference(self) -> None:
        super().fuse_for_inference()
        if isinstance(self.generator, MultipathGenerator):
            self.generator.fuse_for_inference()


@register_model("multipath-gan", family="guided")
def multipath_gan(
    *,
    channels: Sequence[int] = (64, 128, 256, 512, 512, 512),
    backbone: str | None = "efficientnet-lite0",
    backbone_state_dict: str | None = None,
    pretrained: bool = True,
    train_backbone: bool = False,
    d_channels: Sequence[int] = (64, 128, 256, 256, 256),
) -> MultipathColouriser:
    """Seed 003's edge- and saliency-guided multi-path GAN: RGB + saliency + edge output.

    Args:
        channels: widths of the six encoder groups (the decoder mirrors them).
        backbone: the pretrained path fused after encoder group 5, at stride 32:
            ``"efficientnet-lite0"`` (offline ImageNet weights; last stage, 320 channels),
            ``"resnet18"`` (the seed's; ``layer4``, 512 channels; needs
            ``backbone_state_dict``) or ``None`` (no second path).
        backbone_state_dict: a user-supplied state dict for the backbone (torchvision
            format for ResNet-18), loaded with ``weights_only=True``.
        pretrained: load the backbone's weights (``False``: random, e.g. when loading a
            saved model, whose state dict has them).
        train_backbone: fine-tune the backbone (the seed froze it).
        d_channels: widths of the discriminator's first five convolutions.
    """
    path = (
        None
        if backbone is None
        else BackbonePath(
            backbone,
            pretrained=pretrained,
            state_dict=backbone_state_dict,
            trainable=train_backbone,
        )
    )
    generator = MultipathGenerator(channels=channels, backbone=path)
    return MultipathColouriser(generator, d_channels)
