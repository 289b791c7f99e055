"""Image in, image out: :class:`ColourisePipeline`, used by the CLI, the API and batch jobs.

Data flow (ARCHITECTURE.md): RGB uint8 ``(H, W, 3)`` -> lightness at model
resolution -> model -> decode -> chroma upsampled to ``(H, W)`` and joined with
the full-resolution lightness -> RGB uint8 of the input's size.

Memory: the full-resolution part runs in horizontal strips, so beyond the input
and output images (3 bytes per pixel each) only one strip of float arrays lives
at a time; a 12000x8000 photo peaks at about 1.2 GB (docs/benchmarks.md).
"""

from __future__ import annotations

import copy
import math
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from tinct.color import lightness_chroma_to_rgb, rgb_to_lightness_chroma
from tinct.color.u8 import lab_lightness_u8, lab_to_rgb_u8
from tinct.io.resize import resize
from tinct.models import Colouriser, load_model

#: An RGB image as the pipeline takes it: an ``(H, W, 3)`` uint8 array, a ``(3, H, W)``
#: uint8 tensor or a PIL image.
ImageLike = Tensor | np.ndarray | Image.Image

#: Pixels of the full-resolution image processed at once (a strip of whole rows).
#: Small strips keep the temporaries in the CPU caches: 64K pixels measured fastest on
#: a 1 MP photo (about 1.5x faster than one 1 MP strip).
STRIP_PIXELS = 65_536

PRECISIONS = ("auto", "fp32", "bf16")

#: Largest model resolution (side of the square of about the same area) accepted: the
#: network's activations grow with its square (about 1.5 GB for the default model at
#: 2048, 30 GB and more past 8000), so a typo such as ``--size 100000`` is refused
#: before anything is allocated.
MAX_SIZE = 2048


def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX); there bf16
    speeds the network up, elsewhere it slows it down."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def resolve_precision(precision: str) -> str:
    """``"fp32"`` or ``"bf16"`` for a precision option; ``"auto"`` is bf16 where the CPU
    computes it natively. ``ValueError`` for anything else."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "auto":
        return "bf16" if native_bf16() else "fp32"
    return precision


def model_resolution(height: int, width: int, size: int, multiple: int) -> tuple[int, int]:
    """Model input ``(h, w)``: about ``size**2`` pixels, the image's aspect ratio,
    each side a multiple of ``multiple`` (at least one multiple)."""
    if height < 1 or width < 1:
        raise ValueError(f"image size must be positive, got {height}x{width}")
    scale = size / math.sqrt(height * width)
    h = max(multiple, round(height * scale / multiple) * multiple)
    w = max(multiple, round(width * scale / multiple) * multiple)
    return h, w


def as_hwc_uint8(image: ImageLike) -> np.ndarray:
    """An RGB uint8 image as a C-contiguous ``(H, W, 3)`` array (no copy when it already is).

    Accepts ``(H, W, 3)``, ``(H, W, 4)`` (alpha dropped), ``(H, W)`` grey arrays,
    ``(3, H, W)`` / ``(1, H, W)`` tensors and ``PIL.Image`` images (any mode; converted
    to RGB). Layout convention everywhere in tinct: arrays are ``(H, W, C)``, tensors
    ``(C, H, W)``.
    """
    if isinstance(image, Image.Image):
        return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))
    if isinstance(image, Tensor):
        if image.ndim != 3 or image.shape[0] not in (1, 3):
            raise ValueError(f"expected a (3, H, W) image, got shape {tuple(image.shape)}")
        if image.dtype != torch.uint8:
            raise ValueError(f"expected a uint8 image, got {image.dtype}")
        array = image.permute(1, 2, 0).numpy()
    elif isinstance(image, np.ndarray):
        array = image[:, :, None] if image.ndim == 2 else image
        if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
            raise ValueError(f"expected an (H, W, 3) image array, got shape {image.shape}")
        if array.dtype != np.uint8:
            raise ValueError(f"expected a uint8 image, got {array.dtype}")
    else:
        raise TypeError(
            f"expected a numpy array, a tensor or a PIL image, got {type(image).__name__}"
        )
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    return np.ascontiguousarray(array[:, :, :3])


def _row_interpolation(out_rows: int, in_rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source rows ``lo``, ``hi`` and the float32 weight of ``hi`` of bilinear resizing
    (align_corners=False, as ``F.interpolate`` and ``cv2.resize``) along one axis."""
    src = (np.arange(out_rows, dtype=np.float64) + 0.5) * (in_rows / out_rows) - 0.5
    src = np.maximum(src, 0.0)
    lo = np.minimum(np.floor(src).astype(np.intp), in_rows - 1)
    hi = np.minimum(lo + 1, in_rows - 1)
    return lo, hi, (src - lo).astype(np.float32)


_POOL: tuple[ThreadPoolExecutor, int] | None = None  # (pool, its number of threads)
_POOL_LOCK = threading.Lock()


def _reset_pool() -> None:  # a forked child has the pool object but not its threads
    global _POOL
    _POOL = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_pool)


def _strip_pool(threads: int) -> ThreadPoolExecutor:
    """The shared thread pool of the strip-wise steps, with ``threads`` workers."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL[1] != threads:
            # The old pool's idle threads end once it is garbage-collected.
            _POOL = (ThreadPoolExecutor(threads, thread_name_prefix="tinct-strips"), threads)
        return _POOL[0]


def _for_each_strip(fn: Callable[[int], object], starts: Sequence[int], threads: int) -> None:
    """``fn(start)`` for every strip; on ``threads`` threads when there is more than one
    strip (NumPy and OpenCV release the GIL, so strips run truly in parallel)."""
    if threads <= 1 or len(starts) <= 1:
        for start in starts:
            fn(start)
        return
    for _ in _strip_pool(threads).map(fn, starts):
        pass


def check_options(model: Colouriser, size: int | None, saturation: float) -> None:
    """``ValueError`` naming the option unless ``size`` (model resolution) and
    ``saturation`` are usable with ``model``."""
    if size is not None:
        if isinstance(size, bool) or not isinstance(size, int):
            raise ValueError(f"size must be an integer, got {size!r}")
        if not model.input_multiple <= size <= MAX_SIZE:
            raise ValueError(
                f"size must be between {model.input_multiple} and {MAX_SIZE} pixels, got {size}"
            )
    if not isinstance(saturation, (int, float)) or not math.isfinite(saturation):
        raise ValueError(f"saturation must be a finite number, got {saturation!r}")
    if saturation < 0:
        raise ValueError(f"saturation must be >= 0, got {saturation}")


@dataclass
class ColourisePipeline:
    """Colourises RGB uint8 images of any size with a :class:`~tinct.models.Colouriser`.

    Args:
        model: a trained colouriser (see :func:`tinct.models.load_model`).
        size: model resolution (pixels of a square side; aspect ratio is kept at
            about that area). Default: the model's own ``input_size``.
        temperature: decoding temperature for models that support it.
        saturation: multiplies the predicted chroma (1 = as predicted).
        precision: "fp32", "bf16" (weights and activations in bfloat16; decoding and the
            colour maths stay float32) or "auto": bf16 where the CPU computes it natively
            (AVX512-BF16 or AMX), else fp32. See docs/benchmarks.md for its effect.
        channels_last: run convolutions in NHWC memory layout.

    Inputs are RGB uint8 images: ``(H, W, 3)`` arrays, ``(3, H, W)`` tensors or PIL
    images. Calling the pipeline returns a ``(3, H, W)`` uint8 tensor (tensors are
    channels-first in tinct; ``.permute(1, 2, 0).numpy()`` is the ``(H, W, 3)`` array,
    without a copy). :func:`tinct.colourise` returns the kind it was given.
    ``ColourisePipeline.from_pretrained("default")`` loads a bundled model.
    """

    model: Colouriser
    size: int | None = None
    temperature: float | None = None
    saturation: float = 1.0
    precision: str = "auto"
    channels_last: bool = True

    @classmethod
    def from_pretrained(cls, name: str | os.PathLike[str] = "default", **kwargs: Any) -> Self:
        """A pipeline for a bundled model name or a model file / checkpoint path;
        ``kwargs`` are the pipeline's options (size, temperature, ...)."""
        return cls(load_model(name), **kwargs)

    def __post_init__(self) -> None:
        check_options(self.model, self.size, self.saturation)
        if self.temperature is not None and not self.model.supports_temperature:
            raise ValueError(
                f"model {self.model.registry_name or type(self.model).__name__!r} has no "
                "temperature option (only classification models decode with a temperature)"
            )
        self.precision = resolve_precision(self.precision)
        # A fused copy: the caller's model stays trainable.
        self.model = copy.deepcopy(self.model).eval()
        self.model.fuse_for_inference()
        if self.precision == "bf16":
            # bf16 weights rather than autocast: no per-call weight casts (measured 12 ms
            # instead of 19 ms for the EfficientNet-Lite0 encoder at 256x256).
            self.model.to(torch.bfloat16)
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]

    def _model_lightness(self, rgb: np.ndarray) -> Tensor:
        """Lightness ``(1, 1, h, w)`` at model resolution of an ``(H, W, 3)`` uint8 image."""
        height, width = rgb.shape[:2]
        space = self.model.space
        h, w = model_resolution(
            height, width, self.size or self.model.input_size, self.model.input_multiple
        )
        small = resize(rgb, h, w, shrink="area", enlarge="bilinear")
        if space == "lab":
            lightness = torch.from_numpy(lab_lightness_u8(small))[None, None]
        else:
            small_rgb = torch.from_numpy(small).permute(2, 0, 1).float().div_(255.0)[None]
            lightness, _ = rgb_to_lightness_chroma(small_rgb, space)
        if self.channels_last:
            lightness = lightness.contiguous(memory_format=torch.channels_last)
        return lightness

    @torch.inference_mode()
    def predict_chroma(
        self, image: ImageLike, *, generator: torch.Generator | None = None
    ) -> Tensor:
        """Chroma ``(2, h, w)`` in colour-space units at model resolution for an RGB
        uint8 image (``(H, W, 3)`` array or ``(3, H, W)`` tensor). ``generator``: draw
        the colourisation of a model that samples (:attr:`Colouriser.supports_sampling`)
        reproducibly; models that cannot sample refuse it."""
        lightness = self._model_lightness(as_hwc_uint8(image))
        if generator is None:
            output = self.model(lightness)
        else:
            output = self.model.sample(lightness, generator=generator)
        chroma = self.model.decode(output.float(), temperature=self.temperature)
        return chroma[0] * self.saturation

    def check_aux(self) -> None:
        """Raise ``ValueError`` naming the model unless it predicts auxiliary maps
        (:attr:`Colouriser.aux_maps`, e.g. seed 003's saliency and edge maps)."""
        if not self.model.aux_maps:
            name = self.model.registry_name or type(self.model).__name__
            raise ValueError(
                f"model {name!r} predicts no auxiliary maps; --save-aux is for models that do "
                "(e.g. one trained from configs/guided/multipath-gan.yaml: saliency and edges)"
            )

    @torch.inference_mode()
    def predict_with_aux(self, image: ImageLike) -> tuple[Tensor, dict[str, Tensor]]:
        """Chroma ``(2, h, w)`` as :meth:`predict_chroma`, and the model's auxiliary maps
        from the same forward pass, each ``(1, h, w)`` in [0, 1] at model resolution."""
        self.check_aux()
        output = self.model(self._model_lightness(as_hwc_uint8(image))).float()
        chroma = self.model.decode(output, temperature=self.temperature)[0] * self.saturation
        return chroma, {name: m[0] for name, m in self.model.decode_aux(output).items()}

    def colourise_with_aux(self, image: ImageLike) -> tuple[Tensor, dict[str, Tensor]]:
        """Colourise one image as :meth:`__call__` does and return, besides the ``(3, H,
        W)`` uint8 colour image, the model's auxiliary maps as ``(1, H, W)`` uint8 grey
        images of the input's size (bilinear from model resolution; 255 = 1)."""
        import cv2

        rgb = as_hwc_uint8(image)
        height, width = rgb.shape[:2]
        chroma, maps = self.predict_with_aux(rgb)
        colour = torch.from_numpy(self.recombine(rgb, chroma)).permute(2, 0, 1)
        grey: dict[str, Tensor] = {}
        for name, m in maps.items():
            full = cv2.resize(m[0].numpy(), (width, height), interpolation=cv2.INTER_LINEAR)
            grey[name] = torch.from_numpy(np.clip(full * 255.0 + 0.5, 0, 255).astype(np.uint8))[
                None
            ]
        return colour, grey

    @torch.inference_mode()
    def predict_chroma_batch(self, images: Sequence[ImageLike]) -> Tensor:
        """Chroma ``(B, 2, h, w)`` at model resolution of ``B`` RGB uint8 images of one
        size (e.g. consecutive video frames), in one model call; equal to stacking
        :meth:`predict_chroma` of each."""
        if not images:
            raise ValueError("predict_chroma_batch needs at least one image")
        lightness = torch.cat([self._model_lightness(as_hwc_uint8(i)) for i in images])
        if self.channels_last:
            lightness = lightness.contiguous(memory_format=torch.channels_last)
        output = self.model(lightness)
        return self.model.decode(output.float(), temperature=self.temperature) * self.saturation

    def check_sampling(self) -> None:
        """Raise ``ValueError`` naming the model unless it can draw several colourisations."""
        if not self.model.supports_sampling:
            name = self.model.registry_name or type(self.model).__name__
            raise ValueError(
                f"model {name!r} gives one deterministic colourisation per image; samples "
                "and seed need a model that can sample (e.g. one trained from "
                "configs/cvae.yaml or configs/cvae-conv.yaml)"
            )

    @torch.inference_mode()
    def sample_chroma(self, image: ImageLike, samples: int, *, seed: int | None = None) -> Tensor:
        """``samples`` colourisations' chroma ``(samples, 2, h, w)`` at model resolution,
        drawn in one batch from a generator seeded with ``seed`` (random when ``None``):
        the same seed gives the same samples."""
        self.check_sampling()
        if samples < 1:
            raise ValueError(f"samples must be >= 1, got {samples}")
        generator = torch.Generator()
        generator.manual_seed(int(seed) if seed is not None else int(torch.seed()))
        lightness = self._model_lightness(as_hwc_uint8(image))
        batch = lightness.expand(samples, *lightness.shape[1:])
        output = self.model.sample(batch, generator=generator).float()
        return self.model.decode(output, temperature=self.temperature) * self.saturation

    def samples(self, image: ImageLike, samples: int, *, seed: int | None = None) -> list[Tensor]:
        """``samples`` different colourisations of one image (models that can sample), each
        a ``(3, H, W)`` uint8 tensor of the input's full resolution; reproducible with
        ``seed``."""
        rgb = as_hwc_uint8(image)
        chroma = self.sample_chroma(rgb, samples, seed=seed)
        return [torch.from_numpy(self.recombine(rgb, c)).permute(2, 0, 1) for c in chroma]

    @torch.inference_mode()
    def recombine(self, image: ImageLike, chroma: Tensor) -> np.ndarray:
        """Full-resolution lightness of ``image`` + ``chroma`` ``(2, h, w)`` upsampled to
        it -> RGB uint8 ``(H, W, 3)``."""
        import cv2

        rgb = as_hwc_uint8(image)
        height, width = rgb.shape[:2]
        space = self.model.space
        # Bilinear resizing is separable: resize the width once (small), then each
        # strip's rows by hand, which equals F.interpolate on the whole image.
        small = chroma.detach().float().permute(1, 2, 0).contiguous().numpy()  # (h, w, 2)
        chroma_w: np.ndarray = cv2.resize(
            small, (width, small.shape[0]), interpolation=cv2.INTER_LINEAR
        ).reshape(small.shape[0], width, 2)
        lo, hi, frac = _row_interpolation(height, small.shape[0])
        out = np.empty((height, width, 3), dtype=np.uint8)
        strip_rows = max(1, STRIP_PIXELS // width)

        def strip(top: int) -> None:
            rows = slice(top, min(height, top + strip_rows))
            strip_chroma = chroma_w[lo[rows]]
            upper = chroma_w[hi[rows]]
            upper -= strip_chroma
            upper *= frac[rows, None, None]
            strip_chroma += upper
            if space == "lab":  # one vectorised OpenCV pass per step, written in place
                lab_to_rgb_u8(lab_lightness_u8(rgb[rows]), strip_chroma, out=out[rows])
                return
            strip_rgb = torch.from_numpy(rgb[rows]).permute(2, 0, 1).float().div_(255.0)
            strip_l, _ = rgb_to_lightness_chroma(strip_rgb, space)
            ab = torch.from_numpy(strip_chroma).permute(2, 0, 1)
            colour = lightness_chroma_to_rgb(strip_l, ab, space)
            colour8 = colour.mul_(255.0).add_(0.5).clamp_(0, 255).to(torch.uint8)
            out[rows] = colour8.permute(1, 2, 0).numpy()

        # The Lab path is NumPy and OpenCV only: strips run on the threads torch uses.
        threads = torch.get_num_threads() if space == "lab" else 1
        _for_each_strip(strip, range(0, height, strip_rows), threads)
        return out

    def __call__(self, image: ImageLike) -> Tensor:
        """Colourise one RGB uint8 image, an ``(H, W, 3)`` array, ``(3, H, W)`` tensor or
        PIL image;
        returns a ``(3, H, W)`` uint8 tensor of the same size (a view of an
        ``(H, W, 3)`` array: ``.permute(1, 2, 0).numpy()`` gives it without a copy)."""
        rgb = as_hwc_uint8(image)
        out = self.recombine(rgb, self.predict_chroma(rgb))
        return torch.from_numpy(out).permute(2, 0, 1)
