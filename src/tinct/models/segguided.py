"""Segmentation-guided colourisers (family ``segguided``; seed 004 section 4.3).

The network (:class:`~tinct.nn.segguided.SegGuidedUNet`, the pix2pix U-Net) predicts a
pair of chroma channels per semantic class and per-pixel class logits. The raw output is
both, in ``extras``: ``"class_chroma"`` ``(B, 2 * n_classes, H, W)`` normalised chroma and
``"seg_logits"`` ``(B, n_classes, H, W)``; ``chroma_norm`` is ``None``. Decoding picks,
at every pixel, the chroma pair of the predicted class (the argmax of the logits) and
converts it to colour-space units, so a photo is colourised without any mask. Training
(:mod:`tinct.train.objectives.segguided`) compares each class's pair with the truth inside
that class's mask and the logits with the mask.

- ``seg-shared``: one decoder for both tasks (section 4.3.1; the model the seed trained,
  section 5.2), its last layer giving the ``2 * n_classes`` chroma channels and the
  ``n_classes`` logits.
- ``seg-separate``: a shared encoder and two decoders, colour and segmentation (section
  4.3.2, not implemented in the seed), trained segmentation first
  (``segmentation.pretrain_steps``).
"""

from __future__ import annotations

from torch import Tensor

from tinct.color import denormalize_chroma
from tinct.models.base import Colouriser, ModelOutput
from tinct.models.registry import register_model
from tinct.nn.segguided import SegGuidedUNet, pick_class_chroma


class SegGuidedColouriser(Colouriser):
    """Lightness -> per-class chroma + segmentation logits; decoded by the segmentation.

    Args:
        n_classes: semantic classes of the masks it is trained on (Pascal VOC: 21; the
            corpus-derived VOC stand-in: 2, background and foreground).
        decoders: ``"shared"`` or ``"separate"``.
        depth, base_channels, max_channels, dropout_blocks, ibn_layers: the U-Net's
            (:class:`~tinct.nn.unet.UNetGenerator`); inputs must be multiples of ``2**depth``.
        space: colour space of the lightness/chroma pair.
    """

    def __init__(
        self,
        *,
        n_classes: int,
        decoders: str,
        depth: int = 8,
        base_channels: int = 64,
        max_channels: int = 512,
        dropout_blocks: int = 3,
        ibn_layers: int = 0,
        space: str = "lab",
    ) -> None:
        super().__init__()
        self.net = SegGuidedUNet(
            n_classes=n_classes,
            decoders=decoders,
            base_channels=base_channels,
            max_channels=max_channels,
            depth=depth,
            dropout_blocks=dropout_blocks,
            ibn_layers=ibn_layers,
        )
        self.n_classes = n_classes
        self.space = space
        self.input_multiple = 2**depth

    def forward(self, lightness: Tensor) -> ModelOutput:
        class_chroma, logits = self.net(self.normalize_input(lightness))
        return ModelOutput(extras={"class_chroma": class_chroma, "seg_logits": logits})

    def segment(self, output: ModelOutput) -> Tensor:
        """The predicted segmentation ``(B, H, W)`` int64: each pixel's most likely class."""
        return output.extras["seg_logits"].argmax(dim=1)

    def decode(self, output: ModelOutput, *, temperature: float | None = None) -> Tensor:
        """Chroma ``(B, 2, H, W)`` in colour-space units: at each pixel, the pair of the
        predicted class."""
        if "class_chroma" not in output.extras or "seg_logits" not in output.extras:
            raise ValueError(
                f"{type(self).__name__}.decode needs extras 'class_chroma' and 'seg_logits'"
            )
        chroma = pick_class_chroma(output.extras["class_chroma"], self.segment(output))
        return denormalize_chroma(chroma, self.space)


def _check_classes(n_classes: int) -> None:
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}")


@register_model("seg-shared", family="segguided")
def seg_shared(
    *,
    n_classes: int = 21,
    depth: int = 8,
    base_channels: int = 64,
    max_channels: int = 512,
    dropout_blocks: int = 3,
    ibn_layers: int = 0,
    space: str = "lab",
) -> SegGuidedColouriser:
    """Segmentation-guided U-Net, shared decoder: chroma per class + logits (seed 004 4.3.1).

    The pix2pix U-Net whose last layer gives ``2 * n_classes`` chroma channels (a pair per
    class) and ``n_classes`` segmentation logits; at inference the predicted class of each
    pixel picks its pair. ``n_classes`` 21 is Pascal VOC's (background included).
    """
    _check_classes(n_classes)
    return SegGuidedColouriser(
        n_classes=n_classes,
        decoders="shared",
        depth=depth,
        base_channels=base_channels,
        max_channels=max_channels,
        dropout_blocks=dropout_blocks,
        ibn_layers=ibn_layers,
        space=space,
    )


@register_model("seg-separate", family="segguided")
def seg_separate(
    *,
    n_classes: int = 21,
    depth: int = 8,
    base_channels: int = 64,
    max_channels: int = 512,
    dropout_blocks: int = 3,
    ibn_layers: int = 0,
    space: str = "lab",
) -> SegGuidedColouriser:
    """Segmentation-guided U-Net, separate colour and segmentation decoders (seed 004 4.3.2).

    One encoder, two decoders of the pix2pix layout: the colour decoder gives a chroma
    pair per class, the segmentation decoder the class logits that pick among them.
    Trained segmentation first, then both (``segmentation.pretrain_steps``).
    """
    _check_classes(n_classes)
    return SegGuidedColouriser(
        n_classes=n_classes,
        decoders="separate",
        depth=depth,
        base_channels=base_channels,
        max_channels=max_channels,
        dropout_blocks=dropout_blocks,
        ibn_layers=ibn_layers,
        space=space,
    )
