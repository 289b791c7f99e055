"""Reading image files: upright 8-bit RGB from anything Pillow can read.

Reading always yields 8-bit sRGB-encoded RGB, whatever the file holds:

* palette images (with or without transparency), greyscale (``1``, ``L``),
  CMYK, YCbCr, HSV and CIELab files are converted to RGB;
* anything with an alpha channel or a transparency key is composited onto a
  **white** background (exactly, with rounding);
* 16-bit greyscale and 16-bit RGB/RGBA/grey+alpha PNG and TIFF files are scaled
  to 8 bits as ``round(v / 257)`` using all 16 bits (Pillow alone keeps only the
  high byte of 16-bit colour samples, see :func:`_low_byte_rawmodes`);
* the EXIF orientation tag is applied, so the returned array is upright;
* animated files (GIF, APNG, WebP) give their first frame;
* only regular files are opened (a FIFO or a device named as an image is refused
  from ``os.stat``, and opened without blocking, so reading never hangs).

:func:`read_image_with_metadata` also returns the file's :class:`ImageMetadata`
(EXIF with the Orientation tag reset to 1, ICC profile, DPI; :mod:`tinct.io.metadata`),
which :func:`~tinct.io.write.write_image` carries into the formats that hold it.
:mod:`tinct.io.pixels` turns what Pillow decodes into exact 8-bit RGB.

Every failure to read a file raises :class:`ImageReadError`, which names the
file and the reason.  Truncated files are detected (the whole image is decoded
inside :func:`read_image`, and Pillow's ``LOAD_TRUNCATED_IMAGES`` is never
turned on), and images larger than ``max_pixels`` are refused from their header,
before any pixel memory is allocated.
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Final

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from tinct.io.files import _mode_reason, _os_error_reason
from tinct.io.metadata import (
    ImageMetadata,
    _exif_orientation,
    _ignore_metadata_warnings,
    _metadata_of,
)
from tinct.io.pixels import (
    _composite8_on_white,
    _composite_on_white,
    _float_to_uint8,
    _grey_to_rgb,
    _has_transparency,
    _lab_to_rgb,
    _low_byte_rawmodes,
    _orient,
    _scale16,
    _tile_rawmode,
    _with_rawmode,
)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "ImageReadError",
    "read_image",
    "read_image_numpy",
    "read_image_with_metadata",
]

#: Largest image, in pixels (width x height), that :func:`read_image` decodes by
#: default.  250 MP of RGB is 750 MB of uint8.  Pillow's own limit (about 89 MP,
#: error above 179 MP) is not used by tinct: this limit replaces it.
DEFAULT_MAX_PIXELS: Final[int] = 250_000_000


class ImageReadError(Exception):
    """An image file could not be read.

    Attributes:
        path: the file that was being read.
        reason: why it could not be read, in words (no file name).
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot read image {os.fspath(path)}: {reason}")

    def __reduce__(self) -> tuple[type[ImageReadError], tuple[Path, str]]:
        # Picklable (e.g. out of DataLoader workers) despite the two-argument __init__.
        return (type(self), (self.path, self.reason))


# --------------------------------------------------------------------------- #
# Pillow's decompression-bomb limit
# --------------------------------------------------------------------------- #
# Pillow warns above Image.MAX_IMAGE_PIXELS (~89 MP) and raises above twice that
# (~179 MP), in Image.open and again in some plugins' load().  tinct applies its
# own, larger limit from the header instead.  Images up to Pillow's hard limit
# are read with Pillow's *warning* filtered out (no global state is changed
# beyond the duration of a warnings.catch_warnings block).  Only when Pillow
# raises (an image above ~179 MP) is the file opened again with
# Image.MAX_IMAGE_PIXELS set to None; that override is reference-counted across
# threads and restored as soon as the last reader leaves it.

_limit_lock = threading.Lock()
_limit_users = 0
_saved_limit: int | None = None


@contextlib.contextmanager
def _pillow_pixel_limit_lifted() -> Iterator[None]:
    """Temporarily set ``PIL.Image.MAX_IMAGE_PIXELS = None``, restoring it afterwards."""
    global _limit_users, _saved_limit
    with _limit_lock:
        if _limit_users == 0:
            _saved_limit = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None
        _limit_users += 1
    try:
        yield
    finally:
        with _limit_lock:
            _limit_users -= 1
            if _limit_users == 0:
                Image.MAX_IMAGE_PIXELS = _saved_limit


def _megapixels(pixels: int) -> str:
    if pixels >= 100_000:
        return f"{pixels / 1e6:.4g} MP"
    return f"{pixels} pixels"


def _decode_low_bytes(path: str | os.PathLike[str], rawmodes: list[str]) -> np.ndarray | None:
    """Decode the file again with byte-swapped rawmodes; None if that is not possible."""
    try:
        with _open_regular(path) as fp, Image.open(fp) as im:
            if len(im.tile) != len(rawmodes):
                return None
            im.tile = [_with_rawmode(t, r) for t, r in zip(im.tile, rawmodes, strict=True)]
            im.load()
            return np.asarray(im)
    except Exception:
        return None


def _to_rgb_array(
    im: Image.Image, path: str | os.PathLike[str], tiles: Sequence[Any], la16: bool
) -> np.ndarray:
    """A loaded Pillow image -> (H, W, 3) uint8 array (possibly a read-only view)."""
    mode = im.mode
    if la16:  # 16-bit grey+alpha PNG decoded as raw bytes (L hi, L lo, A hi, A lo)
        b = np.asarray(im).astype(np.uint32)
        grey = (b[..., 0] << 8) | b[..., 1]
        alpha = (b[..., 2] << 8) | b[..., 3]
        return _grey_to_rgb(_composite_on_white(grey[..., None], alpha, 65535)[..., 0])
    if mode in ("RGB", "RGBA"):
        low_rawmodes = _low_byte_rawmodes(tiles)
        if low_rawmodes is not None:
            low = _decode_low_bytes(path, low_rawmodes)
            high = np.asarray(im)
            if low is not None and low.shape == high.shape:
                v16 = (high.astype(np.uint32) << 8) | low
                if mode == "RGBA":
                    return _composite_on_white(v16[..., :3], v16[..., 3], 65535)
                return _scale16(v16)
    if mode.startswith("I;16"):
        return _grey_to_rgb(_scale16(np.asarray(im)))
    if mode == "I":  # 32-bit integers: taken as 16-bit samples, clipped to 0..65535
        return _grey_to_rgb(_scale16(np.clip(np.asarray(im), 0, 65535)))
    if mode == "F":
        return _grey_to_rgb(_float_to_uint8(np.asarray(im)))
    if _has_transparency(im):  # RGBA, LA, PA, La, RGBa, P/L/RGB with a transparency key
        rgba = im if mode == "RGBA" else im.convert("RGBA")
        return _composite8_on_white(np.asarray(rgba))
    if mode == "RGB":
        return np.asarray(im)
    if mode == "L":
        return _grey_to_rgb(np.asarray(im))
    if mode == "LAB":
        return np.asarray(_lab_to_rgb(im))
    return np.asarray(im.convert("RGB"))  # P, 1, CMYK, YCbCr, HSV


# --------------------------------------------------------------------------- #
# Reading
# --------------------------------------------------------------------------- #


def _check_file(path: str | os.PathLike[str]) -> None:
    """Refuse anything but a non-empty regular file, from ``os.stat`` alone (a FIFO or a
    device is never opened, so reading never blocks on one)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ImageReadError(path, _os_error_reason(path, exc)) from None
    reason = _mode_reason(st.st_mode)
    if reason is not None:
        raise ImageReadError(path, reason)
    if st.st_size == 0:
        raise ImageReadError(path, "empty file (0 bytes)")


@contextlib.contextmanager
def _open_regular(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Open ``path`` for reading without blocking, and only if it is a regular file.

    ``O_NONBLOCK`` makes opening a FIFO return at once (should the file have been
    replaced by one since :func:`_check_file`); the open file is then checked with
    ``fstat``, so what is read is what was checked.  Regular files ignore the flag.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    try:
        reason = _mode_reason(os.fstat(fd).st_mode)
        if reason is not None:
            raise ImageReadError(path, reason)
        fp = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with fp:
        yield fp


def _decode(
    path: str | os.PathLike[str], max_pixels: int | None, metadata: bool
) -> tuple[np.ndarray, ImageMetadata | None]:
    """Open, size-check, fully decode and convert; may raise DecompressionBombError.

    Returns the upright ``(H, W, 3)`` uint8 array and, if ``metadata``, the file's
    :class:`ImageMetadata` (EXIF orientation reset to 1).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        _ignore_metadata_warnings()
        with _open_regular(path) as fp, Image.open(fp) as im:
            width, height = im.size
            if max_pixels is not None and width * height > max_pixels:
                raise ImageReadError(
                    path,
                    f"image is {width}x{height} = {_megapixels(width * height)}, over the "
                    f"limit of {_megapixels(max_pixels)} (a decompression bomb?); "
                    "allow it with max_pixels=None (tinct colourise: --max-pixels 0)",
                )
            tiles = list(im.tile)
            la16 = bool(tiles) and all(_tile_rawmode(t) == "LA;16B" for t in tiles)
            if la16:  # no Pillow unpacker keeps 16 bits of LA: take the raw bytes
                im.tile = [_with_rawmode(t, "RGBA") for t in tiles]
            im.load()  # the full decode: truncation and corruption surface here
            orientation = _exif_orientation(im)
            meta = _metadata_of(im) if metadata else None
            array = _to_rgb_array(im, path, tiles, la16)
    return _orient(array, orientation), meta


def _read_array(
    path: str | os.PathLike[str], max_pixels: int | None, metadata: bool = False
) -> tuple[np.ndarray, ImageMetadata | None]:
    """(H, W, 3) uint8, possibly a non-contiguous read-only view, and the metadata if
    asked for."""
    if max_pixels is not None and (isinstance(max_pixels, bool) or max_pixels < 1):
        raise ValueError(f"max_pixels must be a positive integer or None, got {max_pixels!r}")
    _check_file(path)
    try:
        try:
            return _decode(path, max_pixels, metadata)
        except Image.DecompressionBombError:
            # Over Pillow's hard limit (~179 MP) but maybe not over ours: look again
            # with Pillow's check off; ours (from the header) still applies.
            with _pillow_pixel_limit_lifted():
                return _decode(path, max_pixels, metadata)
    except ImageReadError:
        raise
    except MemoryError:
        raise
    except FileNotFoundError:
        raise ImageReadError(path, "no such file") from None
    except UnidentifiedImageError:
        raise ImageReadError(path, "not an image file, or a format Pillow cannot read") from None
    except PermissionError as exc:
        raise ImageReadError(path, "permission denied") from exc
    except OSError as exc:
        if exc.errno is not None and exc.filename is not None:  # from opening the file
            raise ImageReadError(path, _os_error_reason(path, exc)) from exc
        detail = str(exc) or type(exc).__name__
        raise ImageReadError(path, f"corrupt or truncated image data ({detail})") from exc
    except Exception as exc:
        detail = str(exc) or type(exc).__name__
        raise ImageReadError(path, f"corrupt or truncated image data ({detail})") from exc


def read_image_numpy(
    path: str | os.PathLike[str], *, max_pixels: int | None = DEFAULT_MAX_PIXELS
) -> np.ndarray:
    """Read an image file as an upright 8-bit RGB array.

    Args:
        path: any file Pillow can read (JPEG, PNG 8/16-bit, WebP, TIFF 8/16-bit,
            BMP, GIF, ...).  Only the first frame of animated files is read.
        max_pixels: refuse images with more than this many pixels (width x height),
            checked from the header before decoding; ``None`` for no limit.

    Returns:
        A C-contiguous, writable ``np.uint8`` array of shape ``(H, W, 3)``, values
        in ``[0, 255]``, RGB order, EXIF orientation applied, transparency
        composited on white, 16-bit samples scaled by ``round(v / 257)``.

    Raises:
        ImageReadError: missing file, directory, not a regular file (a FIFO, a
            device, a socket: refused from ``os.stat``, never opened, so reading never
            blocks), a symbolic-link loop, empty file, not an image, corrupt or
            truncated data, or more than ``max_pixels`` pixels.
        ValueError: ``max_pixels`` is not a positive integer or None.
    """
    array, _ = _read_array(path, max_pixels)
    return _writable(array)


def _writable(array: np.ndarray) -> np.ndarray:
    if not (array.flags.c_contiguous and array.flags.writeable):
        array = np.array(array, order="C")
    return array


def read_image_with_metadata(
    path: str | os.PathLike[str], *, max_pixels: int | None = DEFAULT_MAX_PIXELS
) -> tuple[np.ndarray, ImageMetadata]:
    """Read an image file as :func:`read_image_numpy` does, with its metadata.

    Returns:
        ``(rgb, metadata)``: the upright ``(H, W, 3)`` uint8 array of
        :func:`read_image_numpy` and the file's :class:`ImageMetadata` -- its EXIF
        block with the Orientation tag set to 1 (the pixels are already turned), its
        ICC profile and its DPI, each ``None`` where the file has none.  Unreadable
        metadata is left out; it never makes the image unreadable.  Pass the metadata
        to :func:`write_image` to keep it in an output.

    Raises:
        ImageReadError, ValueError: as :func:`read_image_numpy`.
    """
    array, meta = _read_array(path, max_pixels, metadata=True)
    assert meta is not None
    return _writable(array), meta


def read_image(
    path: str | os.PathLike[str], *, max_pixels: int | None = DEFAULT_MAX_PIXELS
) -> torch.Tensor:
    """Read an image file as an upright 8-bit RGB tensor.

    Same decoding rules and errors as :func:`read_image_numpy`.

    Returns:
        A contiguous CPU ``torch.uint8`` tensor of shape ``(3, H, W)``, values in
        ``[0, 255]``, channels R, G, B.
    """
    array, _ = _read_array(path, max_pixels)
    # One copy: (H, W, 3) view -> contiguous (3, H, W), then shared with torch.
    chw = np.array(array.transpose(2, 0, 1), order="C")
    return torch.from_numpy(chw)
