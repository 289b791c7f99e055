"""Guided adversarial training (family ``guided``): seed 003's edge- and saliency-map
guided multi-path GAN (section 5), on the adversarial scheme of
:mod:`tinct.train.objectives.adversarial`.

The game is played on RGB rather than chroma: the generator's RGB output
(``extras["rgb"]``, in [-1, 1]) against the photo's RGB mapped to [-1, 1], and a
conditional discriminator sees them beside the grey image in [-1, 1] (4 channels). So the
``l1`` term is seed 003's L1 loss of the RGB image, and two generator terms are added:

- ``saliency_weighted``: L1 between the predicted saliency map times the predicted RGB and
  the true saliency map times the true RGB (:func:`tinct.losses.map_weighted_l1`);
- ``edge_weighted``: the same with the edge map (the seed's text multiplies the real RGB by
  the real *saliency* map in this term too, an evident slip for the edge map).

The true maps are the batch's guidance maps (``data.guidance: [saliency, edges]``:
spectral-residual saliency and Canny edges, :mod:`tinct.data.guidance`). Seed 003's
weights are ``{l1: 1, adversarial: 0.5, saliency_weighted: 0.5, edge_weighted: 0.05}``
with ``gan.objective: wgan-sigmoid`` (``configs/guided/multipath-gan.yaml``). Logged as for
the ``gan`` family; ``val/loss`` is the L1 of the RGB output.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from tinct.color import lab_lightness_to_grey
from tinct.data.sample import Sample
from tinct.losses import map_weighted_l1
from tinct.models import Colouriser, ModelOutput
from tinct.train.objectives.adversarial import (
    AdversarialObjective,
    GeneratorTerm,
    TermInputs,
    register_generator_term,
)
from tinct.train.objectives.base import register_objective
from tinct.train.sections import ConfigError, TrainConfig

#: Generator term -> the guidance map it weights by (``Sample`` field and output extra).
MAP_TERMS: dict[str, str] = {"saliency_weighted": "saliency", "edge_weighted": "edges"}


def _resize(x: Tensor, size: tuple[int, int]) -> Tensor:
    return x if tuple(x.shape[-2:]) == size else F.interpolate(x, size=size, mode="area")


def _map_weighted_term(name: str) -> GeneratorTerm:
    def term(x: TermInputs) -> Tensor:
        predicted = x.output.extras.get(name)
        if predicted is None:
            raise ValueError(
                f"the {name}-weighted term needs a generator that predicts a {name} map "
                f"(extras[{name!r}], e.g. multipath-gan)"
            )
        truth: Tensor | None = getattr(x.batch, name)
        if truth is None:
            raise ValueError(
                f"the {name}-weighted term needs the batch's {name} maps: add {name!r} to "
                "data.guidance"
            )
        fake_rgb, real_rgb = x.objective.rgb_pair(x)
        size = (fake_rgb.shape[-2], fake_rgb.shape[-1])
        weight = ((predicted + 1.0) * 0.5).clamp(0.0, 1.0)
        return map_weighted_l1(
            fake_rgb, _resize(weight, size), real_rgb, _resize(truth, size).to(fake_rgb.dtype)
        )

    return term


for _term, _map in MAP_TERMS.items():
    register_generator_term(_term, _map_weighted_term(_map))


@register_objective("guided")
class GuidedAdversarialObjective(AdversarialObjective):
    """Trains a ``guided``-family model (``multipath-gan``) against its discriminator, on
    RGB; see the module docstring."""

    def __init__(self, model: Colouriser, config: TrainConfig) -> None:
        super().__init__(model, config)
        if self.space != "lab":
            raise ConfigError(f"guided models work in Lab; data.space is {self.space!r}")
        missing = sorted({MAP_TERMS[t] for t in self.terms if t in MAP_TERMS})
        missing = [m for m in missing if m not in config.data.guidance]
        if missing:
            raise ConfigError(
                f"gan.terms weight the loss by {missing} maps: add them to data.guidance "
                f"(data.guidance: [saliency, edges]); it is {config.data.guidance}"
            )

    def condition(self, batch: Sample) -> Tensor:
        """The grey image ``(B, 1, H, W)`` in [-1, 1] (what the generator sees)."""
        return lab_lightness_to_grey(batch.l.float()) * 2.0 - 1.0

    def targets(self, output: ModelOutput, batch: Sample) -> tuple[Tensor, Tensor]:
        """Generated and real RGB ``(B, 3, H, W)`` in [-1, 1]."""
        fake = output.extras.get("rgb")
        if fake is None:
            raise ValueError("a guided generator must return extras['rgb']")
        size = (fake.shape[-2], fake.shape[-1])
        real = _resize(batch.rgb, size) * 2.0 - 1.0
        return fake, real.to(fake.dtype)

    def rgb_pair(self, x: TermInputs) -> tuple[Tensor, Tensor]:
        return ((x.fake + 1.0) * 0.5).clamp(0, 1), ((x.real + 1.0) * 0.5).clamp(0, 1)
