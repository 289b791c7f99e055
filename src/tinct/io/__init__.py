"""Image file input/output: the only part of tinct that touches image files.

* :func:`read_image` / :func:`read_image_numpy` -- any Pillow-readable file to
  upright 8-bit RGB, ``(3, H, W)`` tensor or ``(H, W, 3)`` array;
  :func:`read_image_with_metadata` -- the array and its :class:`ImageMetadata`
  (EXIF, ICC profile, DPI). Reading is :mod:`tinct.io.image` (with the pixel
  conversions of :mod:`tinct.io.pixels`), metadata :mod:`tinct.io.metadata`.
* :func:`write_image` -- atomic PNG/JPEG/WebP/TIFF/BMP writing of uint8 images,
  keeping a source's metadata if given (:mod:`tinct.io.write`); :func:`write_palette_png`
  -- index images (segmentation masks) as palette PNGs.
* :func:`find_image_files` -- files, folders and glob patterns to regular image files
  and the entries skipped (FIFOs, devices, link loops, ...) with reasons;
  :func:`iter_image_files` -- just the files.
* :func:`is_colour` / :func:`colour_share` -- whether a photo already carries colour
  beyond an overall tint (sepia and other toned prints are not colour).
* :class:`ImageReadError` -- the one error raised for unreadable image files.
* :func:`atomic_path` / :func:`write_text_atomic` -- write any file via a temporary
  file and a rename.
* :class:`VideoTranscoder` -- video files frame by frame with PyAV, audio copied
  untouched (:mod:`tinct.io.video`); :data:`VIDEO_EXTENSIONS`, :class:`VideoReadError`.
* :mod:`tinct.io.resize` -- resizing and centre crops of 8-bit ``(H, W, C)`` arrays,
  the one implementation the pipeline, the datasets and evaluation share.
"""

from __future__ import annotations

from tinct.io.colour import COLOUR_LEVEL, COLOUR_THRESHOLD, colour_share, is_colour
from tinct.io.files import (
    IMAGE_EXTENSIONS,
    ImageFiles,
    atomic_path,
    find_image_files,
    iter_image_files,
    not_regular_file_reason,
    write_text_atomic,
)
from tinct.io.image import (
    DEFAULT_MAX_PIXELS,
    ImageReadError,
    read_image,
    read_image_numpy,
    read_image_with_metadata,
)
from tinct.io.metadata import METADATA_FORMATS, ImageMetadata
from tinct.io.video import (
    VIDEO_EXTENSIONS,
    VideoFrame,
    VideoInfo,
    VideoReadError,
    VideoTranscoder,
    is_video_path,
)
from tinct.io.write import JPEG_SUBSAMPLINGS, WRITE_FORMATS, write_image, write_palette_png

__all__ = [
    "COLOUR_LEVEL",
    "COLOUR_THRESHOLD",
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "JPEG_SUBSAMPLINGS",
    "METADATA_FORMATS",
    "VIDEO_EXTENSIONS",
    "WRITE_FORMATS",
    "ImageFiles",
    "ImageMetadata",
    "ImageReadError",
    "VideoFrame",
    "VideoInfo",
    "VideoReadError",
    "VideoTranscoder",
    "atomic_path",
    "colour_share",
    "find_image_files",
    "is_colour",
    "is_video_path",
    "iter_image_files",
    "not_regular_file_reason",
    "read_image",
    "read_image_numpy",
    "read_image_with_metadata",
    "write_image",
    "write_palette_png",
    "write_text_atomic",
]
