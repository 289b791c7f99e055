"""The table-driven 8-bit Lab path of the pipeline agrees with the float conversions."""

from __future__ import annotations

import pytest
import torch
from skimage.color import lab2rgb, rgb2lab

from tinct.color import lab_to_rgb, rgb_to_lab
from tinct.color.u8 import lab_to_srgb8, srgb8_to_lab_lightness


def test_lightness_of_every_grey_level_and_random_colours() -> None:
    levels = torch.arange(256, dtype=torch.uint8).view(1, 1, 256).expand(3, 1, 256)
    g = torch.Generator().manual_seed(0)
    colours = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8, generator=g)
    for rgb8 in (levels, colours):
        ref = rgb2lab(rgb8.permute(1, 2, 0).numpy() / 255.0)[..., 0]
        ours = srgb8_to_lab_lightness(rgb8)[0].double().numpy()
        assert abs(ours - ref).max() < 1e-3


def test_back_to_8bit_within_one_level_of_the_float_path() -> None:
    g = torch.Generator().manual_seed(1)
    lab = torch.stack(
        [
            torch.rand(64, 64, generator=g) * 100,
            torch.rand(64, 64, generator=g) * 220 - 110,
            torch.rand(64, 64, generator=g) * 220 - 110,
        ]
    )
    fast = lab_to_srgb8(lab[:1], lab[1:]).int()
    ref = (lab_to_rgb(lab) * 255 + 0.5).floor().clamp(0, 255).int()
    assert (fast - ref).abs().max() <= 1
    assert (fast != ref).float().mean() < 0.01
    # Independent reference: scikit-image clips out-of-gamut colours the same way.
    sk = (lab2rgb(lab.permute(1, 2, 0).double().numpy()) * 255 + 0.5).clip(0, 255).astype(int)
    assert abs(fast.permute(1, 2, 0).numpy() - sk).max() <= 1


def test_round_trip_of_8bit_images_is_exact_within_one_level() -> None:
    g = torch.Generator().manual_seed(2)
    rgb8 = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8, generator=g)
    ab = rgb_to_lab(rgb8.float() / 255)[:, 1:]
    back = lab_to_srgb8(srgb8_to_lab_lightness(rgb8), ab)
    assert back.shape == rgb8.shape and back.dtype == torch.uint8
    assert (back.int() - rgb8.int()).abs().max() <= 1


def test_bad_inputs_name_the_shape() -> None:
    with pytest.raises(ValueError, match=r"\(4, 8, 8\)"):
        srgb8_to_lab_lightness(torch.zeros(4, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="uint8"):
        srgb8_to_lab_lightness(torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match=r"\(3, 8, 8\)"):
        lab_to_srgb8(torch.zeros(1, 8, 8), torch.zeros(3, 8, 8))


def test_lab_lightness_to_grey_matches_lab_to_rgb() -> None:
    from tinct.color import lab_lightness_to_grey

    lightness = torch.linspace(0, 100, 501, dtype=torch.float64).view(1, 1, 501)
    lab = torch.cat([lightness, torch.zeros(2, 1, 501, dtype=torch.float64)])
    ref = lab_to_rgb(lab)
    grey = lab_lightness_to_grey(lightness)
    assert torch.allclose(grey[0], ref[1], atol=1e-6)
    assert torch.autograd.gradcheck(
        lab_lightness_to_grey,
        (torch.rand(1, 2, 3, dtype=torch.float64).mul(90).add(5).requires_grad_(),),
    )


def test_opencv_lightness_and_back_against_scikit_image() -> None:
    import numpy as np

    from tinct.color.u8 import lab_lightness_u8, lab_to_rgb_u8

    rng = np.random.default_rng(3)
    rgb8 = rng.integers(0, 256, size=(40, 50, 3), dtype=np.uint8)
    ref = rgb2lab(rgb8 / 255.0)
    assert abs(lab_lightness_u8(rgb8) - ref[..., 0]).max() < 1e-3
    # In-gamut colours come back exactly; a round trip is the identity.
    back = lab_to_rgb_u8(ref[..., 0].astype(np.float32), ref[..., 1:].astype(np.float32))
    assert np.array_equal(back, rgb8)
    # Off-gamut colours are clipped: against scikit-image, nearly all pixels within 1 level.
    ab = rng.normal(0, 40, size=(40, 50, 2)).astype(np.float32)
    lab = np.concatenate([ref[..., :1], ab], axis=-1)
    sk = np.clip(lab2rgb(lab) * 255 + 0.5, 0, 255).astype(int)
    diff = abs(lab_to_rgb_u8(lab[..., 0].astype(np.float32), ab).astype(int) - sk)
    assert (diff <= 1).mean() > 0.99
    with pytest.raises(ValueError, match=r"\(40, 50, 2\)"):
        lab_lightness_u8(rgb8[..., :2])
    with pytest.raises(ValueError, match="do not match"):
        lab_to_rgb_u8(ref[:10, :, 0].astype(np.float32), ab)


def test_opencv_lab_to_rgb_writes_into_out() -> None:
    import numpy as np

    from tinct.color.u8 import lab_lightness_u8, lab_to_rgb_u8

    rng = np.random.default_rng(5)
    rgb8 = rng.integers(0, 256, size=(12, 9, 3), dtype=np.uint8)
    lightness = lab_lightness_u8(rgb8)
    ab = rng.normal(0, 30, size=(12, 9, 2)).astype(np.float32)
    expected = lab_to_rgb_u8(lightness, ab)
    image = np.full((20, 9, 3), 7, dtype=np.uint8)
    band = image[4:16]
    result = lab_to_rgb_u8(lightness, ab, out=band)
    assert np.shares_memory(result, image) and np.array_equal(image[4:16], expected)
    assert (image[:4] == 7).all() and (image[16:] == 7).all()
    with pytest.raises(ValueError, match="out must be"):
        lab_to_rgb_u8(lightness, ab, out=image[:11])
    with pytest.raises(ValueError, match="out must be"):
        lab_to_rgb_u8(lightness, ab, out=np.zeros((12, 18, 3), np.uint8)[:, ::2])
