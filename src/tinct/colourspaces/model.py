"""A classifier that reads sRGB and sees it in chosen colour components (seed 000 ch. 5).

:class:`ColourSpaceClassifier` = :class:`~tinct.colourspaces.inputs.ColourInput`
(conversion + standardisation fitted on the training split) -> optional
:class:`~tinct.nn.classifiers.InputSE` colour attention -> DenseNet-BC or MobileNet v1.
:func:`save_classifier` / :func:`load_classifier` keep the architecture, the input
components, the hue mode and the standardisation statistics together in one file.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import torch
from torch import Tensor, nn

from tinct.colourspaces.inputs import ColourInput, Component
from tinct.nn.classifiers import DenseNetBC, InputSE, MobileNetV1

__all__ = [
    "ARCHITECTURES",
    "SEED_OPTIM",
    "ColourSpaceClassifier",
    "build_network",
    "load_classifier",
    "save_classifier",
]

ARCHITECTURES: Final[tuple[str, ...]] = ("densenet", "mobilenet")

#: Seed 000 appendix B.0.2: initial learning rate and weight decay of each network
#: (SGD, Nesterov momentum 0.9, batch 32, learning rate / 10 at 50 % and 75 % of training).
SEED_OPTIM: Final[Mapping[str, Mapping[str, float]]] = {
    "densenet": {"lr": 0.1, "weight_decay": 2e-4},
    "mobilenet": {"lr": 0.01, "weight_decay": 5e-4},
}

_ARCH_KEYS: Final[Mapping[str, frozenset[str]]] = {
    "densenet": frozenset({"blocks", "growth", "compression", "bn_size"}),
    "mobilenet": frozenset({"width"}),
}


def build_network(arch: str, in_channels: int, num_classes: int, **kwargs: Any) -> nn.Module:
    """DenseNet-BC (``"densenet"``) or MobileNet v1 (``"mobilenet"``) for 32x32 inputs;
    ``kwargs`` are the network's own (``blocks``, ``growth``... or ``width``)."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; known: {', '.join(ARCHITECTURES)}")
    unknown = set(kwargs) - _ARCH_KEYS[arch]
    if unknown:
        raise ValueError(
            f"unknown {arch} option(s) {sorted(unknown)}; known: {sorted(_ARCH_KEYS[arch])}"
        )
    if arch == "densenet":
        return DenseNetBC(in_channels, num_classes, **kwargs)
    return MobileNetV1(in_channels, num_classes, **kwargs)


class ColourSpaceClassifier(nn.Module):
    """sRGB ``(B, 3, 32, 32)`` in [0, 1] -> class logits ``(B, num_classes)``.

    Args:
        arch: ``"densenet"`` or ``"mobilenet"``.
        components: colour components of the input (``["rgb", "lab"]``, ``["lab.L", ...]``).
        num_classes: classifier outputs.
        attention: put the squeeze-and-excitation colour attention on the input channels.
        hue: hue treatment of :class:`~tinct.colourspaces.inputs.ColourInput`.
        se_reduction: :class:`~tinct.nn.classifiers.InputSE` reduction.
        network: the network's own options.
    """

    def __init__(
        self,
        arch: str,
        components: Sequence[str] | Sequence[Component],
        num_classes: int,
        *,
        attention: bool = False,
        hue: str = "circular",
        se_reduction: int = 2,
        network: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.inputs = ColourInput(components, hue=hue)
        self.attention = (
            InputSE(self.inputs.channels, reduction=se_reduction) if attention else None
        )
        self.network = build_network(arch, self.inputs.channels, num_classes, **dict(network or {}))
        self.config: dict[str, Any] = {
            "arch": arch,
            "components": [c.key for c in self.inputs.components],
            "num_classes": num_classes,
            "attention": attention,
            "hue": hue,
            "se_reduction": se_reduction,
            "network": dict(network or {}),
        }

    def forward(self, rgb: Tensor) -> Tensor:
        x = self.inputs(rgb)
        if self.attention is not None:
            x = self.attention(x)
        out: Tensor = self.network(x)
        return out


def save_classifier(
    model: ColourSpaceClassifier,
    path: str | os.PathLike[str],
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``{"config", "state_dict", **extra}`` to ``path`` via a temporary file and a
    rename (an interrupted save leaves no half-written file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save({"config": model.config, "state_dict": model.state_dict(), **dict(extra or {})}, tmp)
    os.replace(tmp, path)
    return path


def load_classifier(path: str | os.PathLike[str]) -> tuple[ColourSpaceClassifier, dict[str, Any]]:
    """A model written by :func:`save_classifier` (read with ``weights_only=True``) and the
    whole saved dict. Raises ``ValueError`` naming the file if it is not such a model."""
    path = Path(path)
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as err:
        raise ValueError(f"{path}: not a readable colour-space classifier ({err})") from err
    if not isinstance(saved, dict) or "config" not in saved or "state_dict" not in saved:
        raise ValueError(f"{path}: not a colour-space classifier file (no config/state_dict)")
    cfg = saved["config"]
    try:
        model = ColourSpaceClassifier(
            cfg["arch"],
            cfg["components"],
            cfg["num_classes"],
            attention=cfg["attention"],
            hue=cfg["hue"],
            se_reduction=cfg["se_reduction"],
            network=cfg["network"],
        )
        model.load_state_dict(saved["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{path}: colour-space classifier does not load ({err})") from err
    model.eval()
    return model, saved
