"""Tests for tinct.io: reading every format/mode, bad files, writing, file discovery."""

from __future__ import annotations

import io
import os
import pickle
import re
import struct
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from tinct.io import (
    DEFAULT_MAX_PIXELS,
    IMAGE_EXTENSIONS,
    ImageReadError,
    iter_image_files,
    read_image,
    read_image_numpy,
    write_image,
)

# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #


def _rgb(h: int = 6, w: int = 5, seed: int = 0) -> np.ndarray:
    """(h, w, 3) uint8 with varied values."""
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _round_div(values: np.ndarray, divisor: int) -> np.ndarray:
    """round(v / divisor) as uint8 (no ties occur for divisors 255 and 257)."""
    return np.rint(values.astype(np.float64) / divisor).astype(np.uint8)


def _on_white(colour: np.ndarray, alpha: np.ndarray, maxval: int) -> np.ndarray:
    """Reference compositing on white, in floating point: round(255 * (c a + M (M - a)) / M^2)."""
    c = colour.astype(np.float64)
    a = alpha.astype(np.float64)[..., None]
    return np.rint(255.0 * (c * a + maxval * (maxval - a)) / maxval**2).astype(np.uint8)


def _check(out: np.ndarray, expected: np.ndarray) -> None:
    assert out.dtype == np.uint8
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out, expected)


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(tag + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


def _png16(arr: np.ndarray) -> bytes:
    """Encode (H, W, C) uint16, C in 1..4, as a 16-bit PNG (Pillow cannot write these).

    Rows cycle through all five PNG filter types so that decoding exercises them.
    """
    h, w, c = arr.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    raw = (
        np.ascontiguousarray(arr, dtype=">u2").view(np.uint8).reshape(h, w * c * 2).astype(np.int32)
    )
    bpp = 2 * c
    rows, prev = [], np.zeros(w * c * 2, np.int32)
    for y in range(h):
        x = raw[y]
        left = np.concatenate([np.zeros(bpp, np.int32), x[:-bpp]])
        up_left = np.concatenate([np.zeros(bpp, np.int32), prev[:-bpp]])
        p = left + prev - up_left
        pa, pb, pc = np.abs(p - left), np.abs(p - prev), np.abs(p - up_left)
        paeth = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, up_left))
        kind = y % 5
        pred = [np.zeros_like(x), left, prev, (left + prev) // 2, paeth][kind]
        rows.append(bytes([kind]) + ((x - pred) % 256).astype(np.uint8).tobytes())
        prev = x
    ihdr = struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + _png_chunk(b"IEND", b"")
    )


def _png_claiming_size(width: int, height: int) -> bytes:
    """A small valid greyscale PNG whose IHDR is patched (CRC fixed) to claim width x height."""
    buf = io.BytesIO()
    Image.new("L", (8, 8), 7).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


def _encoded(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


_U16_PROBES = np.array([0, 1, 128, 129, 257, 385, 386, 32767, 32896, 65407, 65408, 65535])


# --------------------------------------------------------------------------- #
# reading: formats and modes
# --------------------------------------------------------------------------- #


def test_read_png_rgb_exact_and_layout(tmp_path: Path) -> None:
    a = _rgb(7, 4)
    Image.fromarray(a).save(tmp_path / "a.png")
    t = read_image(tmp_path / "a.png")
    assert t.shape == (3, 7, 4) and t.dtype == torch.uint8 and t.is_contiguous()
    _check(t.permute(1, 2, 0).numpy(), a)
    n = read_image_numpy(str(tmp_path / "a.png"))
    assert n.flags.c_contiguous and n.flags.writeable
    _check(n, a)


def test_read_jpeg(tmp_path: Path) -> None:
    y, x = np.mgrid[0:64, 0:48]
    a = np.stack([x * 5, y * 4, (x + y) * 2], -1).astype(np.uint8)
    Image.fromarray(a).save(tmp_path / "a.jpg", quality=95)
    t = read_image(tmp_path / "a.jpg")
    assert t.shape == (3, 64, 48)
    assert np.abs(t.permute(1, 2, 0).numpy().astype(int) - a).mean() < 3


@pytest.mark.parametrize("channels", [1, 3])
def test_read_png_16bit_scaled_with_rounding(tmp_path: Path, channels: int) -> None:
    v = np.resize(_U16_PROBES, (3, 4 * channels)).reshape(3, 4, channels).astype(np.uint16)
    (tmp_path / "a.png").write_bytes(_png16(v))
    expected = _round_div(v, 257)
    _check(read_image_numpy(tmp_path / "a.png"), np.broadcast_to(expected, (3, 4, 3)))


def test_read_png_16bit_rgb_random_all_filters(tmp_path: Path) -> None:
    v = np.random.default_rng(1).integers(0, 65536, (11, 13, 3), dtype=np.uint16)
    (tmp_path / "a.png").write_bytes(_png16(v))
    _check(read_image_numpy(tmp_path / "a.png"), _round_div(v, 257))


def test_read_png_16bit_grey_written_by_pillow(tmp_path: Path) -> None:
    v = np.resize(_U16_PROBES, (3, 4)).astype(np.uint16)
    Image.fromarray(v).save(tmp_path / "g.png")  # mode I;16
    _check(read_image_numpy(tmp_path / "g.png"), np.repeat(_round_div(v, 257)[..., None], 3, 2))


def test_read_png_16bit_alpha_composited(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    rgba = rng.integers(0, 65536, (5, 6, 4), dtype=np.uint16)
    rgba[0, :, 3] = 0
    rgba[1, :, 3] = 65535
    (tmp_path / "rgba.png").write_bytes(_png16(rgba))
    _check(read_image_numpy(tmp_path / "rgba.png"), _on_white(rgba[..., :3], rgba[..., 3], 65535))
    la = rgba[..., [0, 3]]
    (tmp_path / "la.png").write_bytes(_png16(la))
    grey = _on_white(la[..., :1], la[..., 1], 65535)
    _check(read_image_numpy(tmp_path / "la.png"), np.repeat(grey, 3, 2))


def test_read_webp_lossless_exact(tmp_path: Path) -> None:
    a = _rgb(9, 10)
    Image.fromarray(a).save(tmp_path / "a.webp", lossless=True)
    _check(read_image_numpy(tmp_path / "a.webp"), a)


def test_read_tiff_8bit_and_16bit_grey(tmp_path: Path) -> None:
    a = _rgb()
    Image.fromarray(a).save(tmp_path / "a.tif")
    _check(read_image_numpy(tmp_path / "a.tif"), a)
    v = np.resize(_U16_PROBES, (3, 4)).astype(np.uint16)
    Image.fromarray(v).save(tmp_path / "g.tiff")
    _check(read_image_numpy(tmp_path / "g.tiff"), np.repeat(_round_div(v, 257)[..., None], 3, 2))


@pytest.mark.parametrize("byteorder", ["<", ">"])
@pytest.mark.parametrize("compression", [None, "zlib"])
def test_read_tiff_16bit_rgb(tmp_path: Path, byteorder: str, compression: str | None) -> None:
    tifffile = pytest.importorskip("tifffile")
    v = np.random.default_rng(3).integers(0, 65536, (6, 7, 3), dtype=np.uint16)
    v[0, :4, 0] = _U16_PROBES[-4:]
    path = tmp_path / "rgb16.tif"
    tifffile.imwrite(path, v, photometric="rgb", byteorder=byteorder, compression=compression)
    _check(read_image_numpy(path), _round_div(v, 257))


def test_read_tiff_int32_and_float(tmp_path: Path) -> None:
    i = np.array([[0, 257, 65535, 70000, -5]], dtype=np.int32)
    Image.fromarray(i, mode="I").save(tmp_path / "i.tif")
    _check(read_image_numpy(tmp_path / "i.tif")[..., 0], np.array([[0, 1, 255, 255, 0]], np.uint8))
    f = np.array([[0.0, 0.5, 1.0, np.nan]], dtype=np.float32)
    Image.fromarray(f, mode="F").save(tmp_path / "f.tif")
    _check(read_image_numpy(tmp_path / "f.tif")[..., 0], np.array([[0, 128, 255, 0]], np.uint8))


def test_read_bmp_exact(tmp_path: Path) -> None:
    a = _rgb(5, 7)
    Image.fromarray(a).save(tmp_path / "a.bmp")
    _check(read_image_numpy(tmp_path / "a.bmp"), a)


def test_read_gif_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (6, 4), c) for c in ((255, 0, 0), (0, 0, 255), (0, 255, 0))]
    frames[0].paste((255, 255, 0), (0, 0, 3, 2))
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=50)
    with Image.open(tmp_path / "anim.gif") as im:
        assert getattr(im, "n_frames", 1) == 3
    expected = np.zeros((4, 6, 3), np.uint8)
    expected[...] = (255, 0, 0)
    expected[:2, :3] = (255, 255, 0)
    _check(read_image_numpy(tmp_path / "anim.gif"), expected)


def test_read_palette_with_transparency(tmp_path: Path) -> None:
    im = Image.new("P", (3, 2))
    im.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 759)
    im.putdata([0, 1, 2, 1, 1, 0])
    im.save(tmp_path / "key.png", transparency=1)  # index 1 fully transparent
    im.save(tmp_path / "key.gif", transparency=1)
    r, w, b = (255, 0, 0), (255, 255, 255), (0, 0, 255)
    expected = np.array([[r, w, b], [w, w, r]], np.uint8)
    _check(read_image_numpy(tmp_path / "key.png"), expected)
    _check(read_image_numpy(tmp_path / "key.gif"), expected)
    # a palette whose entries carry partial alpha (PNG tRNS with several values)
    im.save(tmp_path / "alpha.png", transparency=bytes([255, 0, 128]))
    blue_half = _on_white(np.array([[0, 0, 255]]), np.array([128]), 255)[0]
    expected[0, 2] = blue_half
    _check(read_image_numpy(tmp_path / "alpha.png"), expected)


def test_read_rgba_composited_on_white_exact(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    rgba = rng.integers(0, 256, (8, 9, 4), dtype=np.uint8)
    rgba[0, :, 3] = 0
    rgba[1, :, 3] = 255
    rgba[2, 0] = (10, 20, 30, 128)
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
    out = read_image_numpy(tmp_path / "a.png")
    _check(out, _on_white(rgba[..., :3], rgba[..., 3], 255))
    assert (out[0] == 255).all()  # fully transparent -> white
    _check(out[1], rgba[1, :, :3])  # opaque -> unchanged
    assert tuple(out[2, 0]) == (132, 137, 142)  # round(c*128/255 + 127)


def test_read_la_and_greyscale(tmp_path: Path) -> None:
    la = np.array([[[0, 0], [0, 255], [200, 128], [255, 10]]], np.uint8)
    Image.fromarray(la, mode="LA").save(tmp_path / "la.png")
    grey = _on_white(la[..., :1], la[..., 1], 255)
    _check(read_image_numpy(tmp_path / "la.png"), np.repeat(grey, 3, 2))
    g = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    Image.fromarray(g, mode="L").save(tmp_path / "l.png")
    t = read_image(tmp_path / "l.png")
    assert t.shape == (3, 3, 4)
    for c in range(3):
        _check(t[c].numpy(), g)
    Image.fromarray(g > 100).save(tmp_path / "bits.png")  # mode "1"
    _check(
        read_image_numpy(tmp_path / "bits.png")[..., 1], np.where(g > 100, 255, 0).astype(np.uint8)
    )


def test_read_cmyk(tmp_path: Path) -> None:
    cmyk = np.array([[[255, 0, 0, 0], [0, 255, 0, 0], [0, 0, 255, 0], [0, 0, 0, 255], [0] * 4]])
    im = Image.fromarray(cmyk.astype(np.uint8), mode="CMYK")
    im.save(tmp_path / "a.tif")
    expected = np.array([[[0, 255, 255], [255, 0, 255], [255, 255, 0], [0, 0, 0], [255] * 3]])
    _check(read_image_numpy(tmp_path / "a.tif"), expected.astype(np.uint8))
    Image.new("CMYK", (16, 8), (0, 255, 255, 0)).save(tmp_path / "a.jpg", quality=95)
    out = read_image_numpy(tmp_path / "a.jpg").astype(int)
    assert out.shape == (8, 16, 3) and np.abs(out - [255, 0, 0]).max() <= 3


def _marked(h: int = 2, w: int = 3) -> np.ndarray:
    """Grey (h, w, 3) image with a red top-left pixel and a blue top-right pixel."""
    a = np.full((h, w, 3), 128, np.uint8)
    a[0, 0] = (255, 0, 0)
    a[0, -1] = (0, 0, 255)
    return a


def _with_orientation(path: Path, array: np.ndarray, orientation: int, **options: Any) -> None:
    im = Image.fromarray(array)
    exif = im.getexif()
    exif[0x0112] = orientation
    im.save(path, exif=exif, **options)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path: Path, orientation: int) -> None:
    path = tmp_path / "o.png"
    _with_orientation(path, _rgb(3, 5), orientation)
    with Image.open(path) as im:
        reference = np.asarray(ImageOps.exif_transpose(im))
    _check(read_image_numpy(path), reference)
    assert read_image(path).shape == (3, *reference.shape[:2])


def test_exif_orientation_placement(tmp_path: Path) -> None:
    a = _marked()  # 2 rows x 3 columns, red top-left, blue top-right
    red, blue = [255, 0, 0], [0, 0, 255]
    for orientation, shape, red_at, blue_at in [
        (6, (3, 2), (0, 1), (2, 1)),  # rotate 90 deg clockwise
        (3, (2, 3), (1, 2), (1, 0)),  # rotate 180 deg
        (8, (3, 2), (2, 0), (0, 0)),  # rotate 90 deg counter-clockwise
    ]:
        path = tmp_path / f"o{orientation}.png"
        _with_orientation(path, a, orientation)
        out = read_image_numpy(path)
        assert out.shape == (*shape, 3)
        assert out[red_at].tolist() == red and out[blue_at].tolist() == blue
        t = read_image(path)
        assert t[:, red_at[0], red_at[1]].tolist() == red


def test_exif_orientation_jpeg(tmp_path: Path) -> None:
    a = np.full((16, 32, 3), 128, np.uint8)
    a[:8, :8] = (255, 0, 0)
    _with_orientation(tmp_path / "o.jpg", a, 6, quality=95)
    out = read_image_numpy(tmp_path / "o.jpg")
    assert out.shape == (32, 16, 3)
    assert np.abs(out[2, 13].astype(int) - [255, 0, 0]).max() < 20  # red block now top-right


def test_read_astronaut() -> None:
    skimage_data = pytest.importorskip("skimage.data")
    path = Path(skimage_data.__file__).parent / "astronaut.png"
    if not path.is_file():
        pytest.skip("scikit-image's astronaut.png is not installed")
    t = read_image(path)
    assert t.shape == (3, 512, 512) and t.dtype == torch.uint8


# --------------------------------------------------------------------------- #
# reading: bad files
# --------------------------------------------------------------------------- #


def _read_error(path: Path, **kwargs: object) -> ImageReadError:
    with pytest.raises(ImageReadError) as info:
        read_image(path, **kwargs)  # type: ignore[arg-type]
    err = info.value
    assert str(path) in str(err)
    assert err.path == path
    assert err.reason and err.reason in str(err)
    with pytest.raises(ImageReadError):
        read_image_numpy(path, **kwargs)  # type: ignore[arg-type]
    return err


def test_missing_file(tmp_path: Path) -> None:
    assert "no such file" in _read_error(tmp_path / "nope.png").reason


def test_directory(tmp_path: Path) -> None:
    (tmp_path / "d.png").mkdir()
    assert "directory" in _read_error(tmp_path / "d.png").reason


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e.jpg").write_bytes(b"")
    assert "empty" in _read_error(tmp_path / "e.jpg").reason


def test_text_file(tmp_path: Path) -> None:
    (tmp_path / "t.jpg").write_text("hello, this is not a JPEG\n")
    assert "not an image" in _read_error(tmp_path / "t.jpg").reason


def test_corrupt_data(tmp_path: Path) -> None:
    data = bytearray(_encoded(Image.fromarray(_rgb(32, 32)), "PNG"))
    idat = data.index(b"IDAT")
    data[idat + 10 : idat + 60] = bytes(50)  # garble the compressed stream
    (tmp_path / "c.png").write_bytes(bytes(data))
    _read_error(tmp_path / "c.png")
    jpeg = bytearray(_encoded(Image.fromarray(_rgb(32, 32)), "JPEG"))
    (tmp_path / "c.jpg").write_bytes(bytes(jpeg[:2]) + os.urandom(300))
    _read_error(tmp_path / "c.jpg")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated(tmp_path: Path, fmt: str) -> None:
    data = _encoded(Image.fromarray(_rgb(64, 64, seed=5)), fmt)
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(data[: len(data) // 2])
    assert "truncated" in _read_error(path).reason


def test_decompression_bomb_refused_from_header(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_claiming_size(30000, 20000))
    limit = Image.MAX_IMAGE_PIXELS
    err = _read_error(path)
    assert "30000x20000 = 600 MP" in err.reason
    assert "250 MP" in err.reason and "max_pixels=None" in err.reason
    assert limit == Image.MAX_IMAGE_PIXELS  # Pillow's global restored


def test_max_pixels_argument(tmp_path: Path) -> None:
    Image.fromarray(_rgb(10, 20)).save(tmp_path / "a.png")
    assert "10 pixels" in _read_error(tmp_path / "a.png", max_pixels=10).reason
    assert read_image(tmp_path / "a.png", max_pixels=None).shape == (3, 10, 20)
    assert read_image(tmp_path / "a.png", max_pixels=200).shape == (3, 10, 20)
    with pytest.raises(ValueError, match="max_pixels"):
        read_image(tmp_path / "a.png", max_pixels=0)


@pytest.mark.parametrize("size", [(12000, 8000), (20000, 10000)])
def test_large_images_under_our_limit_not_treated_as_bombs(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    """96 MP (over Pillow's warning limit) and 200 MP (over Pillow's error limit) pass
    our size check without any warning; these headers lie, so decoding then fails."""
    assert size[0] * size[1] <= DEFAULT_MAX_PIXELS
    path = tmp_path / "big.png"
    path.write_bytes(_png_claiming_size(*size))
    limit = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        err = _read_error(path)
    assert "MP" not in err.reason and "truncated" in err.reason
    assert limit == Image.MAX_IMAGE_PIXELS


def test_error_pickles(tmp_path: Path) -> None:
    err = ImageReadError(tmp_path / "x.png", "some reason")
    back = pickle.loads(pickle.dumps(err))
    assert isinstance(back, ImageReadError)
    assert back.path == err.path and back.reason == err.reason and str(back) == str(err)


# --------------------------------------------------------------------------- #
# writing
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("suffix", [".png", ".PNG", ".tif", ".bmp"])
def test_write_lossless_round_trip(tmp_path: Path, suffix: str) -> None:
    a = _rgb(7, 9)
    t = torch.from_numpy(a).permute(2, 0, 1)  # non-contiguous (3, H, W)
    out = write_image(tmp_path / f"t{suffix}", t)
    assert out == tmp_path / f"t{suffix}"
    _check(read_image_numpy(out), a)
    _check(read_image_numpy(write_image(tmp_path / f"n{suffix}", a)), a)


def test_write_webp_lossless(tmp_path: Path) -> None:
    a = _rgb(8, 8)
    _check(read_image_numpy(write_image(tmp_path / "a.webp", a, quality=100)), a)
    lossy = read_image_numpy(write_image(tmp_path / "b.webp", a, quality=80))
    assert lossy.shape == a.shape


def test_write_jpeg_approximately(tmp_path: Path) -> None:
    y, x = np.mgrid[0:32, 0:40]
    a = np.stack([x * 6, y * 7, 255 - x * 6], -1).astype(np.uint8)
    for suffix in (".jpg", ".jpeg"):
        out = read_image_numpy(
            write_image(tmp_path / f"a{suffix}", torch.from_numpy(a).permute(2, 0, 1))
        )
        assert np.abs(out.astype(int) - a).mean() < 2


def test_write_jpeg_chroma_subsampling(tmp_path: Path) -> None:
    from PIL import JpegImagePlugin

    a = _rgb(48, 64)
    # Pillow's codes: 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0 (the default, as libjpeg's).
    expected = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}
    for subsampling, code in expected.items():
        path = write_image(tmp_path / f"{code}.jpg", a, quality=90, subsampling=subsampling)
        with Image.open(path) as im:
            assert JpegImagePlugin.get_sampling(im) == code
    with Image.open(write_image(tmp_path / "default.jpg", a)) as im:
        assert JpegImagePlugin.get_sampling(im) == 2
    # 4:4:4 keeps sharp chroma edges that 4:2:0 blurs.
    stripes = np.zeros((32, 32, 3), np.uint8)
    stripes[:, ::2] = (255, 0, 0)
    stripes[:, 1::2] = (0, 0, 255)
    errors = {}
    for subsampling in ("4:4:4", "4:2:0"):
        path = write_image(tmp_path / "s.jpg", stripes, quality=95, subsampling=subsampling)
        errors[subsampling] = np.abs(read_image_numpy(path).astype(int) - stripes).mean()
    assert errors["4:4:4"] < 10 < errors["4:2:0"]
    # Other formats ignore it; unknown values are refused.
    _check(read_image_numpy(write_image(tmp_path / "a.png", a, subsampling="4:4:4")), a)
    with pytest.raises(ValueError, match="subsampling"):
        write_image(tmp_path / "b.jpg", a, subsampling="4:1:1")


def test_write_grey(tmp_path: Path) -> None:
    g = np.arange(30, dtype=np.uint8).reshape(5, 6) * 8
    images: list[torch.Tensor | np.ndarray] = [torch.from_numpy(g)[None], torch.from_numpy(g), g]
    for i, image in enumerate([*images, g[..., None]]):
        path = write_image(tmp_path / f"g{i}.png", image)
        with Image.open(path) as im:
            assert im.mode == "L"
        _check(read_image_numpy(path), np.repeat(g[..., None], 3, 2))


def test_write_creates_parents_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "c.png"
    write_image(path, _rgb())
    write_image(path, _rgb(seed=1))  # overwrite
    assert sorted(p.name for p in path.parent.iterdir()) == ["c.png"]
    _check(read_image_numpy(path), _rgb(seed=1))
    reference = tmp_path / "ref"
    reference.write_bytes(b"")
    assert path.stat().st_mode & 0o777 == reference.stat().st_mode & 0o777  # umask honoured


def test_write_failure_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    existing = tmp_path / "keep.png"
    write_image(existing, _rgb())
    before = existing.read_bytes()

    def broken_save(self: Image.Image, fp: object, *args: object, **kwargs: object) -> None:
        if hasattr(fp, "write"):
            fp.write(b"partial data")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="simulated"):
        write_image(existing, _rgb(seed=2))
    with pytest.raises(OSError, match="simulated"):
        write_image(tmp_path / "new.png", _rgb())
    assert existing.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.png"]


def test_write_bad_arguments(tmp_path: Path) -> None:
    a = _rgb()
    with pytest.raises(ValueError, match=r"\.gifx"):
        write_image(tmp_path / "a.gifx", a)
    with pytest.raises(ValueError, match="''"):
        write_image(tmp_path / "noext", a)
    with pytest.raises(ValueError, match="float32"):
        write_image(tmp_path / "a.png", torch.zeros(3, 4, 4))
    with pytest.raises(ValueError, match=r"\(4, 4, 4\)"):
        write_image(tmp_path / "a.png", torch.zeros(4, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\(2, 3, 4, 5\)"):
        write_image(tmp_path / "a.png", torch.zeros(2, 3, 4, 5, dtype=torch.uint8))
    with pytest.raises(ValueError, match="uint16"):
        write_image(tmp_path / "a.png", a.astype(np.uint16))
    with pytest.raises(ValueError, match=r"\(6, 5, 4\)"):
        write_image(tmp_path / "a.png", np.zeros((6, 5, 4), np.uint8))
    with pytest.raises(ValueError, match="quality"):
        write_image(tmp_path / "a.jpg", a, quality=0)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- #
# finding files
# --------------------------------------------------------------------------- #


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """root/{b.png, a.JPG, notes.txt, .hidden.png, sub/{c.webp, d.txt, deep/e.tif}, .cache/f.png}"""
    for rel in ["b.png", "a.JPG", "notes.txt", ".hidden.png", "sub/c.webp", "sub/d.txt"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    for rel in ["sub/deep/e.tif", ".cache/f.png"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    (tmp_path / "empty").mkdir()
    return tmp_path


def test_image_extensions() -> None:
    assert {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"} <= IMAGE_EXTENSIONS
    assert all(e == e.lower() and e.startswith(".") for e in IMAGE_EXTENSIONS)


def test_iter_folder(tree: Path) -> None:
    names = [p.relative_to(tree).as_posix() for p in iter_image_files([tree])]
    assert names == ["a.JPG", "b.png", "sub/c.webp", "sub/deep/e.tif"]
    flat = [p.name for p in iter_image_files([str(tree)], recursive=False)]
    assert flat == ["a.JPG", "b.png"]


def test_iter_globs(tree: Path) -> None:
    assert [p.name for p in iter_image_files([f"{tree}/*.png"])] == ["b.png"]
    assert [p.name for p in iter_image_files([f"{tree}/**/*.tif"])] == ["e.tif"]
    assert [p.name for p in iter_image_files([f"{tree}/?.*"])] == ["a.JPG", "b.png"]
    assert [p.name for p in iter_image_files([f"{tree}/[b]*"])] == ["b.png"]
    assert [p.name for p in iter_image_files([f"{tree}/s*"])] == ["c.webp", "e.tif"]
    # folders matched by a pattern are expanded like folder inputs
    flat = iter_image_files([f"{tree}/*"], recursive=False)
    assert [p.name for p in flat] == ["a.JPG", "b.png", "c.webp"]


def test_iter_explicit_files_dedup_and_order(tree: Path) -> None:
    out = iter_image_files([tree / "sub" / "c.webp", tree / "notes.txt", tree, f"{tree}/*.png"])
    names = [p.relative_to(tree).as_posix() for p in out]
    assert names == ["sub/c.webp", "notes.txt", "a.JPG", "b.png", "sub/deep/e.tif"]
    assert iter_image_files(str(tree / "b.png")) == [tree / "b.png"]  # a single input
    assert iter_image_files([]) == []


def test_iter_missing(tree: Path) -> None:
    bads: list[str | Path] = [
        tree / "nope.png",
        f"{tree}/*.gif",
        f"{tree}/x/**/*.png",
        tree / "empty",
    ]
    for bad in bads:
        with pytest.raises(FileNotFoundError, match=re.escape(str(bad))):
            iter_image_files([tree / "b.png", bad])
