"""Reading and writing image files: the only place in tinct that touches them.

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
(EXIF with the Orientation tag reset to 1, ICC profile, DPI), which
:func:`write_image` carries into the formats that hold it.

Every failure to read a file raises :class:`ImageReadError`, which names the
file and the reason.  Truncated files are detected (the whole image is decoded
inside :func:`read_image`, and Pillow's ``LOAD_TRUNCATED_IMAGES`` is never
turned on), and images larger than ``max_pixels`` are refused from their header,
before any pixel memory is allocated.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import secrets
import struct
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Final

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError, features

from tinct.io.files import _mode_reason, _os_error_reason

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "JPEG_SUBSAMPLINGS",
    "METADATA_FORMATS",
    "WRITE_FORMATS",
    "ImageMetadata",
    "ImageReadError",
    "read_image",
    "read_image_numpy",
    "read_image_with_metadata",
    "write_image",
]

log = logging.getLogger(__name__)

#: Largest image, in pixels (width x height), that :func:`read_image` decodes by
#: default.  250 MP of RGB is 750 MB of uint8.  Pillow's own limit (about 89 MP,
#: error above 179 MP) is not used by tinct: this limit replaces it.
DEFAULT_MAX_PIXELS: Final[int] = 250_000_000

#: File-name suffix (lower case) -> Pillow format name, for :func:`write_image`.
WRITE_FORMATS: Final[dict[str, str]] = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
}

#: Chroma subsampling choices of JPEG files written by :func:`write_image`.
JPEG_SUBSAMPLINGS: Final[tuple[str, ...]] = ("4:2:0", "4:2:2", "4:4:4")

#: Pillow format -> the metadata :func:`write_image` carries into it (the others are
#: dropped: WebP and BMP files have no place Pillow writes them to).
METADATA_FORMATS: Final[dict[str, frozenset[str]]] = {
    "JPEG": frozenset({"exif", "icc_profile", "dpi"}),
    "PNG": frozenset({"exif", "icc_profile", "dpi"}),
    "WEBP": frozenset({"exif", "icc_profile"}),
    "TIFF": frozenset({"exif", "icc_profile", "dpi"}),
    "BMP": frozenset({"dpi"}),
}

_ORIENTATION_TAG: Final[int] = 0x0112  # EXIF Orientation
_EXIF_HEADER: Final[bytes] = b"Exif\x00\x00"

#: EXIF IFD0 tags that describe the picture rather than the layout of a file's pixels:
#: the only IFD0 tags taken from TIFF files (whose IFD0 is also the image's own
#: directory) and written into TIFF files.  ImageDescription, Make, Model, Orientation,
#: Software, DateTime, Artist, HostComputer, Copyright, the Exif and GPS sub-IFDs.
_DESCRIPTIVE_IFD0_TAGS: Final[frozenset[int]] = frozenset(
    {0x010E, 0x010F, 0x0110, 0x0112, 0x0131, 0x0132, 0x013B, 0x013C, 0x8298, 0x8769, 0x8825}
)

#: The EXIF tags written into TIFF files: the descriptive IFD0 tags without the Exif
#: and GPS sub-directories, which Pillow's libtiff writer cannot store.
_TIFF_EXIF_TAGS: Final[frozenset[int]] = _DESCRIPTIVE_IFD0_TAGS - {0x8769, 0x8825}


@dataclass(frozen=True)
class ImageMetadata:
    """The metadata of an image file that :func:`write_image` can carry into its output.

    Attributes:
        exif: the EXIF block as Pillow's ``info["exif"]`` of a JPEG holds it (starting
            ``b"Exif\\0\\0"``, then a TIFF header and directories), with the
            Orientation tag set to 1 -- the pixels read are already upright.  Date,
            camera, exposure, GPS and the rest are kept as they were.  ``None``: none.
        icc_profile: the embedded ICC colour profile, bytes as stored.  ``None``: none.
        dpi: the resolution ``(x, y)`` in dots per inch, rounded to 0.01 (PNG files
            store dots per metre: 300 dpi is 299.9994).  ``None``: not recorded in
            the file.
    """

    exif: bytes | None = None
    icc_profile: bytes | None = None
    dpi: tuple[float, float] | None = None

    def __bool__(self) -> bool:
        """True if anything is recorded."""
        return self.exif is not None or self.icc_profile is not None or self.dpi is not None


def _ignore_metadata_warnings() -> None:
    """Inside ``warnings.catch_warnings()``: silence Pillow's warnings about broken
    EXIF/TIFF directories ("Corrupt EXIF data", ...), which only concern metadata."""
    warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.TiffImagePlugin")


def _exif_orientation_reset(data: bytes) -> bytes | None:
    """``data`` (an EXIF block, with or without the ``Exif\\0\\0`` header) with the
    IFD0 Orientation tag set to 1 in place, everything else byte for byte (maker notes
    keep their offsets); with the header.  ``None`` if the block cannot be parsed."""
    body = data[len(_EXIF_HEADER) :] if data.startswith(_EXIF_HEADER) else data
    if body[:4] == b"II*\x00":
        order = "<"
    elif body[:4] == b"MM\x00*":
        order = ">"
    else:
        return None
    try:
        (ifd0,) = struct.unpack_from(order + "I", body, 4)
        (count,) = struct.unpack_from(order + "H", body, ifd0)
        for i in range(count):
            entry = ifd0 + 2 + 12 * i
            tag, kind, n = struct.unpack_from(order + "HHI", body, entry)
            if tag != _ORIENTATION_TAG:
                continue
            if kind != 3 or n != 1:  # not one SHORT: leave it to Pillow
                return None
            patched = bytearray(body)
            struct.pack_into(order + "H", patched, entry + 8, 1)
            return _EXIF_HEADER + bytes(patched)
    except struct.error:
        return None
    return _EXIF_HEADER + body


def _exif_via_pillow(exif: Image.Exif, descriptive_only: bool) -> bytes | None:
    """Pillow's serialisation of ``exif`` with Orientation 1 (and, if
    ``descriptive_only``, without the IFD0 tags about pixel layout); ``None`` if empty."""
    for tag in list(exif):
        if descriptive_only and tag not in _DESCRIPTIVE_IFD0_TAGS:
            del exif[tag]
    if _ORIENTATION_TAG in exif:
        exif[_ORIENTATION_TAG] = 1
    if len(exif) == 0:
        return None
    data = exif.tobytes()
    return data if data.startswith(_EXIF_HEADER) else _EXIF_HEADER + data


def _exif_of(im: Image.Image) -> bytes | None:
    """The EXIF block of an opened image with Orientation 1, or None (absent or broken:
    broken metadata never makes the pixels unreadable)."""
    try:
        raw = im.info.get("exif")
        if isinstance(raw, bytes) and raw:
            patched = _exif_orientation_reset(raw)
            if patched is not None:
                return patched
            return _exif_via_pillow(im.getexif(), descriptive_only=False)
        if im.format == "TIFF":  # the EXIF tags live in the image's own directory
            return _exif_via_pillow(im.getexif(), descriptive_only=True)
    except Exception as exc:
        log.debug("ignoring unreadable EXIF data: %s", exc)
    return None


def _dpi_recorded(im: Image.Image) -> bool:
    """Whether the file itself records its resolution (Pillow reports 72 dpi for JPEG
    files with EXIF but no resolution, and 1 dpi for TIFF files without one)."""
    if im.format in ("JPEG", "MPO") and im.info.get("jfif_unit") not in (1, 2):
        exif = im.getexif()
        return 0x011A in exif and exif.get(0x0128) in (2, 3)  # XResolution, unit
    if im.format == "TIFF":
        tags = getattr(im, "tag_v2", {})
        return 0x011A in tags and 0x011B in tags  # XResolution, YResolution
    return True


def _dpi_of(im: Image.Image) -> tuple[float, float] | None:
    """The resolution the file records, in dots per inch, or None."""
    value = im.info.get("dpi")
    if value is None:
        return None
    try:
        if not _dpi_recorded(im):
            return None
    except Exception:
        return None
    try:
        x, y = (float(v) for v in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not (math.isfinite(x) and math.isfinite(y) and x > 0 and y > 0):
        return None
    # PNG stores dots per metre: 300 dpi reads back as 299.9994.
    return (round(x, 2), round(y, 2))


def _metadata_of(im: Image.Image) -> ImageMetadata:
    """EXIF (Orientation 1), ICC profile and DPI of a loaded Pillow image."""
    icc = im.info.get("icc_profile")
    return ImageMetadata(
        exif=_exif_of(im),
        icc_profile=bytes(icc) if isinstance(icc, bytes | bytearray) and icc else None,
        dpi=_dpi_of(im),
    )


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


# --------------------------------------------------------------------------- #
# 16-bit colour: Pillow stores RGB/RGBA at 8 bits per sample and its unpackers
# keep only the high byte.  Decoding the same tiles a second time with the
# opposite byte order yields the low bytes (the PNG/TIFF filters are applied
# to the raw bytes, so they are unaffected).
# --------------------------------------------------------------------------- #

_NATIVE_16 = "L" if sys.byteorder == "little" else "B"
_LOW_BYTE_RAWMODE: Final[dict[str, str]] = {}
for _base in ("RGB", "RGBA", "RGBX"):
    _LOW_BYTE_RAWMODE[f"{_base};16B"] = f"{_base};16L"
    _LOW_BYTE_RAWMODE[f"{_base};16L"] = f"{_base};16B"
    _LOW_BYTE_RAWMODE[f"{_base};16N"] = f"{_base};16{'B' if _NATIVE_16 == 'L' else 'L'}"


def _tile_rawmode(tile: Any) -> str | None:
    args = tile[3]
    if isinstance(args, str):
        return args
    if isinstance(args, tuple) and args and isinstance(args[0], str):
        return args[0]
    return None


def _with_rawmode(tile: Any, rawmode: str) -> Any:
    args = tile[3]
    new_args = rawmode if isinstance(args, str) else (rawmode, *args[1:])
    if hasattr(tile, "_replace"):
        return tile._replace(args=new_args)
    return (*tuple(tile)[:3], new_args)


def _low_byte_rawmodes(tiles: Sequence[Any]) -> list[str] | None:
    """The rawmodes that decode the low bytes of 16-bit RGB(A) tiles, or None."""
    if not tiles:
        return None
    out = []
    for tile in tiles:
        raw = _tile_rawmode(tile)
        if raw is None or raw not in _LOW_BYTE_RAWMODE:
            return None
        out.append(_LOW_BYTE_RAWMODE[raw])
    return out


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


# --------------------------------------------------------------------------- #
# Conversions to (H, W, 3) uint8
# --------------------------------------------------------------------------- #


def _scale16(values: np.ndarray) -> np.ndarray:
    """0..65535 -> 0..255 as ``round(v / 257)``; input any integer dtype, in range."""
    v = values.astype(np.uint32)
    return ((v * 2 + 257) // 514).astype(np.uint8)


def _composite_on_white(colour: np.ndarray, alpha: np.ndarray, maxval: int) -> np.ndarray:
    """Composite straight-alpha ``colour`` (H, W, C) with ``alpha`` (H, W) onto white.

    Both hold integers in ``[0, maxval]`` (255 or 65535).  Returns uint8 (H, W, C)
    ``round(255 * (c * a + maxval * (maxval - a)) / maxval**2)``.
    """
    a = alpha.astype(np.int64)[..., None]
    num = colour.astype(np.int64) * a + maxval * (maxval - a)
    m2 = maxval * maxval
    return ((num * 510 + m2) // (2 * m2)).astype(np.uint8)


def _composite8_on_white(rgba: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 straight alpha -> (H, W, 3) uint8 on white, exactly rounded."""
    a = rgba[..., 3:4].astype(np.uint32)
    num = rgba[..., :3].astype(np.uint32) * a + 255 * (255 - a)
    return ((num * 2 + 255) // 510).astype(np.uint8)


def _grey_to_rgb(grey: np.ndarray) -> np.ndarray:
    """(H, W) -> read-only (H, W, 3) broadcast view."""
    return np.broadcast_to(grey[..., None], (*grey.shape, 3))


def _float_to_uint8(values: np.ndarray) -> np.ndarray:
    """Mode ``F`` -> uint8.  Range guessed from the data: [0, 1] if its maximum is
    at most 1, else [0, 255] if at most 255, else [0, 65535]; NaN -> 0."""
    v = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    top = float(v.max()) if v.size else 0.0
    scale = 255.0 if top <= 1.0 else (1.0 if top <= 255.0 else 255.0 / 65535.0)
    return np.clip(np.rint(v * scale), 0, 255).astype(np.uint8)


def _has_transparency(im: Image.Image) -> bool:
    """Alpha channel, RGBA palette or transparency key (Image.has_transparency_data)."""
    if im.mode in ("LA", "La", "PA", "RGBA", "RGBa") or "transparency" in im.info:
        return True
    return im.mode == "P" and im.palette is not None and im.palette.mode.endswith("A")


def _lab_to_rgb(im: Image.Image) -> Image.Image:
    from PIL import ImageCms  # needs LittleCMS; only CIELab files use it

    transform = ImageCms.buildTransform(
        ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB"
    )
    out = ImageCms.applyTransform(im, transform)
    assert out is not None
    return out


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


def _orient(array: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1..8) to an (H, W, C) array, as a view.

    Matches :func:`PIL.ImageOps.exif_transpose`.
    """
    if orientation == 2:
        return array[:, ::-1]
    if orientation == 3:
        return array[::-1, ::-1]
    if orientation == 4:
        return array[::-1]
    if orientation == 5:
        return array.transpose(1, 0, 2)
    if orientation == 6:
        return array.transpose(1, 0, 2)[:, ::-1]
    if orientation == 7:
        return array[::-1, ::-1].transpose(1, 0, 2)
    if orientation == 8:
        return array.transpose(1, 0, 2)[::-1]
    return array


def _exif_orientation(im: Image.Image) -> int:
    """The EXIF (or XMP) orientation of ``im``, 1 if absent or unreadable."""
    try:
        value = im.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:  # broken EXIF must not make the pixels unreadable
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


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


# --------------------------------------------------------------------------- #
# Writing
# --------------------------------------------------------------------------- #


def _to_pil(image: torch.Tensor | np.ndarray) -> Image.Image:
    """uint8 (3,H,W)/(1,H,W)/(H,W) tensor or (H,W,3)/(H,W,1)/(H,W) array -> Pillow image."""
    if isinstance(image, torch.Tensor):
        if image.dtype != torch.uint8:
            raise ValueError(
                f"image tensor must be torch.uint8, got {image.dtype} of shape {tuple(image.shape)}"
            )
        if image.ndim == 3 and image.shape[0] in (1, 3):
            array = image.detach().cpu().permute(1, 2, 0).contiguous().numpy()
        elif image.ndim == 2:
            array = image.detach().cpu().contiguous().numpy()
        else:
            raise ValueError(
                f"image tensor must have shape (3, H, W), (1, H, W) or (H, W), "
                f"got {tuple(image.shape)}"
            )
    elif isinstance(image, np.ndarray):
        if image.dtype != np.uint8:
            raise ValueError(f"image array must be uint8, got {image.dtype} of shape {image.shape}")
        if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3))):
            raise ValueError(
                f"image array must have shape (H, W, 3), (H, W, 1) or (H, W), got {image.shape}"
            )
        array = np.ascontiguousarray(image)
    else:
        raise TypeError(f"image must be a torch.Tensor or numpy.ndarray, got {type(image)!r}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"image is empty: shape {tuple(image.shape)}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    return Image.fromarray(array, mode="RGB" if array.ndim == 3 else "L")


def _save_options(fmt: str, quality: int, subsampling: str) -> dict[str, Any]:
    if fmt == "JPEG":
        return {"quality": quality, "subsampling": subsampling}
    if fmt == "WEBP":
        if quality == 100:
            return {"lossless": True, "quality": 100, "method": 4}
        return {"quality": quality, "method": 4}
    if fmt == "PNG":
        return {"compress_level": 6}
    if fmt == "TIFF":
        return {"compression": "tiff_deflate"} if features.check("libtiff") else {}
    return {}


#: ICC colour-space signature (header bytes 16..19) that fits each written mode.
_ICC_SPACES: Final[dict[str, bytes]] = {"RGB": b"RGB ", "L": b"GRAY"}

#: Largest EXIF block a JPEG APP1 segment holds (65535 less the length field).
_JPEG_MAX_EXIF: Final[int] = 65533


def _exif_for(fmt: str, exif: bytes) -> bytes | Image.Exif | None:
    """The EXIF to save into a ``fmt`` file: Orientation 1; for TIFF only the
    descriptive IFD0 tags (camera, date of the file, artist, ...: the file's own
    directory holds the layout tags, and the Exif sub-directory with the date taken
    and the exposure cannot be written by Pillow's libtiff writer)."""
    if fmt == "TIFF":
        parsed = Image.Exif()
        parsed.load(exif)
        for tag in list(parsed):
            if tag not in _TIFF_EXIF_TAGS:
                del parsed[tag]
        if _ORIENTATION_TAG in parsed:
            parsed[_ORIENTATION_TAG] = 1
        return parsed if len(parsed) else None
    data = _exif_orientation_reset(exif)
    if data is None:
        parsed = Image.Exif()
        parsed.load(exif)
        data = _exif_via_pillow(parsed, descriptive_only=False)
    if data is not None and fmt == "JPEG" and len(data) > _JPEG_MAX_EXIF:
        log.warning("EXIF data of %d bytes does not fit in a JPEG file; left out", len(data))
        return None
    return data


def _metadata_options(fmt: str, mode: str, metadata: ImageMetadata) -> dict[str, Any]:
    """Pillow ``save`` options carrying ``metadata`` into a ``fmt`` file of ``mode``.

    Only what the format holds (:data:`METADATA_FORMATS`); an ICC profile only if its
    colour space fits the written pixels (an RGB profile for RGB, a grey one for grey:
    a grey scan's profile does not describe a colourised output); EXIF that cannot be
    parsed is left out with a warning.
    """
    allowed = METADATA_FORMATS.get(fmt, frozenset())
    options: dict[str, Any] = {}
    if metadata.exif and "exif" in allowed:
        try:
            with warnings.catch_warnings():
                _ignore_metadata_warnings()
                exif = _exif_for(fmt, metadata.exif)
        except Exception as exc:
            log.warning("unreadable EXIF data left out: %s", exc)
            exif = None
        if exif is not None:
            options["exif"] = exif
    icc = metadata.icc_profile
    if icc and "icc_profile" in allowed:
        if len(icc) >= 128 and icc[16:20] == _ICC_SPACES.get(mode):
            options["icc_profile"] = icc
        else:
            log.debug("ICC profile for colour space %r left out of a %s image", icc[16:20], mode)
    if metadata.dpi and "dpi" in allowed:
        options["dpi"] = tuple(float(v) for v in metadata.dpi)
    return options


def _open_temp(directory: Path, name: str) -> tuple[Path, int]:
    """Create an exclusive, hidden temp file next to the target (honours the umask)."""
    for _ in range(100):
        temp = directory / f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            fd = os.open(temp, flags, 0o666)
        except FileExistsError:
            continue
        return temp, fd
    raise FileExistsError(f"could not create a temporary file in {directory}")


def write_image(
    path: str | os.PathLike[str],
    image: torch.Tensor | np.ndarray,
    *,
    quality: int = 95,
    subsampling: str = "4:2:0",
    metadata: ImageMetadata | None = None,
    strip_metadata: bool = False,
) -> Path:
    """Write an 8-bit image file atomically, with the metadata of its source if given.

    Args:
        path: destination; the format comes from its suffix (case-insensitive):
            ``.png``, ``.jpg``/``.jpeg``, ``.webp``, ``.tif``/``.tiff``, ``.bmp``.
            Missing parent directories are created.
        image: ``torch.uint8`` tensor ``(3, H, W)`` RGB or ``(1, H, W)``/``(H, W)``
            grey (any device), or ``np.uint8`` array ``(H, W, 3)`` RGB or
            ``(H, W, 1)``/``(H, W)`` grey; values ``[0, 255]``.
        quality: 1..100, for JPEG and WebP (lossy below 100, **lossless** at
            100).  Ignored by PNG, TIFF and BMP.
        subsampling: chroma subsampling of JPEG files, one of
            :data:`JPEG_SUBSAMPLINGS`.  The default ``"4:2:0"`` (chroma at half
            the width and height) is also Pillow's and libjpeg's default; it
            encodes about 1.6x faster than ``"4:4:4"`` and the files are 15-20 %
            smaller.  A colouriser's chroma is predicted at a quarter of the
            resolution and upsampled, so little is lost: on the pipeline's outputs
            4:2:0 adds 0.1-0.3 to the mean CIEDE2000 error of quality 90-95
            (docs/benchmarks.md).  Ignored by other formats.
        metadata: what to keep from the source file (:func:`read_image_with_metadata`):
            its EXIF block (date, camera, ...; Orientation always written as 1, since
            the pixels given are upright), its ICC profile and its DPI, each into the
            formats that hold it (:data:`METADATA_FORMATS`: JPEG and PNG all three,
            TIFF all three but only the main EXIF directory -- camera, file date,
            artist, copyright; not the Exif sub-directory with the date taken and the
            exposure --, WebP EXIF and ICC, BMP DPI).  An ICC profile is kept only
            if it fits the pixels written (an RGB profile for RGB, a grey one for
            grey).  ``None``: no metadata, as a
            freshly encoded file.
        strip_metadata: write no metadata even if ``metadata`` is given (the CLI's
            ``--strip-metadata``).

    Returns:
        ``Path(path)``.

    The image is encoded into a hidden temporary file in the destination
    directory which then replaces ``path`` (``os.replace``), so readers never see
    a partial file; if encoding fails the temporary file is removed and an
    existing file at ``path`` is left untouched.

    Raises:
        ValueError: unknown suffix, wrong dtype or shape, quality out of range or
            unknown subsampling.
        TypeError: ``image`` is neither a tensor nor an array.
        OSError: the file cannot be written.
    """
    target = Path(path)
    fmt = WRITE_FORMATS.get(target.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(WRITE_FORMATS))
        raise ValueError(
            f"cannot write {target}: unknown image file extension {target.suffix!r} "
            f"(known: {known})"
        )
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
        raise ValueError(f"quality must be an integer in 1..100, got {quality!r}")
    if subsampling not in JPEG_SUBSAMPLINGS:
        raise ValueError(
            f"subsampling must be one of {', '.join(JPEG_SUBSAMPLINGS)}, got {subsampling!r}"
        )
    pil_image = _to_pil(image)
    options = _save_options(fmt, quality, subsampling)
    if metadata is not None and not strip_metadata:
        options.update(_metadata_options(fmt, pil_image.mode, metadata))

    target.parent.mkdir(parents=True, exist_ok=True)
    temp, fd = _open_temp(target.parent, target.name)
    try:
        with os.fdopen(fd, "wb") as f:
            pil_image.save(f, format=fmt, **options)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return target
