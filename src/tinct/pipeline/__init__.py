"""Image in, image out: the colourisation pipeline used by the CLI, the API and batch jobs.

- :mod:`tinct.pipeline.core`: :class:`ColourisePipeline` (resize the lightness, run the
  model, decode, upsample the chroma and join it with the full-resolution lightness).
- :mod:`tinct.pipeline.batch`: files, folders and globs to outputs on disk, never
  replacing an input, resumable, keeping metadata.
- :mod:`tinct.pipeline.api`: :func:`colourise`, with the loaded models kept.

Layout convention: arrays are ``(H, W, C)``, tensors ``(C, H, W)``, both RGB uint8.
"""

from __future__ import annotations

from tinct.pipeline.api import cached_pipeline, clear_cache, colourise
from tinct.pipeline.batch import (
    BatchResult,
    Inputs,
    Plan,
    aux_path,
    collect_inputs,
    colourise_files,
    is_output_file,
    iter_decoded,
    output_path,
    parse_shard,
    plan_outputs,
    sample_path,
    shard_index,
)
from tinct.pipeline.core import (
    MAX_SIZE,
    PRECISIONS,
    STRIP_PIXELS,
    ColourisePipeline,
    ImageLike,
    as_hwc_uint8,
    check_options,
    model_resolution,
    native_bf16,
)

__all__ = [
    "MAX_SIZE",
    "PRECISIONS",
    "STRIP_PIXELS",
    "BatchResult",
    "ColourisePipeline",
    "ImageLike",
    "Inputs",
    "Plan",
    "as_hwc_uint8",
    "aux_path",
    "cached_pipeline",
    "check_options",
    "clear_cache",
    "collect_inputs",
    "colourise",
    "colourise_files",
    "is_output_file",
    "iter_decoded",
    "model_resolution",
    "native_bf16",
    "output_path",
    "parse_shard",
    "plan_outputs",
    "sample_path",
    "shard_index",
]
