"""The five pretext methods of seed 000 chapter 3 as composable parts.

Each method is an ``nn.Module`` built from a backbone (:mod:`tinct.nn.resnet`), heads
(:mod:`tinct.ssl.heads`), a loss (:mod:`tinct.losses`) and, for the contrastive ones, an
augmentation (:class:`~tinct.ssl.transforms.SimCLRAugment`), each with the paper's defaults
as keyword arguments (the lightly style). A method takes a batch of sRGB images in [0, 1]
and returns its loss and named terms; :meth:`PretextMethod.encoder` is the part kept for
downstream tasks.

============================  =====================================================
``cross-channel``             L -> ab, L2 or rebalanced classification (sec. 3.4.1)
``split-brain``               L -> ab and ab -> L halves, L2 or classification with
                              100 L / 256 ab bins, rebalanced (sec. 3.4.2-3.4.3)
``simclr``                    NT-Xent (t = 0.5) on two augmented views, 1024-unit
                              projection MLP (sec. 3.5.1-3.5.2)
``contrast-channels``         the L and ab halves' outputs of one image are the
                              positive pair (sec. 3.5.2, after Tian et al.)
``combined``                  split-brain backbone, an L2 colourisation head on each
                              half, SimCLR's loss on the concatenation (sec. 3.5.3)
============================  =====================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tinct.color import normalize_chroma, normalize_lightness, rebalancing_weights, rgb_to_lab
from tinct.losses import nt_xent
from tinct.nn.resnet import ResNet18, SplitBrainResNet18
from tinct.ssl.bins import ABGrid, LightnessBins
from tinct.ssl.encoders import FeatureEncoder
from tinct.ssl.heads import ColourHead, ProjectionHead
from tinct.ssl.transforms import SimCLRAugment

__all__ = [
    "METHODS",
    "Combined",
    "ContrastChannels",
    "CrossChannel",
    "PretextMethod",
    "SimCLR",
    "SplitBrain",
    "create_method",
    "register_method",
]

LOSSES = ("l2", "classification")


class PretextMethod(nn.Module):
    """A self-supervised method: ``loss(rgb) -> (loss, terms)`` and the backbone it trains."""

    name: ClassVar[str]
    #: What the backbone sees (:data:`tinct.ssl.encoders.INPUTS`).
    inputs: ClassVar[str]
    backbone: nn.Module
    backbone_spec: dict[str, Any]

    def loss(self, rgb: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        raise NotImplementedError

    def forward(self, rgb: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        return self.loss(rgb)

    def prepare(self, batches: Iterable[Tensor]) -> dict[str, Any]:
        """Set up from training images before the first step (class priors); returns
        metadata to store with the encoder."""
        return {}

    def encoder(self) -> FeatureEncoder:
        """The backbone as a feature encoder (shares the trained modules)."""
        return FeatureEncoder(self.backbone, self.inputs, spec=self.backbone_spec, name=self.name)


METHODS: dict[str, type[PretextMethod]] = {}
M = TypeVar("M", bound=type[PretextMethod])


def register_method(name: str) -> Callable[[M], M]:
    def wrap(cls: M) -> M:
        if name in METHODS:
            raise ValueError(f"pretext method {name!r} is already registered")
        cls.name = name
        METHODS[name] = cls
        return cls

    return wrap


def create_method(
    name: str, *, width: int = 64, stem: str = "stl10", **kwargs: Any
) -> PretextMethod:
    """A registered method by name; ``kwargs`` are its constructor's keyword arguments."""
    if name not in METHODS:
        raise ValueError(f"unknown pretext method {name!r}; known: {sorted(METHODS)}")
    try:
        return METHODS[name](width=width, stem=stem, **kwargs)
    except TypeError as err:
        raise ValueError(f"method.kwargs do not fit {name!r}: {err}") from None


# --- shared pieces -----------------------------------------------------------------------


def lab_norm(rgb: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(lab, l_norm, ab_norm)`` of sRGB in [0, 1]; ``lab`` in colour-space units."""
    lab = rgb_to_lab(rgb)
    return lab, normalize_lightness(lab[:, :1]), normalize_chroma(lab[:, 1:])


def _pool_to(x: Tensor, size: tuple[int, int]) -> Tensor:
    return x if tuple(x.shape[-2:]) == size else F.adaptive_avg_pool2d(x, size)


def _check_loss(loss: str) -> None:
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def _resnet_spec(in_channels: int, width: int, stem: str) -> dict[str, Any]:
    return {"arch": "resnet18", "in_channels": in_channels, "width": width, "stem": stem}


def _split_spec(width: int, stem: str) -> dict[str, Any]:
    return {"arch": "split-brain", "split": [1, 2], "width": width, "stem": stem}


class _Predictor(nn.Module):
    """One colourisation task: a head on a feature map and its loss against the target
    channels (normalised for L2, quantised and rebalanced for classification)."""

    class_weights: Tensor

    def __init__(
        self,
        in_channels: int,
        target: str,
        loss: str,
        *,
        bins: int,
        lam: float,
        hidden: int,
    ) -> None:
        super().__init__()
        _check_loss(loss)
        self.target = target  # "ab" or "l"
        self.kind = loss
        self.lam = lam
        channels = 2 if target == "ab" else 1
        self.quantiser: ABGrid | LightnessBins | None = None
        out = channels
        if loss == "classification":
            self.quantiser = ABGrid(bins) if target == "ab" else LightnessBins(bins)
            out = self.quantiser.n
        self.head = ColourHead(in_channels, out, hidden=hidden)
        self.register_buffer("class_weights", torch.ones(out if self.quantiser else 1))

    def _target(self, lab: Tensor, normed: Tensor, size: tuple[int, int]) -> Tensor:
        if self.quantiser is None:
            return _pool_to(normed, size)
        units = lab[:, 1:] if self.target == "ab" else lab[:, :1]
        return self.quantiser.encode(_pool_to(units, size))

    def histogram(self, lab: Tensor) -> Tensor:
        assert self.quantiser is not None
        units = lab[:, 1:] if self.target == "ab" else lab[:, :1]
        return torch.bincount(self.quantiser.encode(units).flatten(), minlength=self.quantiser.n)

    def set_prior(self, counts: Tensor) -> None:
        self.class_weights.copy_(rebalancing_weights(counts.double(), lam=self.lam))

    def forward(self, features: Tensor, lab: Tensor, normed: Tensor) -> Tensor:
        pred = self.head(features)
        target = self._target(lab, normed, (pred.shape[-2], pred.shape[-1]))
        if self.quantiser is None:
            return F.mse_loss(pred, target)
        per_pixel = F.cross_entropy(pred, target, reduction="none")
        return (per_pixel * self.class_weights[target]).mean()


def _prior_from(predictors: list[_Predictor], batches: Iterable[Tensor]) -> dict[str, Any]:
    chosen = [p for p in predictors if p.quantiser is not None]
    if not chosen:
        return {}
    counts = [torch.zeros(p.quantiser.n, dtype=torch.long) for p in chosen]  # type: ignore[union-attr]
    n_images = 0
    for rgb in batches:
        lab = rgb_to_lab(rgb)
        n_images += rgb.shape[0]
        for i, p in enumerate(chosen):
            counts[i] += p.histogram(lab)
    if n_images == 0:
        raise ValueError("no training images to estimate the class prior from")
    for p, c in zip(chosen, counts, strict=True):
        p.set_prior(c)
    return {"prior_images": n_images}


# --- the methods --------------------------------------------------------------------------


@register_method("cross-channel")
class CrossChannel(PretextMethod):
    """Cross-channel encoder (seed 000 section 3.4.1): ResNet-18 on L predicts ab.

    ``loss``: "l2" (eq. 3.1, on normalised ab) or "classification" (eq. 3.2) over
    ``ab_bins`` quantised ab cells with rebalancing ``lam`` (Zhang et al.: 0.5).
    """

    inputs = "l"
    backbone: ResNet18

    def __init__(
        self,
        *,
        width: int = 64,
        stem: str = "stl10",
        loss: str = "l2",
        ab_bins: int = 256,
        lam: float = 0.5,
        head_hidden: int = 128,
    ) -> None:
        super().__init__()
        self.backbone = ResNet18(in_channels=1, width=width, stem=stem)
        self.backbone_spec = _resnet_spec(1, width, stem)
        self.predict_ab = _Predictor(
            self.backbone.out_dim, "ab", loss, bins=ab_bins, lam=lam, hidden=head_hidden
        )

    def prepare(self, batches: Iterable[Tensor]) -> dict[str, Any]:
        return _prior_from([self.predict_ab], batches)

    def loss(self, rgb: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        lab, l_norm, ab_norm = lab_norm(rgb)
        features = self.backbone.stages(l_norm)[-1]
        loss = self.predict_ab(features, lab, ab_norm)
        return loss, {"colour_ab": loss.detach()}


@register_method("split-brain")
class SplitBrain(PretextMethod):
    """Split-brain autoencoder (seed 000 sections 3.4.2-3.4.3): the L half predicts ab,
    the ab half predicts L; total = both losses. ``loss`` "l2" or "classification" with
    ``l_bins`` (100) and ``ab_bins`` (256), each rebalanced with ``lam``."""

    inputs = "lab"
    backbone: SplitBrainResNet18

    def __init__(
        self,
        *,
        width: int = 64,
        stem: str = "stl10",
        loss: str = "l2",
        l_bins: int = 100,
        ab_bins: int = 256,
        lam: float = 0.5,
        head_hidden: int = 128,
    ) -> None:
        super().__init__()
        self.backbone = SplitBrainResNet18(split=(1, 2), width=width, stem=stem)
        self.backbone_spec = _split_spec(width, stem)
        half = self.backbone.half_dim
        self.predict_ab = _Predictor(half, "ab", loss, bins=ab_bins, lam=lam, hidden=head_hidden)
        self.predict_l = _Predictor(half, "l", loss, bins=l_bins, lam=lam, hidden=head_hidden)

    def prepare(self, batches: Iterable[Tensor]) -> dict[str, Any]:
        return _prior_from([self.predict_ab, self.predict_l], batches)

    def loss(self, rgb: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        lab, l_norm, ab_norm = lab_norm(rgb)
        from_l, from_ab = self.backbone.half_stages(torch.cat([l_norm, ab_norm], dim=1))
        loss_ab = self.predict_ab(from_l[-1], lab, ab_norm)
        loss_l = self.predict_l(from_ab[-1], lab, l_norm)
        return loss_ab + loss_l, {"colour_ab": loss_ab.detach(), "colour_l": loss_l.detach()}


@register_method("simclr")
class SimCLR(PretextMethod):
    """SimCLR (seed 000 sections 3.5.1-3.5.2): ResNet-18 on RGB, projection MLP with
    ``projection_hidden`` (1024) units, NT-Xent with ``temperature`` 0.5 on two views from
    :class:`SimCLRAugment` (``augment``: its keyword arguments)."""

    inputs = "rgb"
    backbone: ResNet18

    def __init__(
        self,
        *,
        width: int = 64,
        stem: str = "stl10",
        projection_hidden: int = 1024,
        projection_dim: int = 128,
        temperature: float = 0.5,
        augment: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.backbone = ResNet18(in_channels=3, width=width, stem=stem)
        self.backbone_spec = _resnet_spec(3, width, stem)
        self.projection = ProjectionHead(self.backbone.out_dim, projection_hidden, projection_dim)
        self.temperature = temperature
        self.augment = SimCLRAugment(**(augment or {}))

    def loss(self, rgb: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        views = torch.cat([self.augment(rgb), self.augment(rgb)], dim=0) * 2.0 - 1.0
        z = self.projection(self.backbone(views))
        z_i, z_j = z.chunk(2, dim=0)
        loss = nt_xent(z_i, z_j, self.temperature)
        return loss, {"contrastive": loss.detach()}


@register_method("contrast-channels")
class ContrastChannels(PretextMethod):
    """Contrasting the L and ab views (seed 000 section 3.5.2, Tian et al.'s idea): the
    split-brain halves' pooled outputs of the same image, each through its own projection
    MLP, are the positive pair of NT-Xent (``temperature`` 0.5); no augmentation beyond
    the training crop."""

    inputs = "lab"
    backbone: SplitBrainResNet18

    def __init__(
        self,
        *,
        width: int = 64,
        stem: str = "stl10",
        projection_hidden: int = 1024,
        projection_dim: int = 128,
        temperature: float = 0.5,
    ) -> None:
        super().__init__()
        self.backbone = SplitBrainResNet18(split=(1, 2), width=width, stem=stem)
        self.backbone_spec = _split_spec(width, stem)
        half = self.backbone.half_dim
        self.project_l = ProjectionHead(half, projection_hidden, projection_dim)
        self.project_ab = ProjectionHead(half, projection_hidden, projection_dim)
        self.temperature = temperature

    def loss(self, rgb: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        _, l_norm, ab_norm = lab_norm(rgb)
        from_l, from_ab = self.backbone.half_stages(torch.cat([l_norm, ab_norm], dim=1))
        z_l = self.project_l(from_l[-1].mean(dim=(-2, -1)))
        z_ab = self.project_ab(from_ab[-1].mean(dim=(-2, -1)))
        loss = nt_xent(z_l, z_ab, self.temperature)
        return loss, {"contrastive": loss.detach()}


@register_method("combined")
class Combined(PretextMethod):
    """Colourisation + contrastive learning (seed 000 section 3.5.3): split-brain
    backbone; an L2 colourisation head on each half (L -> ab, ab -> L); a projection MLP
    on the concatenated representation with SimCLR's NT-Xent on two augmented views.
    Total = ``contrastive_weight`` x NT-Xent + ``colour_ab_weight`` x L2(ab) +
    ``colour_l_weight`` x L2(L); the colours are predicted on the augmented (distorted)
    views, as in the seed."""

    inputs = "lab"
    backbone: SplitBrainResNet18

    def __init__(
        self,
        *,
        width: int = 64,
        stem: str = "stl10",
        projection_hidden: int = 1024,
        projection_dim: int = 128,
        temperature: float = 0.5,
        contrastive_weight: float = 1.0,
        colour_ab_weight: float = 1.0,
        colour_l_weight: float = 1.0,
        head_hidden: int = 128,
        augment: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.backbone = SplitBrainResNet18(split=(1, 2), width=width, stem=stem)
        self.backbone_spec = _split_spec(width, stem)
        half = self.backbone.half_dim
        self.predict_ab = _Predictor(half, "ab", "l2", bins=0, lam=0.5, hidden=head_hidden)
        self.predict_l = _Predictor(half, "l", "l2", bins=0, lam=0.5, hidden=head_hidden)
        self.projection = ProjectionHead(self.backbone.out_dim, projection_hidden, projection_dim)
        self.temperature = temperature
        self.weights = (contrastive_weight, colour_ab_weight, colour_l_weight)
        self.augment = SimCLRAugment(**(augment or {}))

    def loss(self, rgb: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        views = torch.cat([self.augment(rgb), self.augment(rgb)], dim=0)
        lab, l_norm, ab_norm = lab_norm(views)
        from_l, from_ab = self.backbone.half_stages(torch.cat([l_norm, ab_norm], dim=1))
        pooled = torch.cat([from_l[-1], from_ab[-1]], dim=1).mean(dim=(-2, -1))
        z_i, z_j = self.projection(pooled).chunk(2, dim=0)
        contrastive = nt_xent(z_i, z_j, self.temperature)
        loss_ab = self.predict_ab(from_l[-1], lab, ab_norm)
        loss_l = self.predict_l(from_ab[-1], lab, l_norm)
        w_c, w_ab, w_l = self.weights
        total = w_c * contrastive + w_ab * loss_ab + w_l * loss_l
        terms = {
            "contrastive": contrastive.detach(),
            "colour_ab": loss_ab.detach(),
            "colour_l": loss_l.detach(),
        }
        return total, terms
