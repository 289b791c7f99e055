"""Image file input/output: the only part of tinct that touches image files.

* :func:`read_image` / :func:`read_image_numpy` -- any Pillow-readable file to
  upright 8-bit RGB, ``(3, H, W)`` tensor or ``(H, W, 3)`` array.
* :func:`write_image` -- atomic PNG/JPEG/WebP/TIFF/BMP writing of uint8 images.
* :func:`iter_image_files` -- files, folders and glob patterns to a list of files.
* :class:`ImageReadError` -- the one error raised for unreadable image files.
"""

from __future__ import annotations

from tinct.io.files import IMAGE_EXTENSIONS, iter_image_files
from tinct.io.image import (
    DEFAULT_MAX_PIXELS,
    WRITE_FORMATS,
    ImageReadError,
    read_image,
    read_image_numpy,
    write_image,
)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "WRITE_FORMATS",
    "ImageReadError",
    "iter_image_files",
    "read_image",
    "read_image_numpy",
    "write_image",
]
