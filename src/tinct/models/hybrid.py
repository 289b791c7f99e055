"""Hybrid colourisers: one network, two chroma heads (classification and regression).

``effnet-hybrid`` is the default model's EfficientNet-Lite0 U-Net (:mod:`tinct.models.regression`)
with a second head: a 1x1 convolution from the last decoder features to logits over Zhang
et al.'s 313 ab bins (seed 002), beside the default's L1 regression head. Both predict at
half the input resolution. Training (:mod:`tinct.train.objectives.hybrid`) minimises the
rebalanced cross-entropy of the logits plus ``loss.regression_weight`` times the L1 loss of
the regression head.

Decoding mixes the two and scales the result by a chroma ``gain``:
``gain * (blend * annealed_mean(logits, T) + (1 - blend) * regression)``. The
classification head gives the vivid, sometimes wrong colours of Zhang et al.'s method, the
regression head the safe, washed-out mean colour (both heads are trained to predict the
expected colour under uncertainty, so both undershoot the saturation of real photos;
``gain`` > 1 undoes part of that). ``blend``, the annealed-mean temperature ``T`` and
``gain`` are buffers saved with the weights, chosen on the validation split after
training (``scripts/tune_decode.py``), so ``tinct colourise -m vivid`` uses the tuned values
and ``--temperature`` still overrides T.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tinct.color import denormalize_chroma, lab_lightness_to_grey
from tinct.color.decode import DEFAULT_TEMPERATURE, annealed_mean
from tinct.color.quantize import ab_bins
from tinct.models.base import ModelOutput
from tinct.models.registry import register_model
from tinct.models.regression import EfficientUNetColouriser


@register_model("effnet-hybrid", family="hybrid")
class EfficientHybridColouriser(EfficientUNetColouriser):
    """EfficientNet-Lite0 U-Net with a 313-bin classification head and an L1 regression head.

    ``forward`` returns ``ModelOutput(chroma_norm=(B, 2, H/2, W/2), extras={"logits":
    (B, Q, H/2, W/2)})``. Its weights are a superset of ``effnet-unet``'s with the same
    arguments, so ``model.init_from: default`` starts it from the default model.

    Args:
        pretrained, decoder_channels, encoder_state_dict, encoder_stages: as ``effnet-unet``.
        bins: ab bin set of :func:`tinct.color.quantize.ab_bins`.
        blend: weight of the classification head's colours in the decoded chroma (0: the
            regression head alone, 1: the classification head alone).
        temperature: default annealed-mean temperature of the classification head.
        gain: factor on the decoded chroma (1: none).
    """

    supports_temperature: ClassVar[bool] = True
    bins: Tensor
    blend: Tensor
    temperature: Tensor
    gain: Tensor

    def __init__(
        self,
        *,
        pretrained: bool = True,
        decoder_channels: Sequence[int] = (96, 64, 48, 32),
        encoder_state_dict: str | None = None,
        encoder_stages: int = 5,
        bins: str = "zhang313",
        blend: float = 0.5,
        temperature: float = DEFAULT_TEMPERATURE,
        gain: float = 1.0,
    ) -> None:
        super().__init__(
            pretrained=pretrained,
            decoder_channels=decoder_channels,
            encoder_state_dict=encoder_state_dict,
            encoder_stages=encoder_stages,
        )
        if not 0.0 <= blend <= 1.0:
            raise ValueError(f"blend must be within [0, 1], got {blend}")
        if gain <= 0:
            raise ValueError(f"gain must be positive, got {gain}")
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.bin_set = bins
        self.register_buffer("bins", ab_bins(bins).float())
        self.register_buffer("blend", torch.tensor(float(blend)))
        self.register_buffer("temperature", torch.tensor(float(temperature)))
        self.register_buffer("gain", torch.tensor(float(gain)))
        self.logits_head = nn.Conv2d(int(decoder_channels[-1]), int(self.bins.shape[0]), 1)

    @property
    def num_bins(self) -> int:
        """Q, the number of ab bins (and of logits channels)."""
        return int(self.bins.shape[0])

    def forward(self, lightness: Tensor) -> ModelOutput:
        grey = self.to_compute_dtype(lab_lightness_to_grey(lightness.float()))
        grey = grey.expand(*grey.shape[:-3], 3, *grey.shape[-2:])
        *skips, x = self.encoder(grey)
        for block in self.decoder:
            x = block(x, skips.pop())
        return ModelOutput(
            chroma_norm=torch.tanh(self.head(x)), extras={"logits": self.logits_head(x)}
        )

    def decode(self, output: ModelOutput, *, temperature: float | None = None) -> Tensor:
        """``gain`` x the blend of the annealed mean of the logits (temperature
        ``temperature``, else the model's tuned one) and the regression head's chroma, in
        Lab units ``(B, 2, h, w)``."""
        logits = output.extras.get("logits")
        if logits is None or output.chroma_norm is None:
            raise ValueError("effnet-hybrid decode needs chroma_norm and extras['logits']")
        regression = denormalize_chroma(output.chroma_norm.float(), self.space)
        if temperature is None:  # the tuned temperature, as tensor arithmetic (ONNX export)
            probabilities = torch.softmax(logits.float() / self.temperature.float(), dim=1)
            classified = torch.einsum("bqhw,qc->bchw", probabilities, self.bins.float())
        else:
            classified = annealed_mean(logits.float(), self.bins.float(), temperature)
        if classified.shape[-2:] != regression.shape[-2:]:
            classified = F.interpolate(
                classified, size=regression.shape[-2:], mode="bilinear", align_corners=False
            )
        blend = self.blend.float()
        return self.gain.float() * (blend * classified + (1.0 - blend) * regression)
