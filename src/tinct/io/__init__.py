"""Image file input/output: the only part of tinct that touches image files.

* :func:`read_image` / :func:`read_image_numpy` -- any Pillow-readable file to
  upright 8-bit RGB, ``(3, H, W)`` tensor or ``(H, W, 3)`` array.
* :func:`write_image` -- atomic PNG/JPEG/WebP/TIFF/BMP writing of uint8 images.
* :func:`iter_image_files` -- files, folders and glob patterns to a list of files.
* :class:`ImageReadError` -- the one error raised for unreadable image files.
* :func:`atomic_path` / :func:`write_text_atomic` -- write any file via a temporary
  file and a rename.
* :mod:`tinct.io.resize` -- resizing and centre crops of 8-bit ``(H, W, C)`` arrays,
  the one implementation the pipeline, the datasets and evaluation share.
"""

from __future__ import annotations

from tinct.io.files import IMAGE_EXTENSIONS, atomic_path, iter_image_files, write_text_atomic
from tinct.io.image import (
    DEFAULT_MAX_PIXELS,
    JPEG_SUBSAMPLINGS,
    WRITE_FORMATS,
    ImageReadError,
    read_image,
    read_image_numpy,
    write_image,
)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "JPEG_SUBSAMPLINGS",
    "WRITE_FORMATS",
    "ImageReadError",
    "atomic_path",
    "iter_image_files",
    "read_image",
    "read_image_numpy",
    "write_image",
    "write_text_atomic",
]
