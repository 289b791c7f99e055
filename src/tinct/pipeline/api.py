"""``tinct.colourise``: one call from an image (or several) to its colourisation, with
the loaded models kept for the next call."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from tinct.io import read_image_numpy
from tinct.models import Colouriser, load_model
from tinct.pipeline.core import ColourisePipeline, resolve_precision

#: Pipelines kept by :func:`colourise` (least recently used dropped first): about 15 MB
#: each for the bundled models.
CACHE_SIZE = 4

_CACHE: OrderedDict[tuple[Any, ...], ColourisePipeline] = OrderedDict()
_CACHE_LOCK = threading.Lock()

Output = Literal["auto", "numpy", "pil", "tensor"]
OUTPUTS = ("auto", "numpy", "pil", "tensor")


def clear_cache() -> None:
    """Forget the pipelines :func:`colourise` keeps (frees their memory)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def cached_pipeline(
    model: str | os.PathLike[str] | Colouriser = "default",
    *,
    size: int | None = None,
    temperature: float | None = None,
    saturation: float = 1.0,
    precision: str = "auto",
) -> ColourisePipeline:
    """A :class:`ColourisePipeline` for these options, built once and then reused.

    Keyed by the model (a name, a file with its modification time and size, or a loaded
    model object), the options and the device; at most :data:`CACHE_SIZE` are kept.
    Thread-safe; a kept pipeline is only read when colourising, so threads may share it.
    """
    resolved = resolve_precision(precision)
    if isinstance(model, Colouriser):
        model_key: Any = ("object", model)  # keeps it alive: an id could be reused
    else:
        path = os.fspath(model)
        stat = os.stat(path) if os.path.isfile(path) else None
        model_key = (path, stat.st_mtime_ns, stat.st_size) if stat else (path,)
    key = (model_key, size, temperature, saturation, resolved, "cpu")
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    colouriser = model if isinstance(model, Colouriser) else load_model(model)
    pipeline = ColourisePipeline(
        colouriser, size=size, temperature=temperature, saturation=saturation, precision=resolved
    )
    with _CACHE_LOCK:
        _CACHE[key] = pipeline
        _CACHE.move_to_end(key)
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return pipeline


def _convert(rgb: np.ndarray, kind: str) -> Any:
    if kind == "pil":
        return Image.fromarray(rgb)
    if kind == "tensor":
        return torch.from_numpy(rgb).permute(2, 0, 1)
    return rgb


def _kind_of(image: Any, output: str) -> str:
    if output != "auto":
        return output
    if isinstance(image, Image.Image):
        return "pil"
    if isinstance(image, Tensor):
        return "tensor"
    return "numpy"  # arrays and paths


def _one(
    pipeline: ColourisePipeline, image: Any, samples: int | None, seed: int | None, output: str
) -> Any:
    kind = _kind_of(image, output)
    if isinstance(image, (str, os.PathLike)):
        image = read_image_numpy(image)
    if samples is None and seed is None:
        return _convert(pipeline(image).permute(1, 2, 0).numpy(), kind)
    drawn = pipeline.samples(image, samples or 1, seed=seed)
    outputs = [_convert(o.permute(1, 2, 0).numpy(), kind) for o in drawn]
    return outputs if samples is not None else outputs[0]


def colourise(
    image: Any,
    *,
    model: str | os.PathLike[str] | Colouriser = "default",
    size: int | None = None,
    temperature: float | None = None,
    saturation: float = 1.0,
    precision: str = "auto",
    samples: int | None = None,
    seed: int | None = None,
    output: Output = "auto",
) -> Any:
    """Colourise an image, or a list of them, with a bundled or trained model.

    ``image``: a path, an ``(H, W, 3)`` uint8 array, a ``(3, H, W)`` uint8 tensor, a
    ``PIL.Image``, or a list of these. Each result has the input's size and, with
    ``output="auto"``, the input's kind (arrays and paths give ``(H, W, 3)`` uint8 arrays,
    tensors ``(3, H, W)`` tensors, PIL images PIL images); ``output`` = "numpy", "pil" or
    "tensor" picks one kind. A list gives a list.

    ``model`` is a bundled model name, a model file / checkpoint path, or a loaded model;
    the pipeline built for it is kept (:func:`cached_pipeline`), so calling this in a loop
    costs about what reusing a :class:`ColourisePipeline` does; :func:`clear_cache`
    frees it.

    ``samples=N`` (models that can sample, e.g. the bundled ``cvae``) returns a list of
    ``N`` different colourisations of each image; ``seed`` makes the draw reproducible
    (with ``samples=None`` it fixes the one colourisation returned). Models that cannot
    sample raise ``ValueError`` for either.
    """
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
    pipeline = cached_pipeline(
        model, size=size, temperature=temperature, saturation=saturation, precision=precision
    )
    if samples is not None or seed is not None:
        pipeline.check_sampling()
    if isinstance(image, Sequence) and not isinstance(image, (str, bytes)):
        return [_one(pipeline, item, samples, seed, output) for item in image]
    return _one(pipeline, image, samples, seed, output)
