"""Lightning module for supervised colourisers: regression on chroma, or classification
over quantised ab bins (Zhang et al. 2016; seed 002)."""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch
from torch import Tensor

from tinct.color import normalize_chroma
from tinct.data.sample import Sample
from tinct.losses import (
    CLASSIFICATION_LOSSES,
    classification_loss,
    latent_kl,
    regression_loss,
)
from tinct.models import Colouriser, create_model
from tinct.models.registry import model_entry


def downsample_ab(ab: Tensor, size: tuple[int, int]) -> Tensor:
    """Ground-truth ab at a classification network's output resolution: every k-th pixel
    (nearest), as Zhang et al.'s code does, so no colour is averaged across an edge."""
    if tuple(ab.shape[-2:]) == size:
        return ab
    return torch.nn.functional.interpolate(ab, size=size, mode="nearest")


def build_model(config: dict[str, Any]) -> Colouriser:
    """The model ``config["model"]`` names, with its inference ``input_size``; raises
    ``ValueError`` when it works in another colour space than ``config["data"]["space"]``."""
    spec = config["model"]
    model = create_model(spec["name"], **spec.get("kwargs", {}))
    model.input_size = int(spec.get("input_size", model.input_size))
    space = config["data"]["space"]
    if model.space != space:
        raise ValueError(
            f"model {spec['name']!r} works in {model.space!r} but data.space is {space!r}"
        )
    return model


class SupervisedColourisation(L.LightningModule):
    """Trains ``config["model"]`` to predict chroma from lightness with ``config["loss"]``.

    Models of the ``classification`` family are trained with the multinomial
    cross-entropy of ``config["loss"]["name"]`` (``rebalanced``, ``unbalanced``,
    ``one-hot``) against soft-encoded ab at their output resolution; the rebalancing
    weights live in the buffer ``class_weights`` (set by the runner from the prior of
    the training data, saved in checkpoints).

    Models of the ``cvae`` family (seed 001 section 4.3) see the ground-truth chroma in
    training (their training encoder needs it) and are trained with
    ``loss.reconstruction_weight * MSE + KL`` (:func:`tinct.losses.latent_kl` of the
    distributions in the output's extras); ``train/mse``, ``train/kl`` and their
    ``val/`` twins are logged besides the total. ``loss.weight_l1`` / ``weight_l2`` add
    weight penalties to any family's loss (logged as ``train/penalty``).

    Logged: ``train/loss``, ``val/loss`` and ``val/ab_rmse`` (RMSE of chroma in
    colour-space units over the validation pixels, after decoding; for a CVAE, of a
    sample drawn from the conditional encoder).
    """

    class_weights: Tensor

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.save_hyperparameters({"config": config})
        self.config = config
        spec = config["model"]
        self.model: Colouriser = build_model(config)
        self.space = config["data"]["space"]
        self.family = model_entry(spec["name"]).family
        loss_name = config["loss"]["name"]
        if self.family == "classification":
            if loss_name not in CLASSIFICATION_LOSSES:
                raise ValueError(
                    f"loss.name {loss_name!r} is not a classification loss; a "
                    f"{spec['name']!r} model needs one of {sorted(CLASSIFICATION_LOSSES)}"
                )
            bins = getattr(self.model, "bins", None)
            if not isinstance(bins, Tensor):
                raise ValueError(f"classification model {spec['name']!r} has no 'bins' buffer")
            self.register_buffer("class_weights", torch.ones(bins.shape[0]))
        elif self.family == "cvae" and loss_name not in ("l2", "mse"):
            raise ValueError(
                f"loss.name {loss_name!r}: a {spec['name']!r} model is trained with "
                "reconstruction_weight * MSE + KL (seed 001 eq. 4.5); set loss.name to 'l2'"
            )
        else:
            self.loss_fn = regression_loss(loss_name)

    def forward(self, lightness: Tensor) -> Tensor:
        return self.model.decode(self.model(lightness))

    def _cvae_loss(self, batch: Sample) -> tuple[Tensor, dict[str, Tensor]]:
        target = normalize_chroma(batch.chroma, self.space)
        output = self.model(batch.l, target)
        if output.chroma_norm is None:
            raise ValueError("a cvae model must return chroma_norm")
        ex = output.extras
        mse = torch.mean((output.chroma_norm - target) ** 2)
        kl = latent_kl(ex["mu"], ex["logvar"], ex["prior_mu"], ex["prior_logvar"])
        weight = float(self.config["loss"]["reconstruction_weight"])
        return weight * mse + kl, {"mse": mse, "kl": kl}

    def _penalty(self) -> Tensor | None:
        """Keras-style L1/L2 penalties on weight matrices and kernels (not biases)."""
        l1 = float(self.config["loss"]["weight_l1"])
        l2 = float(self.config["loss"]["weight_l2"])
        if not (l1 or l2):
            return None
        weights = [p for p in self.model.parameters() if p.requires_grad and p.ndim > 1]
        total = torch.zeros((), device=weights[0].device)
        for w in weights:
            total = total + l1 * w.abs().sum() + l2 * w.square().sum()
        return total

    def _terms(self, batch: Sample) -> tuple[Tensor, dict[str, Tensor]]:
        """The loss to optimise and the named terms to log beside it."""
        if self.family == "cvae":
            loss, terms = self._cvae_loss(batch)
        else:
            loss, _ = self._loss(batch)
            terms = {}
        penalty = self._penalty()
        if penalty is not None:
            loss = loss + penalty
            terms["penalty"] = penalty
        return loss, terms

    def _loss(self, batch: Sample) -> tuple[Tensor, Tensor]:
        output = self.model(batch.l)
        if self.family == "classification":
            logits = output.extras["logits"]
            loss_cfg = self.config["loss"]
            ab = downsample_ab(batch.chroma, (logits.shape[-2], logits.shape[-1]))
            loss = classification_loss(
                loss_cfg["name"],
                logits,
                ab,
                self.model.bins,  # type: ignore[arg-type]
                weights=self.class_weights,
                neighbours=int(loss_cfg["neighbours"]),
                sigma=float(loss_cfg["sigma"]),
            )
            return loss, logits
        if output.chroma_norm is None:
            raise ValueError("supervised regression training needs a chroma_norm output")
        pred = output.chroma_norm
        # Networks predicting at a lower resolution (zhang-euclidean: 1/4) are trained
        # against the ground truth at theirs, as the classification family is.
        truth = downsample_ab(batch.chroma, (pred.shape[-2], pred.shape[-1]))
        target = normalize_chroma(truth, self.space)
        return self.loss_fn(pred, target), pred

    def training_step(self, batch: Sample, batch_idx: int) -> Tensor:
        loss, terms = self._terms(batch)
        n = batch.l.shape[0]
        self.log("train/loss", loss, prog_bar=True, batch_size=n)
        for key, value in terms.items():
            self.log(f"train/{key}", value, batch_size=n)
        return loss

    def validation_step(self, batch: Sample, batch_idx: int) -> None:
        loss, terms = self._terms(batch)
        chroma = self.model.decode(self.model(batch.l))
        truth = downsample_ab(batch.chroma, (chroma.shape[-2], chroma.shape[-1]))
        mse = torch.mean((chroma - truth) ** 2)
        n = batch.l.shape[0]
        self.log("val/loss", loss, prog_bar=True, batch_size=n, sync_dist=True)
        for key, value in terms.items():
            self.log(f"val/{key}", value, batch_size=n, sync_dist=True)
        self.log("val/ab_rmse", mse.sqrt(), batch_size=n, sync_dist=True)

    def configure_optimizers(self) -> Any:
        optim_cfg = self.config["optim"]
        lr = float(optim_cfg["lr"])
        encoder: list[torch.nn.Parameter] = getattr(self.model, "encoder_parameters", list)()
        encoder_ids = {id(p) for p in encoder}
        rest = [p for p in self.model.parameters() if id(p) not in encoder_ids]
        groups: list[dict[str, Any]] = [{"params": rest, "lr": lr}]
        if encoder:
            groups.append({"params": encoder, "lr": lr * float(optim_cfg["encoder_lr_mult"])})
        optimiser = make_optimizer(groups, optim_cfg)
        scheduler = make_scheduler(
            optimiser, self.config["schedule"], int(self.trainer.estimated_stepping_batches)
        )
        return {
            "optimizer": optimiser,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


def make_optimizer(
    groups: list[dict[str, Any]], optim_cfg: dict[str, Any], *, betas: Any = None
) -> torch.optim.Optimizer:
    """The optimiser ``optim_cfg["name"]`` (adamw, adam, rmsprop, sgd) over parameter
    ``groups`` (each with its ``lr``), with the config's weight decay, betas (or ``betas``)
    and momentum (rmsprop: default 0; sgd: default 0.9)."""
    wd = float(optim_cfg["weight_decay"])
    name = optim_cfg["name"]
    betas = tuple(betas if betas is not None else optim_cfg["betas"])
    momentum = optim_cfg.get("momentum")
    if name == "adamw":
        return torch.optim.AdamW(groups, betas=betas, weight_decay=wd)
    if name == "adam":
        return torch.optim.Adam(groups, betas=betas, weight_decay=wd)
    if name == "rmsprop":
        return torch.optim.RMSprop(groups, momentum=float(momentum or 0.0), weight_decay=wd)
    return torch.optim.SGD(
        groups, momentum=0.9 if momentum is None else float(momentum), weight_decay=wd
    )


def make_scheduler(
    optimiser: torch.optim.Optimizer, schedule: dict[str, Any], total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over ``warmup_steps``, then constant or cosine decay to 0 at
    ``total_steps``; stepped once per training step."""
    warmup = int(schedule.get("warmup_steps", 0))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if schedule["name"] == "constant":
            return 1.0
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimiser, factor)
