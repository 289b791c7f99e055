"""Classification colourisers: a distribution over quantised ab bins per pixel (seed 002).

Zhang et al. (2016, "Colorful Image Colorization", ECCV16) predict, for every pixel of a
1/4-resolution grid, logits over Q = 313 in-gamut ab bins; decoding takes the annealed
mean of the softmax (seed 000 section 4.4.1, eq. 4.4; T = 0.38) and the pipeline upsamples
the chroma to the image. Training uses the (rebalanced) cross-entropy on ``extras["logits"]``;
these models have no ``chroma_norm``.

The network (seed 002 section 4.1, table 1; blocks ``model1`` ... ``model8`` with the key
names of Zhang's released model) is built by :mod:`tinct.nn.zhang`, whose docstring
describes its layers.

Registered networks (``family="classification"``), blocks 1-8 as width x convolutions::

    name              blocks 1-8                                     params      GFLOPs
    zhang-full        64x2 128x2 256x3 512x3 512x3 512x3 512x3 256x3  32,235,385   83.54
    zhang-simplified  64x2 128x2 256x2 416x2 416x2 416x2 416x2 256x2  15,387,513   41.80
    zhang-cpu          24x2  48x2  96x2 128x2 128x2 128x2 128x2  96x2   1,616,529    4.89

Forward latency at 256x256, fp32, batch 1, 2 threads, eval mode after
``fuse_for_inference``, median of 10 (``benchmarks/bench_classification.py --quiet``;
2-core AMD EPYC VM, torch 2.13; the range is over 3-5 runs)::

    name              NCHW ms     channels_last ms   vs zhang-full (FLOPs, channels_last ms)
    zhang-full        477-489     453-470            1x
    zhang-simplified  265-269     235-255            2.0x, 1.9x
    zhang-cpu          38-74       33-37             17x, 13x

GFLOPs: one forward at 256x256 counted by ``torch.utils.flop_counter.FlopCounterMode``
(2 per multiply-add; convolutions, transposed included). The pipeline runs channels_last,
where the narrow ``zhang-cpu`` is also much steadier.

- ``zhang-full``: seed 002 states 32,235,385 parameters; that total is Zhang's released
  widths (block 7: 512 channels, block 8: 256, 4x4 transposed convolution), which this
  network has exactly (conv biases everywhere, affine batch norms, the 1x1 conv to 313
  with bias, no ``model_out``). Table 1 of the seed lists 256 channels for block 7, 128
  for block 8 and a 3x3 kernel for the upsampling convolution; those widths give about
  24.8M parameters, 23 % off the seed's own total, so they are read as errors of the table.
- ``zhang-simplified``: seed 002's simplified network (same eight blocks, at most two
  convolutions per block, at most 416 channels). The seed gives no widths; 64, 128, 256,
  416, 416, 416, 416, 256 with two convolutions in every block (block 3: stride 2 on the
  second; block 8: the transposed one and one 3x3) give exactly the seed's 15,387,513; of
  the other choices of 1 or 2 convolutions per block with these widths (the full
  network's, capped at 416) the closest is 36,928 off.
- ``zhang-cpu``: the same structure for a 2-core CPU: 128 channels in the middle blocks (1/4
  of Zhang's 512), 3/8 of Zhang's widths in blocks 1-3 and 8 (early layers cost few
  parameters and help edges), two convolutions per block (16 instead of 23). Narrower
  (1/4 everywhere: 1.37M parameters, 3.55 GFLOPs) was only 1.3x faster; wider early
  blocks (32, 64, 128: 1.78M, 5.90 GFLOPs) took 14-22 % longer.

``zhang-euclidean``, seed 002's Euclidean baseline on the same network, is a regression
model (:mod:`tinct.models.regression`).

Batch norms follow a ReLU, so :meth:`Colouriser.fuse_for_inference` (which folds a batch
norm into the convolution directly before it) finds nothing to fold: a BN after a ReLU
cannot be folded exactly, into the next convolution either, because of its zero padding.
Calling it is harmless and keeps the outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from torch import Tensor

from tinct.color.decode import DEFAULT_TEMPERATURE, annealed_mean
from tinct.color.quantize import ab_bins
from tinct.models.base import Colouriser, ModelOutput
from tinct.models.registry import register_model
from tinct.nn.zhang import (
    ZHANG_CPU_DEPTHS,
    ZHANG_CPU_WIDTHS,
    ZHANG_FULL_DEPTHS,
    ZHANG_FULL_WIDTHS,
    ZHANG_SIMPLIFIED_DEPTHS,
    ZHANG_SIMPLIFIED_WIDTHS,
    add_zhang_blocks,
)


class ClassificationColouriser(Colouriser):
    """Base of the classification family: lightness -> logits over ab bins at 1/4 resolution.

    ``forward`` returns ``ModelOutput(extras={"logits": (B, Q, H/4, W/4)})`` (raw logits,
    no softmax); :meth:`decode` gives ab ``(B, 2, H/4, W/4)`` in Lab units by annealed mean.
    The bin centres are the buffer ``bins`` ``(Q, 2)`` (saved with the weights, so a
    saved model decodes with the bins it was trained on). It follows the model's dtype
    like any buffer; grid centres (multiples of 10 within ±110) stay exact in bf16/fp16.

    Args:
        bins: bin set of :func:`tinct.color.quantize.ab_bins` ("zhang313": Zhang's 313
            in-gamut bins; Q follows the set).
    """

    space = "lab"
    input_multiple = 8
    supports_temperature: ClassVar[bool] = True
    bins: Tensor

    def __init__(self, *, bins: str = "zhang313") -> None:
        super().__init__()
        self.bin_set = bins
        self.register_buffer("bins", ab_bins(bins).float())

    @property
    def num_bins(self) -> int:
        """Q, the number of ab bins (and of output channels)."""
        return int(self.bins.shape[0])

    def decode(self, output: ModelOutput, *, temperature: float | None = None) -> Tensor:
        """Logits -> ab ``(B, 2, h, w)`` in Lab units: the mean of ``softmax(logits / T)``
        over the bin centres (``T`` default 0.38; ``T <= 0``: the most likely bin)."""
        logits = output.extras.get("logits")
        if logits is None:
            raise ValueError(f"{type(self).__name__}.decode needs output.extras['logits']")
        t = DEFAULT_TEMPERATURE if temperature is None else temperature
        return annealed_mean(logits.float(), self.bins.float(), t)


class ZhangColouriser(ClassificationColouriser):
    """Zhang et al. (2016)'s network with configurable widths and depths (module docstring).

    Args:
        widths: output channels of blocks 1-8.
        depths: convolutions in blocks 1-8 (block 8: the transposed one included; the
            1x1 logits convolution not).
        bins: bin set (see :class:`ClassificationColouriser`).
    """

    def __init__(
        self, *, widths: Sequence[int], depths: Sequence[int], bins: str = "zhang313"
    ) -> None:
        super().__init__(bins=bins)
        self.widths = tuple(int(w) for w in widths)
        self.depths = tuple(int(d) for d in depths)
        self.block_names = add_zhang_blocks(self, self.widths, self.depths, self.num_bins)

    def forward(self, lightness: Tensor) -> ModelOutput:
        x = self.normalize_input(lightness)
        for name in self.block_names:
            x = self.get_submodule(name)(x)
        return ModelOutput(extras={"logits": x})


@register_model("zhang-full", family="classification")
def zhang_full(*, bins: str = "zhang313") -> ZhangColouriser:
    """Zhang et al. 2016 (ECCV16), 313-bin classification at 1/4 resolution; 32.2M params."""
    return ZhangColouriser(widths=ZHANG_FULL_WIDTHS, depths=ZHANG_FULL_DEPTHS, bins=bins)


@register_model("zhang-simplified", family="classification")
def zhang_simplified(*, bins: str = "zhang313") -> ZhangColouriser:
    """Seed 002's simplified Zhang network (<= 2 convs/block, <= 416 channels); 15.4M params."""
    return ZhangColouriser(
        widths=ZHANG_SIMPLIFIED_WIDTHS, depths=ZHANG_SIMPLIFIED_DEPTHS, bins=bins
    )


@register_model("zhang-cpu", family="classification")
def zhang_cpu(
    *,
    widths: Sequence[int] = ZHANG_CPU_WIDTHS,
    depths: Sequence[int] = ZHANG_CPU_DEPTHS,
    bins: str = "zhang313",
) -> ZhangColouriser:
    """Zhang's network narrowed for a 2-core CPU (128 channels max, 2 convs/block); 1.6M params."""
    return ZhangColouriser(widths=widths, depths=depths, bins=bins)
