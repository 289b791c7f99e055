"""The contract every colourisation model follows.

A model maps lightness in colour-space units to a *raw*, typed output
(:class:`ModelOutput`); :meth:`Colouriser.decode` turns that output into chroma
in colour-space units. Losses see the raw output; everything outside a model
speaks colour-space units (ARCHITECTURE.md, data flow).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from tinct.color import denormalize_chroma, normalize_lightness
from tinct.nn.fuse import fuse_sequential_conv_bn


@dataclass
class ModelOutput:
    """Raw output of a colouriser.

    Attributes:
        chroma_norm: regression output, normalised chroma ``(B, 2, h, w)`` in about
            [-1, 1] (see :mod:`tinct.color` for the scale of each space).
        extras: anything else a family needs (bin logits, mu/logvar, auxiliary maps).
    """

    chroma_norm: Tensor | None = None
    extras: dict[str, Tensor] = field(default_factory=dict)

    def float(self) -> ModelOutput:
        """The same output with every tensor in float32 (after a bf16 forward pass)."""
        return ModelOutput(
            chroma_norm=None if self.chroma_norm is None else self.chroma_norm.float(),
            extras={k: v.float() for k, v in self.extras.items()},
        )


#: Every auxiliary map a colouriser may predict beside the colour (seed 003's guided
#: GAN predicts a saliency map and an edge map); ``tinct colourise --save-aux`` writes them.
AUX_MAP_NAMES = ("saliency", "edges")


class Colouriser(nn.Module):
    """Base class: lightness ``(B, 1, h, w)`` in colour-space units -> :class:`ModelOutput`.

    Class attributes describe how the pipeline must feed the model: its colour
    ``space`` ("lab", "yuv", ...), preferred ``input_size`` (pixels, square
    side; the pipeline keeps the aspect ratio at about that area) and the
    multiple both sides must be rounded to (``input_multiple``).
    """

    space: str = "lab"
    input_size: int = 256
    input_multiple: int = 32
    supports_temperature: ClassVar[bool] = False
    #: Whether :meth:`sample` draws different colourisations of one input (the CVAE).
    supports_sampling: ClassVar[bool] = False
    #: Auxiliary maps the model predicts beside the colour (names from
    #: :data:`AUX_MAP_NAMES`), decoded by :meth:`decode_aux`.
    aux_maps: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        super().__init__()
        self.registry_name: str = ""
        self.init_kwargs: dict[str, Any] = {}

    def normalize_input(self, lightness: Tensor) -> Tensor:
        """Lightness in colour-space units -> the normalised input in about [-1, 1], in the
        dtype of the weights (float32 lightness feeds a bf16 model too)."""
        return self.to_compute_dtype(normalize_lightness(lightness, self.space))

    def to_compute_dtype(self, x: Tensor) -> Tensor:
        """``x`` in the dtype of the model's weights."""
        return x.to(next(self.parameters()).dtype)

    def fuse_for_inference(self) -> None:
        """Fold batch norms into convolutions (same outputs, faster); the model can no
        longer be trained afterwards. The pipeline applies it to a copy of the model."""
        fuse_sequential_conv_bn(self)

    def sample(self, lightness: Tensor, *, generator: torch.Generator | None = None) -> ModelOutput:
        """One random colourisation per item, drawn with ``generator`` (models with
        ``supports_sampling``; the others raise ``ValueError``)."""
        name = self.registry_name or type(self).__name__
        raise ValueError(
            f"model {name!r} is deterministic and cannot draw several colourisations; "
            "use a model that can sample (cvae, cvae-conv)"
        )

    def decode(self, output: ModelOutput, *, temperature: float | None = None) -> Tensor:
        """Raw output -> chroma ``(B, 2, h, w)`` in colour-space units."""
        if output.chroma_norm is None:
            raise ValueError(f"{type(self).__name__}.decode needs output.chroma_norm")
        return denormalize_chroma(output.chroma_norm, self.space)

    def decode_aux(self, output: ModelOutput) -> dict[str, Tensor]:
        """Raw output -> the auxiliary maps of :attr:`aux_maps`, each ``(B, 1, h, w)`` in
        [0, 1]; ``{}`` for models that predict none."""
        return {}
