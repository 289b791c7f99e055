"""The conditional VAE's objective (seed 001 section 4.3, eq. 4.5):
``reconstruction_weight * MSE + KL(posterior || conditional prior)``.

The MSE is over the channels the decoder gives: UV, or Y, U and V when it also
reconstructs Y (``extras["luma_norm"]``, the ``cvae`` figure layout; equation 4.6's
``MSE(X_YUV, Y_YUV)``)."""

from __future__ import annotations

import torch
from torch import Tensor

from tinct.color import normalize_chroma
from tinct.data.sample import Sample
from tinct.losses import latent_kl
from tinct.models import Colouriser
from tinct.train.objectives.base import Objective, register_objective
from tinct.train.sections import TrainConfig


@register_objective("cvae")
class CVAEObjective(Objective):
    """The model sees the ground-truth chroma in training (its posterior encoder needs
    it); ``mse`` (of the chroma) and ``kl`` are logged besides the total, and
    ``mse_luma`` for a model that reconstructs Y. ``val/ab_rmse`` is of a sample drawn
    from the conditional prior."""

    def __init__(self, model: Colouriser, config: TrainConfig) -> None:
        super().__init__(model, config)
        if config.loss.name not in ("l2", "mse"):
            raise ValueError(
                f"loss.name {config.loss.name!r}: a {config.model.name!r} model is trained "
                "with reconstruction_weight * MSE + KL (seed 001 eq. 4.5); set loss.name "
                "to 'l2'"
            )

    def loss(self, model: Colouriser, batch: Sample) -> tuple[Tensor, dict[str, Tensor]]:
        target = normalize_chroma(batch.chroma, self.space)
        output = model(batch.l, target)
        if output.chroma_norm is None:
            raise ValueError("a cvae model must return chroma_norm")
        ex = output.extras
        mse = torch.mean((output.chroma_norm - target) ** 2)
        kl = latent_kl(ex["mu"], ex["logvar"], ex["prior_mu"], ex["prior_logvar"])
        terms = {"mse": mse, "kl": kl}
        reconstruction = mse
        if "luma_norm" in ex:
            luma = model.normalize_input(batch.l).to(ex["luma_norm"].dtype)
            mse_luma = torch.mean((ex["luma_norm"] - luma) ** 2)
            # The mean over Y, U and V: chroma has two channels of the three.
            reconstruction = (2 * mse + mse_luma) / 3
            terms["mse_luma"] = mse_luma
        return self.config.loss.reconstruction_weight * reconstruction + kl, terms
