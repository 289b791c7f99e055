"""Writing image files: write_image, per-format save options, atomic temporary files."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Any, Final

import numpy as np
import torch
from PIL import Image, features

from tinct.io.metadata import ImageMetadata, _metadata_options

__all__ = ["JPEG_SUBSAMPLINGS", "WRITE_FORMATS", "write_image", "write_palette_png"]

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


def write_palette_png(
    path: str | os.PathLike[str], indices: np.ndarray, palette: np.ndarray
) -> Path:
    """Write an index image as a palette (``"P"`` mode) PNG, atomically (as :func:`write_image`).

    The pixel *values* are ``indices`` (``(H, W)`` uint8), the palette only colours them
    for viewing: Pascal VOC's segmentation masks (class index per pixel, 255 = void).

    Args:
        path: destination ``.png``; missing parent directories are created.
        indices: ``(H, W)`` ``np.uint8`` array.
        palette: ``(N, 3)`` ``np.uint8`` RGB colours of indices ``0..N-1`` (N <= 256).
    """
    target = Path(path)
    if target.suffix.lower() != ".png":
        raise ValueError(f"cannot write {target}: a palette image must be a .png file")
    if not isinstance(indices, np.ndarray) or indices.dtype != np.uint8 or indices.ndim != 2:
        shape = getattr(indices, "shape", None)
        raise ValueError(f"indices must be an (H, W) uint8 array, got {type(indices)} {shape}")
    if (
        palette.dtype != np.uint8
        or palette.ndim != 2
        or palette.shape[1] != 3
        or len(palette) > 256
    ):
        raise ValueError(f"palette must be an (N <= 256, 3) uint8 array, got {palette.shape}")
    pil_image = Image.frombytes("P", (indices.shape[1], indices.shape[0]), indices.tobytes())
    pil_image.putpalette(palette.reshape(-1).tobytes())
    target.parent.mkdir(parents=True, exist_ok=True)
    temp, fd = _open_temp(target.parent, target.name)
    try:
        with os.fdopen(fd, "wb") as f:
            pil_image.save(f, format="PNG", optimize=True)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return target
