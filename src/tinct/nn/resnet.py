"""ResNet-18 for small images and its split-brain form (seed 000 sections 3.4.2-3.4.3).

The seed adapts ResNet-18 (He et al. 2016) to STL-10 (96 px) and splits it in half for the
split-brain autoencoder (Zhang et al. 2017): two disjoint sub-networks of half the width,
one seeing L and the other ab, whose features are concatenated stage by stage, so the
full-width representation stays 512-d.

Stems (the seed does not print its stem; these are the usual small-image adaptations):

* ``"stl10"`` (96 px): 3x3 convolution, stride 1, then 3x3 max-pool stride 2 (stage 1 at
  48 px, the 512-d output at 6 px);
* ``"cifar"`` (32 px): 3x3 convolution, stride 1, no pooling (stage 1 at 32 px, output 4 px);
* ``"imagenet"``: the original 7x7 stride-2 convolution and max-pool (stride 4).

Each network exposes five *blocks* (the stem, then the four residual stages), the unit
that "freeze the first k blocks" (seed 003 table 1) counts in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

__all__ = [
    "STEMS",
    "BasicBlock",
    "ResNet18",
    "SplitBrainResNet18",
    "resnet18_state_from_torchvision",
]

#: Stem names, see the module docstring.
STEMS = ("stl10", "cifar", "imagenet")


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and an identity (or 1x1 projection) shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: Tensor) -> Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


def _stem(in_channels: int, width: int, stem: str) -> nn.Sequential:
    if stem == "imagenet":
        return nn.Sequential(
            nn.Conv2d(in_channels, width, 7, 2, 3, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        )
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, width, 3, 1, 1, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(inplace=True),
    ]
    if stem == "stl10":
        layers.append(nn.MaxPool2d(3, 2, 1))
    return nn.Sequential(*layers)


class ResNet18(nn.Module):
    """ResNet-18 (stages of 2 basic blocks, widths ``width`` x 1, 2, 4, 8).

    Input ``(B, in_channels, H, W)``, already normalised (about [-1, 1]). :meth:`stages`
    returns the five block outputs; :meth:`forward` the global-average-pooled last one,
    ``(B, 8 * width)`` (512-d for the standard width 64).

    Args:
        in_channels: 3 for RGB, 1 for L, 2 for ab.
        width: channels of the first stage (64 in the standard network).
        stem: one of :data:`STEMS`.
    """

    def __init__(self, *, in_channels: int = 3, width: int = 64, stem: str = "stl10") -> None:
        super().__init__()
        if stem not in STEMS:
            raise ValueError(f"stem must be one of {STEMS}, got {stem!r}")
        if in_channels < 1 or width < 1:
            raise ValueError(f"in_channels and width must be >= 1, got {in_channels}, {width}")
        self.in_channels = in_channels
        self.width = width
        self.stem_name = stem
        widths = [width, 2 * width, 4 * width, 8 * width]
        blocks: list[nn.Module] = [_stem(in_channels, width, stem)]
        previous = width
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            blocks.append(nn.Sequential(BasicBlock(previous, w, stride), BasicBlock(w, w)))
            previous = w
        self.blocks = nn.ModuleList(blocks)
        self.out_dim = widths[-1]
        self.stage_channels = (width, *widths)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def stages(self, x: Tensor) -> list[Tensor]:
        """The output of each of the five blocks (stem, stages 1-4)."""
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"ResNet18 expects (B, {self.in_channels}, H, W), got {tuple(x.shape)}"
            )
        out = []
        for block in self.blocks:
            x = block(x)
            out.append(x)
        return out

    def forward(self, x: Tensor) -> Tensor:
        return self.stages(x)[-1].mean(dim=(-2, -1))

    def block_groups(self) -> list[list[nn.Module]]:
        """The five blocks, each as a list of modules (what freezing k blocks freezes)."""
        return [[b] for b in self.blocks]


class SplitBrainResNet18(nn.Module):
    """Two disjoint ResNet-18 halves of half width (seed 000 section 3.4.2).

    The input ``(B, sum(split), H, W)`` is cut along channels by ``split`` (default
    ``(1, 2)``: L | ab of Lab); half ``i`` sees only its own channels, so no gradient of
    one half's loss reaches the other half's parameters. :meth:`stages` concatenates the
    halves' block outputs; :meth:`forward` is the pooled concatenation, ``(B, 8 * width)``
    (512-d for width 64: two halves of 256).
    """

    def __init__(
        self, *, split: Sequence[int] = (1, 2), width: int = 64, stem: str = "stl10"
    ) -> None:
        super().__init__()
        if len(split) != 2 or min(split) < 1:
            raise ValueError(f"split must be two channel counts >= 1, got {tuple(split)}")
        if width % 2:
            raise ValueError(f"the split-brain width must be even, got {width}")
        self.split = (int(split[0]), int(split[1]))
        self.in_channels = sum(self.split)
        self.width = width
        self.stem_name = stem
        self.first = ResNet18(in_channels=self.split[0], width=width // 2, stem=stem)
        self.second = ResNet18(in_channels=self.split[1], width=width // 2, stem=stem)
        self.out_dim = self.first.out_dim + self.second.out_dim
        self.half_dim = self.first.out_dim

    @property
    def halves(self) -> tuple[ResNet18, ResNet18]:
        """The half seeing the first channels (L) and the one seeing the rest (ab)."""
        return self.first, self.second

    def split_input(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"SplitBrainResNet18 expects (B, {self.in_channels}, H, W), got {tuple(x.shape)}"
            )
        first, second = torch.split(x, list(self.split), dim=1)
        return first, second

    def half_stages(self, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """The block outputs of each half separately."""
        first, second = self.split_input(x)
        return self.halves[0].stages(first), self.halves[1].stages(second)

    def stages(self, x: Tensor) -> list[Tensor]:
        a, b = self.half_stages(x)
        return [torch.cat([fa, fb], dim=1) for fa, fb in zip(a, b, strict=True)]

    def forward(self, x: Tensor) -> Tensor:
        return self.stages(x)[-1].mean(dim=(-2, -1))

    def block_groups(self) -> list[list[nn.Module]]:
        """Block ``i`` of both halves, for i = 0..4."""
        return [[a, b] for a, b in zip(self.first.blocks, self.second.blocks, strict=True)]


def resnet18_state_from_torchvision(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """A torchvision ``resnet18`` state dict renamed for :class:`ResNet18` with
    ``stem="imagenet"`` (the same layers: ``conv1``/``bn1`` are the stem, ``layer1``-
    ``layer4`` the four stages, ``downsample`` the projection shortcut); ``fc.*`` is
    dropped. ``ValueError`` naming a key that is not part of a ResNet-18."""
    out: dict[str, Tensor] = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "fc":
            continue
        if parts[0] in ("conv1", "bn1") and len(parts) == 2:
            out[f"blocks.0.{0 if parts[0] == 'conv1' else 1}.{parts[1]}"] = value
            continue
        if (
            parts[0].startswith("layer")
            and parts[0][5:] in ("1", "2", "3", "4")
            and len(parts) >= 4
        ):
            stage, block, rest = parts[0][5:], parts[1], parts[2:]
            if rest[0] == "downsample":
                rest = ["shortcut", *rest[1:]]
            out[".".join(["blocks", stage, block, *rest])] = value
            continue
        raise ValueError(f"{key!r} is not a key of a torchvision ResNet-18 state dict")
    return out
