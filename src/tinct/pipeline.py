"""Image in, image out: the colourisation pipeline used by the CLI, the API and video.

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
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import overload

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from tinct.color import lightness_chroma_to_rgb, rgb_to_lightness_chroma
from tinct.color.u8 import lab_lightness_u8, lab_to_rgb_u8
from tinct.io import ImageReadError, read_image_numpy, write_image
from tinct.io.resize import resize
from tinct.models import Colouriser, load_model

#: Pixels of the full-resolution image processed at once (a strip of whole rows).
#: Small strips keep the temporaries in the CPU caches: 64K pixels measured fastest on
#: a 1 MP photo (about 1.5x faster than one 1 MP strip).
STRIP_PIXELS = 65_536

PRECISIONS = ("auto", "fp32", "bf16")


def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX); there bf16
    speeds the network up, elsewhere it slows it down."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def model_resolution(height: int, width: int, size: int, multiple: int) -> tuple[int, int]:
    """Model input ``(h, w)``: about ``size**2`` pixels, the image's aspect ratio,
    each side a multiple of ``multiple`` (at least one multiple)."""
    if height < 1 or width < 1:
        raise ValueError(f"image size must be positive, got {height}x{width}")
    scale = size / math.sqrt(height * width)
    h = max(multiple, round(height * scale / multiple) * multiple)
    w = max(multiple, round(width * scale / multiple) * multiple)
    return h, w


def as_hwc_uint8(image: Tensor | np.ndarray) -> np.ndarray:
    """An RGB uint8 image as a C-contiguous ``(H, W, 3)`` array (no copy when it already is).

    Accepts ``(H, W, 3)``, ``(H, W, 4)`` (alpha dropped), ``(H, W)`` grey arrays and
    ``(3, H, W)`` / ``(1, H, W)`` tensors.
    """
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
        raise TypeError(f"expected a tensor or numpy array, got {type(image).__name__}")
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
    """

    model: Colouriser
    size: int | None = None
    temperature: float | None = None
    saturation: float = 1.0
    precision: str = "auto"
    channels_last: bool = True

    def __post_init__(self) -> None:
        if self.size is not None and self.size < self.model.input_multiple:
            raise ValueError(f"size must be at least {self.model.input_multiple}, got {self.size}")
        if self.saturation < 0:
            raise ValueError(f"saturation must be >= 0, got {self.saturation}")
        if self.temperature is not None and not self.model.supports_temperature:
            raise ValueError(
                f"model {self.model.registry_name or type(self.model).__name__!r} has no "
                "temperature option (only classification models decode with a temperature)"
            )
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.precision == "auto":
            self.precision = "bf16" if native_bf16() else "fp32"
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
        self, image: Tensor | np.ndarray, *, generator: torch.Generator | None = None
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
    def sample_chroma(
        self, image: Tensor | np.ndarray, samples: int, *, seed: int | None = None
    ) -> Tensor:
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

    def samples(
        self, image: Tensor | np.ndarray, samples: int, *, seed: int | None = None
    ) -> list[Tensor]:
        """``samples`` different colourisations of one image (models that can sample), each
        a ``(3, H, W)`` uint8 tensor of the input's full resolution; reproducible with
        ``seed``."""
        rgb = as_hwc_uint8(image)
        chroma = self.sample_chroma(rgb, samples, seed=seed)
        return [torch.from_numpy(self.recombine(rgb, c)).permute(2, 0, 1) for c in chroma]

    @torch.inference_mode()
    def recombine(self, image: Tensor | np.ndarray, chroma: Tensor) -> np.ndarray:
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

    def __call__(self, image: Tensor | np.ndarray) -> Tensor:
        """Colourise one RGB uint8 image, an ``(H, W, 3)`` array or ``(3, H, W)`` tensor;
        returns a ``(3, H, W)`` uint8 tensor of the same size (a view of an
        ``(H, W, 3)`` array: ``.permute(1, 2, 0).numpy()`` gives it without a copy)."""
        rgb = as_hwc_uint8(image)
        out = self.recombine(rgb, self.predict_chroma(rgb))
        return torch.from_numpy(out).permute(2, 0, 1)


@dataclass
class BatchResult:
    """Outcome of :func:`colourise_files`: written files and skipped inputs with reasons."""

    written: list[tuple[Path, Path]] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


class _DecodeDataset(Dataset[tuple[int, np.ndarray | None, str]]):
    """Decodes images in DataLoader workers so decoding overlaps the model's compute."""

    def __init__(self, files: Sequence[Path]) -> None:
        self.files = list(files)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[int, np.ndarray | None, str]:
        try:
            return index, read_image_numpy(self.files[index]), ""
        except ImageReadError as err:
            return index, None, err.reason


def _first(batch: list[tuple[int, np.ndarray | None, str]]) -> tuple[int, np.ndarray | None, str]:
    return batch[0]


def iter_decoded(
    files: Sequence[Path], *, workers: int = 1, prefetch: int = 2
) -> Iterator[tuple[Path, np.ndarray | None, str]]:
    """Yields ``(path, image or None, error reason)`` in order, decoding ``prefetch`` ahead."""
    dataset = _DecodeDataset(files)
    if workers <= 0:
        for i in range(len(dataset)):
            index, image, reason = dataset[i]
            yield files[index], image, reason
        return
    loader = DataLoader(
        dataset,
        batch_size=1,
        num_workers=workers,
        collate_fn=_first,
        prefetch_factor=prefetch,
    )
    for index, image, reason in loader:
        yield files[index], image, reason


def output_path(
    src: Path, out_dir: Path | None, root: Path | None, suffix: str, ext: str | None
) -> Path:
    """Where the colourised version of ``src`` goes.

    Next to the input as ``<name><suffix>.<ext>`` without ``out_dir``; inside
    ``out_dir`` (keeping the sub-folders below ``root``) as ``<name>.<ext>`` with it.
    """
    extension = ext or src.suffix.lower().lstrip(".")
    if extension not in ("png", "jpg", "jpeg", "webp", "tif", "tiff", "bmp"):
        extension = "png"  # e.g. GIF input: write a lossless PNG
    if out_dir is None:
        return src.with_name(f"{src.stem}{suffix}.{extension}")
    relative = (
        src.relative_to(root) if root is not None and src.is_relative_to(root) else Path(src.name)
    )
    return out_dir / relative.with_suffix(f".{extension}")


def sample_path(dest: Path, index: int) -> Path:
    """Where sample ``index`` (from 1) of the output ``dest`` goes: ``<stem>_<index><ext>``."""
    return dest.with_name(f"{dest.stem}_{index}{dest.suffix}")


def colourise_files(
    files: Sequence[Path],
    pipeline: ColourisePipeline,
    *,
    out_dir: Path | None = None,
    roots: Sequence[Path | None] | None = None,
    suffix: str = "_colour",
    ext: str | None = None,
    quality: int = 95,
    subsampling: str = "4:2:0",
    workers: int = 1,
    progress: bool = True,
    samples: int | None = None,
    seed: int | None = None,
) -> BatchResult:
    """Colourise many files; unreadable ones are skipped and reported, never fatal.

    ``roots[i]`` is the folder ``files[i]`` was found in (its sub-folders are
    mirrored inside ``out_dir``), or ``None``. ``quality`` and ``subsampling`` are
    :func:`tinct.io.write_image`'s.

    ``samples``: with a model that can sample, write that many colourisations of each
    input, ``<name>_1.<ext>`` ... ``<name>_N.<ext>`` (after the suffix when writing next
    to the inputs: ``photo_colour_1.jpg``), each at the input's resolution; ``seed``
    makes them reproducible (every file's samples are drawn from a generator seeded with
    it). Either with a model that cannot sample raises ``ValueError`` before any work.
    """
    if roots is not None and len(roots) != len(files):
        raise ValueError(f"got {len(roots)} roots for {len(files)} files")
    if samples is not None or seed is not None:
        pipeline.check_sampling()
        if samples is not None and samples < 1:
            raise ValueError(f"samples must be >= 1, got {samples}")
    root_of = dict(zip(files, roots, strict=True)) if roots is not None else {}
    result = BatchResult()
    bar = tqdm(total=len(files), desc="colourising", unit="img", disable=not progress)
    # A worker process only pays off when there is a next file to decode meanwhile.
    workers = workers if len(files) > 1 else 0
    for path, image, reason in iter_decoded(files, workers=workers):
        if image is None:
            result.skipped.append((path, reason))
        else:
            dest = output_path(path, out_dir, root_of.get(path), suffix, ext)
            try:
                if samples is None and seed is None:
                    write_image(dest, pipeline(image), quality=quality, subsampling=subsampling)
                    result.written.append((path, dest))
                else:
                    outputs = pipeline.samples(image, samples or 1, seed=seed)
                    for i, colour in enumerate(outputs, start=1):
                        target = dest if samples is None else sample_path(dest, i)
                        write_image(target, colour, quality=quality, subsampling=subsampling)
                        result.written.append((path, target))
            except (OSError, ValueError) as err:
                result.skipped.append((path, f"could not write {dest}: {err}"))
        bar.update(1)
    bar.close()
    return result


@overload
def colourise(
    image: str | os.PathLike[str] | Tensor | np.ndarray,
    *,
    model: str | Colouriser = ...,
    size: int | None = ...,
    temperature: float | None = ...,
    saturation: float = ...,
    precision: str = ...,
    samples: None = ...,
    seed: int | None = ...,
) -> np.ndarray: ...


@overload
def colourise(
    image: str | os.PathLike[str] | Tensor | np.ndarray,
    *,
    model: str | Colouriser = ...,
    size: int | None = ...,
    temperature: float | None = ...,
    saturation: float = ...,
    precision: str = ...,
    samples: int,
    seed: int | None = ...,
) -> list[np.ndarray]: ...


def colourise(
    image: str | os.PathLike[str] | Tensor | np.ndarray,
    *,
    model: str | Colouriser = "default",
    size: int | None = None,
    temperature: float | None = None,
    saturation: float = 1.0,
    precision: str = "auto",
    samples: int | None = None,
    seed: int | None = None,
) -> np.ndarray | list[np.ndarray]:
    """Colourise one image (a path, an ``(H, W, 3)`` uint8 array or a ``(3, H, W)`` tensor).

    Returns an ``(H, W, 3)`` uint8 array of the input's size. ``model`` is a
    bundled model name, a model file / checkpoint path, or a loaded model.

    ``samples=N`` (models that can sample, e.g. a CVAE) returns a list of ``N``
    different colourisations, each of the input's size; ``seed`` makes the draw
    reproducible (with ``samples=None`` it fixes the one colourisation returned).
    Models that cannot sample raise ``ValueError`` for either.
    """
    colouriser = load_model(model) if isinstance(model, (str, os.PathLike)) else model
    pipeline = ColourisePipeline(
        colouriser, size=size, temperature=temperature, saturation=saturation, precision=precision
    )
    if isinstance(image, (str, os.PathLike)):
        image = read_image_numpy(image)
    if samples is None and seed is None:
        return pipeline(image).permute(1, 2, 0).numpy()
    outputs = [o.permute(1, 2, 0).numpy() for o in pipeline.samples(image, samples or 1, seed=seed)]
    return outputs if samples is not None else outputs[0]


def expand_inputs(inputs: Iterable[str | Path]) -> list[tuple[Path, Path | None]]:
    """Files for the CLI with the folder each came from (to mirror sub-folders)."""
    from tinct.io import iter_image_files

    pairs: list[tuple[Path, Path | None]] = []
    for item in inputs:
        root = Path(item) if Path(item).is_dir() else None
        pairs.extend((f, root) for f in iter_image_files([item]))
    return pairs
