"""SimCLR's augmentations on batches (seed 000 section 3.5.2; Chen et al. 2020, appendix A).

Each image of a batch gets its own random parameters: random resized crop (and horizontal
flip), colour distortion (brightness, contrast, saturation, hue; applied with probability
0.8), random greyscale (0.2) and Gaussian blur (0.5, kernel about 10 % of the side, sigma
0.1-2). Everything works on sRGB ``(B, 3, H, W)`` in [0, 1] with torch operations, so a
batch is augmented in a few vectorised calls. Hue is turned by rotating the chroma plane
of YIQ (:mod:`tinct.color`), a close, cheap stand-in for torchvision's HSV hue shift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from tinct.color import rgb_to_grey, rgb_to_yiq, yiq_to_rgb

__all__ = ["SimCLRAugment", "random_resized_crop"]


def _check(rgb: Tensor) -> None:
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise ValueError(f"augmentations need RGB (B, 3, H, W), got {tuple(rgb.shape)}")


def random_resized_crop(
    rgb: Tensor,
    *,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
    hflip: bool = True,
    generator: torch.Generator | None = None,
) -> Tensor:
    """A random crop of each image (area ``scale`` of the image, aspect ``ratio``),
    resized back to the input size bilinearly, flipped left-right with probability 0.5."""
    _check(rgb)
    b = rgb.shape[0]
    dev = rgb.device
    area = torch.empty(b).uniform_(*scale, generator=generator)
    log_r = torch.empty(b).uniform_(math.log(ratio[0]), math.log(ratio[1]), generator=generator)
    aspect = torch.exp(log_r)
    w = torch.sqrt(area * aspect).clamp(max=1.0)  # fractions of the side
    h = torch.sqrt(area / aspect).clamp(max=1.0)
    cx = (torch.rand(b, generator=generator) * (1 - w) + w / 2) * 2 - 1
    cy = (torch.rand(b, generator=generator) * (1 - h) + h / 2) * 2 - 1
    flip = torch.ones(b)
    if hflip:
        flip = torch.where(torch.rand(b, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = w * flip
    theta[:, 0, 2] = cx
    theta[:, 1, 1] = h
    theta[:, 1, 2] = cy
    grid = F.affine_grid(theta.to(dev, rgb.dtype), list(rgb.shape), align_corners=False)
    return F.grid_sample(rgb, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _per_image(values: Tensor, like: Tensor) -> Tensor:
    return values.to(like.device, like.dtype).view(-1, 1, 1, 1)


def _uniform(b: int, low: float, high: float, generator: torch.Generator | None) -> Tensor:
    return torch.empty(b).uniform_(low, high, generator=generator)


@dataclass
class SimCLRAugment:
    """SimCLR's augmentation module with its defaults (colour strength ``s`` = 1).

    Call on a batch ``(B, 3, H, W)`` in [0, 1] to get one augmented view; call twice for
    the positive pair. ``crop_scale``: area range of the random resized crop.
    """

    crop_scale: tuple[float, float] = (0.08, 1.0)
    hflip: bool = True
    brightness: float = 0.8
    contrast: float = 0.8
    saturation: float = 0.8
    hue: float = 0.2
    jitter_p: float = 0.8
    grey_p: float = 0.2
    blur_p: float = 0.5
    blur_sigma: tuple[float, float] = (0.1, 2.0)

    def __call__(self, rgb: Tensor, generator: torch.Generator | None = None) -> Tensor:
        _check(rgb)
        scale = (float(self.crop_scale[0]), float(self.crop_scale[1]))
        x = random_resized_crop(rgb, scale=scale, hflip=self.hflip, generator=generator)
        x = self.colour_jitter(x, generator)
        x = self.random_grey(x, generator)
        x = self.gaussian_blur(x, generator)
        return x.clamp(0.0, 1.0)

    def colour_jitter(self, rgb: Tensor, generator: torch.Generator | None = None) -> Tensor:
        b = rgb.shape[0]
        apply = _per_image((torch.rand(b, generator=generator) < self.jitter_p).float(), rgb)
        x = rgb
        f = _per_image(_uniform(b, 1 - self.brightness, 1 + self.brightness, generator), x)
        x = (x * f).clamp(0, 1)
        f = _per_image(_uniform(b, 1 - self.contrast, 1 + self.contrast, generator), x)
        mean = rgb_to_grey(x).mean(dim=(-3, -2, -1), keepdim=True)
        x = ((x - mean) * f + mean).clamp(0, 1)
        f = _per_image(_uniform(b, 1 - self.saturation, 1 + self.saturation, generator), x)
        grey = rgb_to_grey(x)
        x = ((x - grey) * f + grey).clamp(0, 1)
        angle = _per_image(_uniform(b, -self.hue, self.hue, generator) * 2 * math.pi, x)
        yiq = rgb_to_yiq(x)
        y, i, q = yiq[:, :1], yiq[:, 1:2], yiq[:, 2:3]
        cos, sin = torch.cos(angle), torch.sin(angle)
        x = yiq_to_rgb(torch.cat([y, i * cos - q * sin, i * sin + q * cos], dim=1)).clamp(0, 1)
        return apply * x + (1 - apply) * rgb

    def random_grey(self, rgb: Tensor, generator: torch.Generator | None = None) -> Tensor:
        apply = _per_image((torch.rand(rgb.shape[0], generator=generator) < self.grey_p), rgb)
        return apply * rgb_to_grey(rgb).expand_as(rgb) + (1 - apply) * rgb

    def gaussian_blur(self, rgb: Tensor, generator: torch.Generator | None = None) -> Tensor:
        b, c, h, w = rgb.shape
        radius = max(1, round(0.1 * min(h, w)) // 2)
        sigma = _uniform(b, *self.blur_sigma, generator).to(rgb.device, rgb.dtype)
        offsets = torch.arange(-radius, radius + 1, device=rgb.device, dtype=rgb.dtype)
        kernel = torch.exp(-(offsets[None] ** 2) / (2 * sigma[:, None] ** 2))
        kernel = kernel / kernel.sum(dim=1, keepdim=True)  # (B, k)
        k = kernel.repeat_interleave(c, dim=0)  # one kernel per image and channel
        x = rgb.reshape(1, b * c, h, w)
        x = F.pad(x, (radius, radius, 0, 0), mode="reflect")
        x = F.conv2d(x, k.view(b * c, 1, 1, -1), groups=b * c)
        x = F.pad(x, (0, 0, radius, radius), mode="reflect")
        x = F.conv2d(x, k.view(b * c, 1, -1, 1), groups=b * c).view(b, c, h, w)
        apply = _per_image((torch.rand(b, generator=generator) < self.blur_p), rgb)
        return apply * x + (1 - apply) * rgb
