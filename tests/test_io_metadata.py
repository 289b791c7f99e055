"""Image metadata kept from input to output: EXIF (Orientation reset to 1), ICC, DPI."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from tinct.io import (
    ImageMetadata,
    read_image_numpy,
    read_image_with_metadata,
    write_image,
)

MODEL_TAG, ORIENTATION_TAG, EXIF_IFD, DATE_TAKEN_TAG = 0x0110, 0x0112, 0x8769, 0x9003
CAMERA = "TinctCam 9000"
DATE = "2019:07:14 16:20:05"


_SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _srgb_icc() -> bytes:
    """One sRGB profile for the whole module (the bytes hold their creation time)."""
    return _SRGB_ICC


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Tinct Optics"
    exif[MODEL_TAG] = CAMERA
    exif[ORIENTATION_TAG] = orientation
    exif.get_ifd(EXIF_IFD)[DATE_TAKEN_TAG] = DATE
    return exif.tobytes()


def _photo(h: int = 24, w: int = 40) -> np.ndarray:
    """A smooth image with a bright corner, so orientation mistakes show."""
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([x * 255 // (w - 1), y * 255 // (h - 1), np.full_like(x, 90)], -1)
    rgb[:4, :6] = 255
    return rgb.astype(np.uint8)


def _source(path: Path, orientation: int = 6) -> Path:
    """A JPEG or PNG (by suffix) with EXIF date + camera + orientation, sRGB ICC, 300 dpi."""
    fmt = {".jpg": "JPEG", ".png": "PNG"}[path.suffix]
    options = {"quality": 95} if fmt == "JPEG" else {}
    Image.fromarray(_photo()).save(
        path, fmt, exif=_exif(orientation), icc_profile=_srgb_icc(), dpi=(300, 300), **options
    )
    return path


def _file_metadata(path: Path) -> tuple[Image.Exif, bytes | None, tuple[float, float] | None]:
    """EXIF, ICC profile and DPI of a file, read with Pillow alone."""
    with Image.open(path) as im:
        im.load()
        dpi = im.info.get("dpi")
        return im.getexif(), im.info.get("icc_profile"), (None if dpi is None else tuple(dpi))


@pytest.mark.parametrize("source_suffix", [".jpg", ".png"])
@pytest.mark.parametrize("out_suffix", [".jpg", ".png"])
def test_round_trip_keeps_date_camera_icc_and_dpi(
    tmp_path: Path, source_suffix: str, out_suffix: str
) -> None:
    src = _source(tmp_path / f"in{source_suffix}", orientation=6)
    rgb, meta = read_image_with_metadata(src)
    with Image.open(src) as im:
        upright = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    np.testing.assert_array_equal(rgb, upright)  # the pixels are turned (6: 90° clockwise)
    assert rgb.shape == (40, 24, 3)
    np.testing.assert_array_equal(rgb, read_image_numpy(src))

    out = write_image(tmp_path / f"out{out_suffix}", rgb, metadata=meta)
    exif, icc, dpi = _file_metadata(out)
    assert exif.get(MODEL_TAG) == CAMERA
    assert exif.get_ifd(EXIF_IFD).get(DATE_TAKEN_TAG) == DATE
    assert exif.get(ORIENTATION_TAG) == 1  # the pixels are already upright
    assert icc == _srgb_icc()
    assert dpi == pytest.approx((300, 300), abs=0.01)
    again, meta_again = read_image_with_metadata(out)
    assert again.shape == rgb.shape  # not turned a second time
    assert meta_again.icc_profile == meta.icc_profile
    assert meta_again.dpi == pytest.approx(meta.dpi)


def test_read_metadata_fields(tmp_path: Path) -> None:
    src = _source(tmp_path / "in.jpg", orientation=6)
    _, meta = read_image_with_metadata(src)
    assert meta
    assert meta.icc_profile == _srgb_icc()
    assert meta.dpi == (300.0, 300.0)
    assert meta.exif is not None and meta.exif.startswith(b"Exif\x00\x00")
    exif = Image.Exif()
    exif.load(meta.exif)
    assert exif[ORIENTATION_TAG] == 1
    assert exif[MODEL_TAG] == CAMERA
    # Orientation is patched in place: every other byte of the block is the file's.
    with Image.open(src) as im:
        raw = im.info["exif"]
    assert len(raw) == len(meta.exif)
    differing = [i for i, (a, b) in enumerate(zip(raw, meta.exif, strict=True)) if a != b]
    assert len(differing) == 1


def test_plain_files_have_no_metadata(tmp_path: Path) -> None:
    Image.fromarray(_photo()).save(tmp_path / "plain.png")
    Image.fromarray(_photo()).save(tmp_path / "plain.jpg")
    for name in ("plain.png", "plain.jpg"):
        _, meta = read_image_with_metadata(tmp_path / name)
        assert meta == ImageMetadata()
        assert not meta


def test_no_invented_dpi(tmp_path: Path) -> None:
    """Pillow reports 72 dpi for a JPEG with EXIF but no resolution, 1 dpi for a TIFF
    without one: neither is in the file, neither is carried."""
    Image.fromarray(_photo()).save(tmp_path / "e.jpg", exif=_exif(1))
    Image.fromarray(_photo()).save(tmp_path / "t.tif")
    with Image.open(tmp_path / "e.jpg") as im:
        assert im.info.get("dpi") == (72, 72)
    assert read_image_with_metadata(tmp_path / "e.jpg")[1].dpi is None
    assert read_image_with_metadata(tmp_path / "t.tif")[1].dpi is None


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif", ".bmp"])
def test_strip_and_none_write_no_metadata(tmp_path: Path, suffix: str) -> None:
    rgb, meta = read_image_with_metadata(_source(tmp_path / "in.jpg"))
    for i, kwargs in enumerate([{"metadata": meta, "strip_metadata": True}, {}]):
        out = write_image(tmp_path / f"out{i}{suffix}", rgb, **kwargs)  # type: ignore[arg-type]
        exif, icc, _ = _file_metadata(out)
        assert MODEL_TAG not in exif and EXIF_IFD not in exif
        assert not icc
        if suffix in (".jpg", ".png", ".tif"):
            assert read_image_with_metadata(out)[1].dpi is None
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "in.jpg",
        f"out0{suffix}",
        f"out1{suffix}",
    ]


def test_webp_and_tiff_keep_what_they_hold(tmp_path: Path) -> None:
    rgb, meta = read_image_with_metadata(_source(tmp_path / "in.png"))
    webp = write_image(tmp_path / "o.webp", rgb, metadata=meta, quality=100)
    exif, icc, _ = _file_metadata(webp)
    assert exif.get(MODEL_TAG) == CAMERA
    assert exif.get_ifd(EXIF_IFD).get(DATE_TAKEN_TAG) == DATE
    assert exif.get(ORIENTATION_TAG) == 1
    assert icc == _srgb_icc()
    tif = write_image(tmp_path / "o.tif", rgb, metadata=meta)
    exif, icc, dpi = _file_metadata(tif)
    assert exif.get(MODEL_TAG) == CAMERA  # TIFF: the main directory only
    assert icc == _srgb_icc()
    assert dpi == pytest.approx((300, 300), abs=0.01)
    np.testing.assert_array_equal(read_image_numpy(tif), rgb)
    bmp = write_image(tmp_path / "o.bmp", rgb, metadata=meta)
    assert read_image_with_metadata(bmp)[1].dpi == pytest.approx((300, 300), abs=0.01)
    # and back: a TIFF's EXIF reaches a JPEG
    _, meta_tif = read_image_with_metadata(tif)
    jpg = write_image(tmp_path / "o.jpg", rgb, metadata=meta_tif)
    assert _file_metadata(jpg)[0].get(MODEL_TAG) == CAMERA


def test_icc_profile_kept_only_where_it_fits(tmp_path: Path) -> None:
    """A grey scan's profile does not describe colourised RGB pixels, and an RGB
    profile does not describe grey ones."""
    srgb = _srgb_icc()
    grey = srgb[:16] + b"GRAY" + srgb[20:]
    rgb = _photo()
    out = write_image(tmp_path / "a.png", rgb, metadata=ImageMetadata(icc_profile=grey))
    assert not _file_metadata(out)[1]
    out = write_image(tmp_path / "b.png", rgb[..., 0], metadata=ImageMetadata(icc_profile=grey))
    assert _file_metadata(out)[1] == grey
    out = write_image(tmp_path / "c.png", rgb[..., 0], metadata=ImageMetadata(icc_profile=srgb))
    assert not _file_metadata(out)[1]


def test_written_orientation_is_always_1(tmp_path: Path) -> None:
    """Metadata built by hand with a turned orientation is still written upright."""
    rgb = _photo()
    out = write_image(tmp_path / "o.jpg", rgb, metadata=ImageMetadata(exif=_exif(8)))
    assert _file_metadata(out)[0][ORIENTATION_TAG] == 1
    assert read_image_numpy(out).shape == rgb.shape


def test_broken_exif_never_breaks_reading_or_writing(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(_photo()).save(buf, "JPEG", exif=b"Exif\x00\x00MM\x00*garbage")
    (tmp_path / "b.jpg").write_bytes(buf.getvalue())
    rgb, meta = read_image_with_metadata(tmp_path / "b.jpg")
    assert rgb.shape == (24, 40, 3)
    write_image(tmp_path / "o.jpg", rgb, metadata=meta)
    junk = ImageMetadata(exif=b"not exif at all")
    write_image(tmp_path / "o2.png", rgb, metadata=junk)
    assert read_image_numpy(tmp_path / "o2.png").shape == rgb.shape
