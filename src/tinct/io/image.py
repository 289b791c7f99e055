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
* animated files (GIF, APNG, WebP) give their first frame.

Every failure to read a file raises :class:`ImageReadError`, which names the
file and the reason.  Truncated files are detected (the whole image is decoded
inside :func:`read_image`, and Pillow's ``LOAD_TRUNCATED_IMAGES`` is never
turned on), and images larger than ``max_pixels`` are refused from their header,
before any pixel memory is allocated.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError, features

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "JPEG_SUBSAMPLINGS",
    "WRITE_FORMATS",
    "ImageReadError",
    "read_image",
    "read_image_numpy",
    "write_image",
]

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

_ORIENTATION_TAG: Final[int] = 0x0112  # EXIF Orientation


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
        with Image.open(path) as im:
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
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ImageReadError(path, "no such file") from None
    except OSError as exc:
        raise ImageReadError(path, exc.strerror or str(exc)) from exc
    if stat.S_ISDIR(st.st_mode):
        raise ImageReadError(path, "it is a directory, not a file")
    if st.st_size == 0 and stat.S_ISREG(st.st_mode):
        raise ImageReadError(path, "empty file (0 bytes)")


def _decode(path: str | os.PathLike[str], max_pixels: int | None) -> np.ndarray:
    """Open, size-check, fully decode and convert; may raise DecompressionBombError."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(path) as im:
            width, height = im.size
            if max_pixels is not None and width * height > max_pixels:
                raise ImageReadError(
                    path,
                    f"image is {width}x{height} = {_megapixels(width * height)}, over the "
                    f"limit of {_megapixels(max_pixels)} (a decompression bomb?); "
                    "pass max_pixels=None to allow it",
                )
            tiles = list(im.tile)
            la16 = bool(tiles) and all(_tile_rawmode(t) == "LA;16B" for t in tiles)
            if la16:  # no Pillow unpacker keeps 16 bits of LA: take the raw bytes
                im.tile = [_with_rawmode(t, "RGBA") for t in tiles]
            im.load()  # the full decode: truncation and corruption surface here
            orientation = _exif_orientation(im)
            array = _to_rgb_array(im, path, tiles, la16)
    return _orient(array, orientation)


def _read_array(path: str | os.PathLike[str], max_pixels: int | None) -> np.ndarray:
    """(H, W, 3) uint8, possibly a non-contiguous read-only view."""
    if max_pixels is not None and (isinstance(max_pixels, bool) or max_pixels < 1):
        raise ValueError(f"max_pixels must be a positive integer or None, got {max_pixels!r}")
    _check_file(path)
    try:
        try:
            return _decode(path, max_pixels)
        except Image.DecompressionBombError:
            # Over Pillow's hard limit (~179 MP) but maybe not over ours: look again
            # with Pillow's check off; ours (from the header) still applies.
            with _pillow_pixel_limit_lifted():
                return _decode(path, max_pixels)
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
        ImageReadError: missing file, directory, empty file, not an image,
            corrupt or truncated data, or more than ``max_pixels`` pixels.
        ValueError: ``max_pixels`` is not a positive integer or None.
    """
    array = _read_array(path, max_pixels)
    if not (array.flags.c_contiguous and array.flags.writeable):
        array = np.array(array, order="C")
    return array


def read_image(
    path: str | os.PathLike[str], *, max_pixels: int | None = DEFAULT_MAX_PIXELS
) -> torch.Tensor:
    """Read an image file as an upright 8-bit RGB tensor.

    Same decoding rules and errors as :func:`read_image_numpy`.

    Returns:
        A contiguous CPU ``torch.uint8`` tensor of shape ``(3, H, W)``, values in
        ``[0, 255]``, channels R, G, B.
    """
    array = _read_array(path, max_pixels)
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
) -> Path:
    """Write an 8-bit image file atomically.

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
