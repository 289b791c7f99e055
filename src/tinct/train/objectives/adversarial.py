"""Adversarial training (models of the ``gan`` family): one discriminator step, then one
generator step, per batch (pix2pix; seed 000 section 4.5.2, seed 001 section 4.2.3,
seed 004 section 4.1.2).

Manual optimisation with two optimisers. A training *step* (``global_step``,
``trainer.max_steps``) is one D step plus one G step.

- **Discriminator**: ``gan.objective`` (:mod:`tinct.losses.adversarial`: ``bce``,
  ``lsgan``, ``hinge``, ``wgan``) on real chroma and on the generator's output
  (detached); conditional discriminators see the lightness too.
- **Generator**: a weighted sum of named terms, ``gan.terms`` (name -> weight), from
  :data:`GENERATOR_TERMS`: ``l1`` and ``l2`` on normalised chroma, ``adversarial`` (the
  objective's generator term), ``perceptual`` (feature reconstruction on RGB,
  :class:`~tinct.losses.perceptual.FeatureReconstructionLoss`). Other components add
  theirs with :func:`register_generator_term`. Without an ``adversarial`` term no
  discriminator is built or trained (the U-Net L1 baseline of seed 004 trains the
  pix2pix generator this way).

Logged per step: ``train/d_loss``, ``train/g_loss``, every term unweighted as
``train/g_loss_<term>``, and the mean raw discriminator scores ``train/d_real`` and
``train/d_fake``; validation: ``val/loss`` (L1 on normalised chroma) and
``val/ab_rmse``.
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
from tinct.models import Colouriser, GANColouriser
from tinct.train.objectives.base import Objective, downsample_ab, register_objective
from tinct.train.optim import make_optimizer, make_scheduler
from tinct.train.sections import TrainConfig

if TYPE_CHECKING:
    from tinct.train.module import ColourisationModule


@dataclass
class TermInputs:
    """What a generator term sees: the batch, the generated and the real normalised chroma
    ``(B, 2, H, W)``, and the objective (its discriminator, perceptual network)."""

    batch: Sample
    fake: Tensor
    real: Tensor
    objective: AdversarialObjective


GeneratorTerm = Callable[[TermInputs], Tensor]


def _adversarial_term(x: TermInputs) -> Tensor:
    objective = x.objective
    return generator_loss(objective.gan_objective, objective.discriminate(x.batch.l, x.fake))


def _perceptual_term(x: TermInputs) -> Tensor:
    objective = x.objective
    if objective.perceptual is None:
        raise RuntimeError("the perceptual term needs the objective's perceptual network")
    space = objective.space
    fake_rgb = lightness_chroma_to_rgb(x.batch.l, denormalize_chroma(x.fake, space), space)
    real_rgb = lightness_chroma_to_rgb(x.batch.l, denormalize_chroma(x.real, space), space)
    return objective.perceptual(fake_rgb.clamp(0, 1), real_rgb.clamp(0, 1))


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

    def discriminate(self, lightness: Tensor, chroma_norm: Tensor) -> Tensor | list[Tensor]:
        """Raw discriminator scores for normalised chroma (with the lightness when the
        discriminator is conditional)."""
        if self.discriminator is None:
            raise RuntimeError("this run has no adversarial term, hence no discriminator")
        x = chroma_norm
        if self.conditional:
            x = torch.cat([normalize_lightness(lightness, self.space).to(x.dtype), x], dim=1)
        out: Tensor | list[Tensor] = self.discriminator(x)
        return out

    def _generate(self, model: Colouriser, batch: Sample) -> tuple[Tensor, Tensor]:
        fake = model(batch.l).chroma_norm
        if fake is None:
            raise ValueError("a GAN generator must return chroma_norm")
        real = normalize_chroma(downsample_ab(batch.chroma, fake.shape[-2:]), self.space)
        return fake, real.to(fake.dtype)

    def training_step(self, module: ColourisationModule, batch: Sample) -> Tensor | None:
        n = batch.l.shape[0]
        fake, real = self._generate(module.model, batch)
        optimisers = module.optimizers()
        if self.discriminator is not None:
            opt_g, opt_d = cast(list[Any], optimisers)
            d_real = self.discriminate(batch.l, real)
            d_fake = self.discriminate(batch.l, fake.detach())
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
        inputs = TermInputs(batch=batch, fake=fake, real=real, objective=self)
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
        fake, real = self._generate(module.model, batch)
        chroma = denormalize_chroma(fake.float(), self.space)
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
