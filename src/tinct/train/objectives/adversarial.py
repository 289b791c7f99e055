"""Adversarial training (models of the ``gan`` family): one discriminator step, then one
generator step, per batch (pix2pix; seed 000 section 4.5.2, seed 001 section 4.2.3,
seed 004 section 4.1.2).

Manual optimisation with two optimisers. A training *step* (``global_step``,
``trainer.max_steps``) is one D step plus one G step.

- **Discriminator**: ``gan.objective`` (:mod:`tinct.losses.adversarial`: ``bce``,
  ``lsgan``, ``hinge``, ``wgan``, ``wgan-sigmoid``) on real chroma and on the generator's
  output (detached); conditional discriminators see the lightness too.
- **Generator**: a weighted sum of named terms, ``gan.terms`` (name -> weight), from
  :data:`GENERATOR_TERMS`: ``l1`` and ``l2`` on normalised chroma, ``adversarial`` (the
  objective's generator term), ``perceptual`` (feature reconstruction on RGB,
  :class:`~tinct.losses.perceptual.FeatureReconstructionLoss`). Other components add
  theirs with :func:`register_generator_term`. Without an ``adversarial`` term no
  discriminator is built or trained (the U-Net L1 baseline of seed 004 trains the
  pix2pix generator this way).

What the game is played on is :meth:`AdversarialObjective.targets` (generated and real
normalised chroma here) and :meth:`AdversarialObjective.condition` (normalised lightness);
:mod:`tinct.train.objectives.guided` plays it on RGB instead (seed 003).

Logged per step: ``train/d_loss``, ``train/g_loss``, every term unweighted as
``train/g_loss_<term>``, and the mean raw discriminator scores ``train/d_real`` and
``train/d_fake``; validation: ``val/loss`` (L1 between the targets: normalised chroma
here) and ``val/ab_rmse`` (of the decoded chroma).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tinct.color import (
    denormalize_chroma,
    lightness_chroma_to_rgb,
    normalize_chroma,
    normalize_lightness,
)
from tinct.data.sample import Sample
from tinct.losses.adversarial import (
    OBJECTIVES,
    discriminator_loss,
    generator_loss,
    mean_score,
)
from tinct.losses.perceptual import FeatureReconstructionLoss
from tinct.models import Colouriser, GANColouriser, ModelOutput
from tinct.train.objectives.base import Objective, downsample_ab, register_objective
from tinct.train.optim import make_optimizer, make_scheduler
from tinct.train.sections import TrainConfig

if TYPE_CHECKING:
    from tinct.train.module import ColourisationModule


@dataclass
class TermInputs:
    """What a generator term sees: the batch, the generated and the real targets of the
    objective (:meth:`AdversarialObjective.targets`: normalised chroma ``(B, 2, H, W)``
    for the ``gan`` family), the objective (its discriminator, perceptual network) and the
    generator's whole output (auxiliary maps)."""

    batch: Sample
    fake: Tensor
    real: Tensor
    objective: AdversarialObjective
    output: ModelOutput


GeneratorTerm = Callable[[TermInputs], Tensor]


def _adversarial_term(x: TermInputs) -> Tensor:
    objective = x.objective
    return generator_loss(objective.gan_objective, objective.discriminate(x.batch, x.fake))


def _perceptual_term(x: TermInputs) -> Tensor:
    objective = x.objective
    if objective.perceptual is None:
        raise RuntimeError("the perceptual term needs the objective's perceptual network")
    return objective.perceptual(*objective.rgb_pair(x))


#: Name -> generator loss term; ``gan.terms`` weights a subset of them.
GENERATOR_TERMS: dict[str, GeneratorTerm] = {
    "l1": lambda x: F.l1_loss(x.fake, x.real),
    "l2": lambda x: F.mse_loss(x.fake, x.real),
    "adversarial": _adversarial_term,
    "perceptual": _perceptual_term,
}


def register_generator_term(name: str, term: GeneratorTerm) -> None:
    """Make ``term`` available to ``gan.terms`` under ``name`` (auxiliary losses)."""
    if name in GENERATOR_TERMS:
        raise ValueError(f"generator term {name!r} is already registered")
    GENERATOR_TERMS[name] = term


@register_objective("gan")
class AdversarialObjective(Objective):
    """Trains a ``gan``-family model against its discriminator; see the module docstring
    for the scheme, the terms and what is logged."""

    automatic_optimisation = False

    def __init__(self, model: Colouriser, config: TrainConfig) -> None:
        super().__init__(model, config)
        if not isinstance(model, GANColouriser):
            raise ValueError(
                f"model {config.model.name!r} is not a GAN colouriser; adversarial "
                "training needs a model of the 'gan' family"
            )
        self.conditional = model.conditional
        gan = config.gan
        self.gan_objective = gan.objective
        if self.gan_objective not in OBJECTIVES:
            raise ValueError(
                f"gan.objective must be one of {OBJECTIVES}, got {self.gan_objective!r}"
            )
        if not gan.terms:
            raise ValueError(f"gan.terms must map term names to weights, got {gan.terms!r}")
        unknown = sorted(set(gan.terms) - set(GENERATOR_TERMS))
        if unknown:
            raise ValueError(
                f"gan.terms has unknown {unknown}; known terms: {sorted(GENERATOR_TERMS)}"
            )
        self.terms = {k: float(v) for k, v in gan.terms.items() if float(v) != 0.0}
        if not self.terms:
            raise ValueError("gan.terms: every weight is 0, the generator would not learn")
        self.discriminator: nn.Module | None = (
            model.build_discriminator() if "adversarial" in self.terms else None
        )
        self.perceptual: FeatureReconstructionLoss | None = None
        if "perceptual" in self.terms:
            self.perceptual = FeatureReconstructionLoss(
                stage=gan.perceptual.stage, state_dict_path=gan.perceptual.state_dict
            )

    def condition(self, batch: Sample) -> Tensor:
        """What a conditional discriminator sees beside the targets: the normalised
        lightness ``(B, 1, H, W)``."""
        return normalize_lightness(batch.l, self.space)

    def targets(self, output: ModelOutput, batch: Sample) -> tuple[Tensor, Tensor]:
        """The generated and the real sample the discriminator judges and the ``l1``/``l2``
        terms compare: normalised chroma ``(B, 2, H, W)`` (the truth at the output's size)."""
        fake = output.chroma_norm
        if fake is None:
            raise ValueError("a GAN generator must return chroma_norm")
        size = (fake.shape[-2], fake.shape[-1])
        real = normalize_chroma(downsample_ab(batch.chroma, size), self.space)
        return fake, real.to(fake.dtype)

    def rgb_pair(self, x: TermInputs) -> tuple[Tensor, Tensor]:
        """Generated and real sRGB ``(B, 3, H, W)`` in [0, 1] of a step's targets (the
        chroma joined with the true lightness), for terms that compare images."""
        space = self.space
        fake_rgb = lightness_chroma_to_rgb(x.batch.l, denormalize_chroma(x.fake, space), space)
        real_rgb = lightness_chroma_to_rgb(x.batch.l, denormalize_chroma(x.real, space), space)
        return fake_rgb.clamp(0, 1), real_rgb.clamp(0, 1)

    def discriminate(self, batch: Sample, sample: Tensor) -> Tensor | list[Tensor]:
        """Raw discriminator scores for a generated or real ``sample`` of :meth:`targets`
        (after :meth:`condition` of the batch when the discriminator is conditional)."""
        if self.discriminator is None:
            raise RuntimeError("this run has no adversarial term, hence no discriminator")
        x = sample
        if self.conditional:
            x = torch.cat([self.condition(batch).to(x.dtype), x], dim=1)
        out: Tensor | list[Tensor] = self.discriminator(x)
        return out

    def _generate(self, model: Colouriser, batch: Sample) -> tuple[ModelOutput, Tensor, Tensor]:
        output = model(batch.l)
        fake, real = self.targets(output, batch)
        return output, fake, real

    def training_step(self, module: ColourisationModule, batch: Sample) -> Tensor | None:
        n = batch.l.shape[0]
        output, fake, real = self._generate(module.model, batch)
        optimisers = module.optimizers()
        if self.discriminator is not None:
            opt_g, opt_d = cast(list[Any], optimisers)
            d_real = self.discriminate(batch, real)
            d_fake = self.discriminate(batch, fake.detach())
            d_loss = discriminator_loss(self.gan_objective, d_real, d_fake)
            opt_d.zero_grad(set_to_none=True)
            module.manual_backward(d_loss)
            # The raw optimiser: only the generator's step advances global_step.
            opt_d.optimizer.step()
            self.discriminator.requires_grad_(False)
            module.log("train/d_loss", d_loss.detach(), prog_bar=True, batch_size=n)
            module.log("train/d_real", mean_score(d_real), batch_size=n)
            module.log("train/d_fake", mean_score(d_fake), batch_size=n)
        else:
            opt_g = optimisers
        inputs = TermInputs(batch=batch, fake=fake, real=real, objective=self, output=output)
        values = {name: GENERATOR_TERMS[name](inputs) for name in self.terms}
        g_loss = torch.stack([w * values[name] for name, w in self.terms.items()]).sum()
        opt_g.zero_grad(set_to_none=True)
        module.manual_backward(g_loss)
        opt_g.step()
        if self.discriminator is not None:
            self.discriminator.requires_grad_(True)
        schedulers = module.lr_schedulers()
        for scheduler in schedulers if isinstance(schedulers, list) else [schedulers]:
            if scheduler is not None:
                scheduler.step()
        module.log("train/g_loss", g_loss.detach(), prog_bar=True, batch_size=n)
        for name, value in values.items():
            module.log(f"train/g_loss_{name}", value.detach(), batch_size=n)
        return None

    def validation_step(self, module: ColourisationModule, batch: Sample) -> None:
        output, fake, real = self._generate(module.model, batch)
        chroma = module.model.decode(output.float())
        truth = downsample_ab(batch.chroma, (chroma.shape[-2], chroma.shape[-1]))
        n = batch.l.shape[0]
        module.log("val/loss", F.l1_loss(fake.float(), real.float()), batch_size=n, sync_dist=True)
        rmse = torch.mean((chroma - truth) ** 2).sqrt()
        module.log("val/ab_rmse", rmse, batch_size=n, sync_dist=True)

    def configure_optimizers(self, module: ColourisationModule) -> Any:
        optim, gan = self.config.optim, self.config.gan
        total = int(module.trainer.estimated_stepping_batches)
        params = list(module.model.parameters())
        optimisers = [make_optimizer([{"params": params, "lr": optim.lr}], optim)]
        if self.discriminator is not None:
            d_lr = gan.d_lr if gan.d_lr is not None else optim.lr
            d_params = list(self.discriminator.parameters())
            optimisers.append(
                make_optimizer([{"params": d_params, "lr": d_lr}], optim, betas=gan.d_betas)
            )
        schedulers = [make_scheduler(o, self.config.schedule, total) for o in optimisers]
        return optimisers, [{"scheduler": s, "interval": "step"} for s in schedulers]
