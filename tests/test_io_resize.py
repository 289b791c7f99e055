"""tinct.io.resize: the one home of 8-bit resizing and centre crops."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from tinct.io.resize import FILTERS, centre_crop, resize, resize_short_side, short_side_size


def _photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_filters_are_the_named_opencv_and_pillow_ones() -> None:
    rgb = _photo(40, 60)
    pil = Image.fromarray(rgb)
    assert np.array_equal(
        resize(rgb, 20, 30), cv2.resize(rgb, (30, 20), interpolation=cv2.INTER_AREA)
    )
    assert np.array_equal(
        resize(rgb, 80, 90), cv2.resize(rgb, (90, 80), interpolation=cv2.INTER_LINEAR)
    )
    expected = {
        "box": pil.resize((30, 20), Image.Resampling.BOX),
        "bicubic": pil.resize((30, 20), Image.Resampling.BICUBIC),
        "reduced-bicubic": pil.resize((30, 20), Image.Resampling.BICUBIC, reducing_gap=3.0),
    }
    for name, image in expected.items():
        assert np.array_equal(resize(rgb, 20, 30, shrink=name), np.asarray(image))  # type: ignore[arg-type]
    assert set(FILTERS) == {"area", "bilinear", "bicubic", "reduced-bicubic", "box"}


def test_shrink_or_enlarge_by_pixel_count_and_same_size_untouched() -> None:
    rgb = _photo(30, 30)
    # 20x40 has fewer pixels than 30x30: the shrink filter, although the width grows.
    assert np.array_equal(
        resize(rgb, 20, 40, shrink="box", enlarge="bicubic"),
        np.asarray(Image.fromarray(rgb).resize((40, 20), Image.Resampling.BOX)),
    )
    assert resize(rgb, 30, 30) is rgb
    with pytest.raises(ValueError, match="unknown resize filter"):
        resize(rgb, 10, 10, shrink="lanczos")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        resize(rgb, 0, 10)


def test_short_side() -> None:
    assert short_side_size(400, 600, 200) == (200, 300)
    assert short_side_size(601, 400, 200) == (300, 200)
    assert short_side_size(20, 30, 40) == (40, 60)
    rgb = _photo(40, 70)
    assert resize_short_side(rgb, 20).shape == (20, 35, 3)
    assert resize_short_side(rgb, 80) is rgb  # only shrinks without an enlarge filter
    assert resize_short_side(rgb, None) is rgb
    assert resize_short_side(rgb, 40) is rgb
    up = resize_short_side(rgb, 80, enlarge="bicubic")
    assert np.array_equal(
        up, np.asarray(Image.fromarray(rgb).resize((140, 80), Image.Resampling.BICUBIC))
    )


def test_centre_crop() -> None:
    rgb = _photo(7, 10)
    crop = centre_crop(rgb, 4)
    assert np.shares_memory(crop, rgb)
    assert np.array_equal(crop, rgb[1:5, 3:7])
    assert np.array_equal(centre_crop(rgb, 5, 9), rgb[1:6, 0:9])
    with pytest.raises(ValueError, match="cannot crop"):
        centre_crop(rgb, 8)
