"""Image metadata: EXIF (orientation reset), ICC profile and DPI, read and written.

Reading: :func:`_metadata_of` takes the EXIF block (Orientation tag set to 1, the rest
byte for byte), the ICC profile and the DPI the file records from an opened Pillow
image; broken metadata is left out and never makes the pixels unreadable.  Writing:
:func:`_metadata_options` turns an :class:`ImageMetadata` into Pillow ``save`` options
for the formats that hold it (:data:`METADATA_FORMATS`).
"""

from __future__ import annotations

import logging
import math
import struct
import warnings
from dataclasses import dataclass
from typing import Any, Final

from PIL import Image

__all__ = ["METADATA_FORMATS", "ImageMetadata"]

log = logging.getLogger(__name__)

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


def _exif_orientation(im: Image.Image) -> int:
    """The EXIF (or XMP) orientation of ``im``, 1 if absent or unreadable."""
    try:
        value = im.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:  # broken EXIF must not make the pixels unreadable
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


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
