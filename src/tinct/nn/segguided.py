"""Segmentation-guided U-Net: per-class chroma and segmentation logits (seed 004 section 4.3).

The pix2pix U-Net of :mod:`tinct.nn.unet` predicts a pair of chroma channels for every
semantic class, ``(B, 2 * n_classes, H, W)`` (class ``k``'s pair at channels ``2k`` and
``2k + 1``), and per-pixel class logits ``(B, n_classes, H, W)``; the segmentation picks,
at every pixel, the pair of the class it belongs to (:func:`pick_class_chroma`).

Two layouts (``decoders``):

- ``"shared"`` (section 4.3.1): one decoder for both tasks; its last layer, which gives
  ``2 * n_classes`` chroma channels in the seed, gives ``n_classes`` segmentation logits
  besides them (``3 * n_classes`` channels, one transposed convolution).
- ``"separate"`` (section 4.3.2, figure 7): the encoder is shared, and a second decoder of
  the same layout (with its own skip connections from the same encoder features) gives the
  segmentation logits, so no decoder weight serves both tasks.

Seed 004 describes the shared decoder's ``2 * n_classes`` chroma output but not where the
segmentation comes from at inference; a model that colourises a photo without a mask must
predict one, so the shared layout predicts it with the same decoder (the section's title,
"Colourisation and segmentation losses", and its opening sentence, "the model would
predict the segmentation maps in addition to the colour ab channels").
"""

from __future__ import annotations

from torch import Tensor, nn

from tinct.nn.unet import UNetGenerator, unet_decoder, unet_head

#: The two layouts of seed 004 section 4.3.
DECODERS = ("shared", "separate")


def pick_class_chroma(class_chroma: Tensor, classes: Tensor) -> Tensor:
    """The chroma pair of each pixel's class: ``(B, 2K, H, W)``, ``(B, H, W)`` -> ``(B, 2, H, W)``.

    ``class_chroma`` holds class ``k``'s two chroma channels at ``2k`` and ``2k + 1`` (any
    units); ``classes`` are int64 class indices in ``[0, K)`` (no void: a prediction, or a
    mask with void replaced). Differentiable in ``class_chroma``.
    """
    if class_chroma.ndim != 4 or class_chroma.shape[1] % 2:
        raise ValueError(
            f"class_chroma must be (B, 2 * n_classes, H, W), got {tuple(class_chroma.shape)}"
        )
    b, channels, h, w = class_chroma.shape
    if classes.ndim != 3 or classes.shape[0] != b or tuple(classes.shape[1:]) != (h, w):
        raise ValueError(
            f"classes must be (B, H, W) = {(b, h, w)} to match class_chroma, got "
            f"{tuple(classes.shape)}"
        )
    per_class = class_chroma.reshape(b, channels // 2, 2, h, w)
    index = classes.long()[:, None, None].expand(b, 1, 2, h, w)
    return per_class.gather(1, index)[:, 0]


class SegGuidedUNet(nn.Module):
    """pix2pix U-Net with per-class chroma and a segmentation output (seed 004 sec. 4.3).

    ``(B, 1, H, W)`` normalised lightness -> ``(class_chroma, seg_logits)``: normalised
    chroma ``(B, 2 * n_classes, H, W)`` in [-1, 1] (tanh) and raw class logits
    ``(B, n_classes, H, W)``. H and W must be multiples of ``2**depth``.

    Args:
        n_classes: semantic classes (seed 004: Pascal VOC's 21, background included).
        decoders: ``"shared"`` or ``"separate"`` (see the module docstring).
        base_channels, max_channels, depth, dropout_blocks, dropout, ibn_layers: the U-Net's
            (:class:`~tinct.nn.unet.UNetGenerator`); the segmentation decoder of the
            separate layout mirrors the colour decoder.
    """

    def __init__(
        self,
        *,
        n_classes: int,
        decoders: str = "shared",
        base_channels: int = 64,
        max_channels: int = 512,
        depth: int = 8,
        dropout_blocks: int = 3,
        dropout: float = 0.5,
        ibn_layers: int = 0,
    ) -> None:
        super().__init__()
        if n_classes < 1:
            raise ValueError(f"n_classes must be >= 1, got {n_classes}")
        if decoders not in DECODERS:
            raise ValueError(f"decoders must be one of {DECODERS}, got {decoders!r}")
        self.n_classes = n_classes
        self.decoders = decoders
        shared = decoders == "shared"
        self.unet = UNetGenerator(
            out_channels=2 * n_classes + (n_classes if shared else 0),
            base_channels=base_channels,
            max_channels=max_channels,
            depth=depth,
            dropout_blocks=dropout_blocks,
            dropout=dropout,
            ibn_layers=ibn_layers,
        )
        self.depth = depth
        if not shared:
            chans = self.unet.channels
            self.seg_decoder = unet_decoder(chans, dropout_blocks=dropout_blocks, dropout=dropout)
            self.seg_head = unet_head(chans[0], n_classes)

    def forward(self, l_norm: Tensor) -> tuple[Tensor, Tensor]:
        features = self.unet.encode(l_norm)
        out = self.unet.head(self.unet.decode_features(features))
        k2 = 2 * self.n_classes
        if self.decoders == "shared":
            return out[:, :k2].tanh(), out[:, k2:]
        logits = self.seg_head(self.unet.decode_features(features, self.seg_decoder))
        return out.tanh(), logits
