"""Tests for tinct.color: reference values, round trips, shapes, gradients, errors.

Same set for every op, kornia style: reference values (scikit-image, colour-science, the
seed formulae), round trip, cardinality, exceptions, gradcheck, module equals function.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import Tensor

import tinct.color as tc

skcolor = pytest.importorskip("skimage.color")

Fn = Callable[[Tensor], Tensor]

# name -> (rgb -> space, space -> rgb); grey is tested apart (it is not invertible).
PAIRS: dict[str, tuple[Fn, Fn]] = {
    "linear": (tc.srgb_to_linear, tc.linear_to_srgb),
    "xyz": (tc.rgb_to_xyz, tc.xyz_to_rgb),
    "lab": (tc.rgb_to_lab, tc.lab_to_rgb),
    "luv": (tc.rgb_to_luv, tc.luv_to_rgb),
    "yuv": (tc.rgb_to_yuv, tc.yuv_to_rgb),
    "yiq": (tc.rgb_to_yiq, tc.yiq_to_rgb),
    "ycbcr": (tc.rgb_to_ycbcr, tc.ycbcr_to_rgb),
    "hsv": (tc.rgb_to_hsv, tc.hsv_to_rgb),
    "hsi": (tc.rgb_to_hsi, tc.hsi_to_rgb),
}
HUE_SPACES = ("hsv", "hsi")

# Every public single-image function with its input channel count.
ALL_FUNCS: list[tuple[Fn, int]] = [
    *[(fwd, 3) for fwd, _ in PAIRS.values()],
    *[(inv, 3) for _, inv in PAIRS.values()],
    (tc.rgb_to_grey, 3),
    (tc.grey_to_rgb, 1),
]

CORNERS = [list(c) for c in itertools.product((0.0, 1.0), repeat=3)] + [[0.5, 0.5, 0.5]]


def sample_rgb(dtype: torch.dtype = torch.float64, n_random: int = 16 * 16) -> Tensor:
    """``(3, 1, N)``: random sRGB colours followed by the 8 cube corners and mid grey."""
    gen = torch.Generator().manual_seed(0)
    random = torch.rand(3, n_random, generator=gen, dtype=torch.float64)
    special = torch.tensor(CORNERS, dtype=torch.float64).T
    return torch.cat((random, special), dim=1).unsqueeze(1).to(dtype)


def to_numpy(image: Tensor) -> np.ndarray:
    """``(C, H, W)`` tensor -> ``(H, W, C)`` float64 array."""
    return image.detach().permute(1, 2, 0).to(torch.float64).numpy()


def from_numpy(array: np.ndarray) -> Tensor:
    """``(H, W, C)`` array -> ``(C, H, W)`` float64 tensor."""
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1).to(torch.float64)


def assert_hue_close(actual: Tensor, expected: Tensor, atol: float) -> None:
    """Compare angles in radians modulo 2π."""
    diff = torch.remainder(actual - expected + math.pi, 2 * math.pi) - math.pi
    assert diff.abs().max().item() <= atol


# --- reference values: scikit-image ---------------------------------------------------------


def _ski_ycbcr(rgb: np.ndarray) -> np.ndarray:
    # scikit-image is studio range (Y 16..235, CbCr 16..240): back to full range [0, 1].
    out = skcolor.rgb2ycbcr(rgb)
    return np.stack(
        (
            (out[..., 0] - 16) / 219,
            (out[..., 1] - 128) / 224 + 0.5,
            (out[..., 2] - 128) / 224 + 0.5,
        ),
        axis=-1,
    )


def _ski_hsv(rgb: np.ndarray) -> np.ndarray:
    out = skcolor.rgb2hsv(rgb)
    out[..., 0] *= 2 * math.pi
    return out


def _param_id(value: object) -> str:
    return getattr(value, "__name__", str(value))


def _ski_ycbcr_inverse(ycbcr: np.ndarray) -> np.ndarray:
    studio = np.stack(
        (
            16 + 219 * ycbcr[..., 0],
            128 + 224 * (ycbcr[..., 1] - 0.5),
            128 + 224 * (ycbcr[..., 2] - 0.5),
        ),
        axis=-1,
    )
    return skcolor.ycbcr2rgb(studio)


def _ski_hsv_inverse(hsv: np.ndarray) -> np.ndarray:
    hsv = hsv.copy()
    hsv[..., 0] /= 2 * math.pi
    return skcolor.hsv2rgb(hsv)


# (space, scikit-image forward, atol). YUV/YIQ: the seed's 3-digit matrices vs skimage's.
SKIMAGE_FORWARD = [
    ("xyz", skcolor.rgb2xyz, 1e-6),
    ("lab", skcolor.rgb2lab, 1e-4),
    ("luv", skcolor.rgb2luv, 1e-4),
    ("yuv", skcolor.rgb2yuv, 1e-3),
    ("yiq", skcolor.rgb2yiq, 1e-3),
    ("ycbcr", _ski_ycbcr, 1e-5),
    ("hsv", _ski_hsv, 1e-6),
]


@pytest.mark.parametrize(("space", "reference", "atol"), SKIMAGE_FORWARD, ids=_param_id)
def test_forward_matches_skimage(space: str, reference: Callable, atol: float) -> None:
    rgb = sample_rgb()
    ours = PAIRS[space][0](rgb)
    expected = from_numpy(reference(to_numpy(rgb)))
    if space in HUE_SPACES:
        assert_hue_close(ours[0], expected[0], atol)
        ours, expected = ours[1:], expected[1:]
    torch.testing.assert_close(ours, expected, atol=atol, rtol=0)


SKIMAGE_INVERSE = [
    ("xyz", skcolor.xyz2rgb, 1e-6),
    ("lab", skcolor.lab2rgb, 1e-6),
    ("luv", skcolor.luv2rgb, 1e-6),
    ("yuv", skcolor.yuv2rgb, 2e-3),
    ("yiq", skcolor.yiq2rgb, 2e-3),
    ("ycbcr", _ski_ycbcr_inverse, 1e-5),
    ("hsv", _ski_hsv_inverse, 1e-6),
]


@pytest.mark.parametrize(("space", "reference", "atol"), SKIMAGE_INVERSE, ids=_param_id)
def test_inverse_matches_skimage(space: str, reference: Callable, atol: float) -> None:
    image = PAIRS[space][0](sample_rgb())
    ours = PAIRS[space][1](image)
    expected = from_numpy(reference(to_numpy(image)))
    torch.testing.assert_close(ours, expected, atol=atol, rtol=0)


def test_lab_to_rgb_out_of_gamut_matches_skimage_clip() -> None:
    gen = torch.Generator().manual_seed(1)
    lab = torch.rand(3, 16, 16, generator=gen, dtype=torch.float64)
    lab = lab * torch.tensor([100.0, 255.0, 255.0]).view(3, 1, 1) - torch.tensor(
        [0.0, 128.0, 128.0]
    ).view(3, 1, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skimage warns about negative Z values
        expected = from_numpy(skcolor.lab2rgb(to_numpy(lab)))
    ours = tc.lab_to_rgb(lab)
    torch.testing.assert_close(ours, expected, atol=1e-6, rtol=0)
    assert ours.min() >= 0 and ours.max() <= 1
    unclipped = tc.lab_to_rgb(lab, clip=False)
    assert unclipped.min() < 0 or unclipped.max() > 1


def test_grey_is_bt601_luma() -> None:
    rgb = sample_rgb()
    expected = (to_numpy(rgb) @ np.array([0.299, 0.587, 0.114]))[None]
    grey = tc.rgb_to_grey(rgb)
    torch.testing.assert_close(grey, torch.from_numpy(expected), atol=1e-7, rtol=0)
    for fwd in (tc.rgb_to_yuv, tc.rgb_to_yiq, tc.rgb_to_ycbcr):
        torch.testing.assert_close(fwd(rgb)[:1], grey, atol=1e-7, rtol=0)
    # scikit-image's rgb2gray uses BT.709 weights, so it is not a reference here.
    torch.testing.assert_close(tc.grey_to_rgb(grey), grey.expand(3, -1, -1))


# --- reference values: colour-science and the seed formulae ---------------------------------


def test_against_colour_science() -> None:
    colour = pytest.importorskip("colour")
    rgb = sample_rgb()
    rgb_np = to_numpy(rgb)
    # colour derives the sRGB matrix from the primaries: ~3e-4 from the 6-digit one.
    xyz = tc.rgb_to_xyz(rgb)
    torch.testing.assert_close(xyz, from_numpy(colour.sRGB_to_XYZ(rgb_np)), atol=1e-3, rtol=0)
    # Same XYZ and white: only the exact CIE constants (216/24389, 24389/27) differ.
    white = colour.XYZ_to_xy(np.array([0.95047, 1.0, 1.08883]))
    for fwd, reference in ((tc.rgb_to_lab, colour.XYZ_to_Lab), (tc.rgb_to_luv, colour.XYZ_to_Luv)):
        expected = from_numpy(reference(to_numpy(xyz), white))
        torch.testing.assert_close(fwd(rgb), expected, atol=1e-3, rtol=0)
    ycbcr = colour.RGB_to_YCbCr(
        rgb_np, K=colour.WEIGHTS_YCBCR["ITU-R BT.601"], out_legal=False, out_int=False
    )
    ycbcr[..., 1:] += 0.5
    torch.testing.assert_close(tc.rgb_to_ycbcr(rgb), from_numpy(ycbcr), atol=1e-7, rtol=0)
    hsv = from_numpy(colour.RGB_to_HSV(rgb_np))
    ours = tc.rgb_to_hsv(rgb)
    assert_hue_close(ours[0], hsv[0] * 2 * math.pi, 1e-6)
    torch.testing.assert_close(ours[1:], hsv[1:], atol=1e-6, rtol=0)
    # IHLS (Hanbury) has the same hue as the seed's HSI, via arccos instead of atan2.
    assert_hue_close(tc.rgb_to_hsi(rgb)[0], from_numpy(colour.RGB_to_IHLS(rgb_np))[0], 1e-6)


SEED_YUV = [[0.299, 0.587, 0.114], [-0.147, -0.289, 0.436], [0.615, -0.515, -0.100]]
SEED_YIQ = [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.212, -0.523, 0.311]]


@pytest.mark.parametrize(("fwd", "matrix"), [(tc.rgb_to_yuv, SEED_YUV), (tc.rgb_to_yiq, SEED_YIQ)])
def test_seed_matrices(fwd: Fn, matrix: list[list[float]]) -> None:
    rgb = sample_rgb()
    expected = torch.einsum("oi,ihw->ohw", torch.tensor(matrix, dtype=torch.float64), rgb)
    torch.testing.assert_close(fwd(rgb), expected, atol=1e-12, rtol=0)


def test_hsi_seed_formula() -> None:
    rgb = sample_rgb()
    r, g, b = to_numpy(rgb).transpose(2, 0, 1)
    alpha, beta = r - (g + b) / 2, math.sqrt(3) / 2 * (g - b)
    hsi = tc.rgb_to_hsi(rgb)
    assert_hue_close(hsi[0], torch.from_numpy(np.arctan2(beta, alpha)), 1e-9)
    torch.testing.assert_close(hsi[1], torch.from_numpy(np.hypot(alpha, beta)))
    torch.testing.assert_close(hsi[2], torch.from_numpy((r + g + b) / 3))


@pytest.mark.parametrize(
    ("rgb", "hsi"),
    [
        ((1, 0, 0), (0, 1, 1 / 3)),
        ((1, 1, 0), (math.pi / 3, 1, 2 / 3)),
        ((0, 1, 0), (2 * math.pi / 3, 1, 1 / 3)),
        ((0, 1, 1), (math.pi, 1, 2 / 3)),
        ((0, 0, 1), (4 * math.pi / 3, 1, 1 / 3)),
        ((1, 0, 1), (5 * math.pi / 3, 1, 2 / 3)),
        ((1, 1, 1), (0, 0, 1)),
        ((0, 0, 0), (0, 0, 0)),
        ((0.5, 0.5, 0.5), (0, 0, 0.5)),
    ],
)
def test_hsi_corners(rgb: tuple[float, ...], hsi: tuple[float, ...]) -> None:
    image = torch.tensor(rgb, dtype=torch.float64).view(3, 1, 1)
    expected = torch.tensor(hsi, dtype=torch.float64).view(3, 1, 1)
    torch.testing.assert_close(tc.rgb_to_hsi(image), expected)
    torch.testing.assert_close(tc.hsi_to_rgb(expected), image)


# --- round trips, shapes, dtypes --------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("space", list(PAIRS))
def test_round_trip(space: str, dtype: torch.dtype) -> None:
    fwd, inv = PAIRS[space]
    rgb = sample_rgb(dtype)
    out = inv(fwd(rgb))
    assert out.dtype == dtype
    torch.testing.assert_close(out, rgb, atol=1e-4, rtol=0)


@pytest.mark.parametrize("space", ["linear", "xyz", "yuv", "yiq", "ycbcr", "hsi"])
def test_unclipped_inverse_round_trip(space: str) -> None:
    """The linear-ish inverses do not clip: space -> rgb -> space is exact off the gamut too."""
    fwd, inv = PAIRS[space]
    gen = torch.Generator().manual_seed(2)
    rgb = torch.rand(3, 8, 8, generator=gen, dtype=torch.float64) * 1.4 - 0.2
    if space == "hsi":
        rgb = rgb.clamp(0.0, 1.0)  # keep it simple for the hue
    torch.testing.assert_close(fwd(inv(fwd(rgb))), fwd(rgb), atol=1e-9, rtol=0)


@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 3, 4, 5), (2, 2, 3, 4, 5)])
@pytest.mark.parametrize("space", tc.SPACES)
def test_cardinality_and_batch(space: str, shape: tuple[int, ...]) -> None:
    gen = torch.Generator().manual_seed(3)
    rgb = torch.rand(shape, generator=gen)
    out = tc.convert(rgb, "rgb", space)
    assert out.shape == (*shape[:-3], tc.SPACE_CHANNELS[space], *shape[-2:])
    if len(shape) > 3:  # batched == per image
        first = (0,) * (len(shape) - 3)
        torch.testing.assert_close(out[first], tc.convert(rgb[first], "rgb", space))
    back = tc.convert(out, space, "rgb")
    assert back.shape == (*shape[:-3], 3, *shape[-2:])
    if space != "grey":
        torch.testing.assert_close(back, rgb, atol=1e-4, rtol=0)


def test_grey_to_rgb_is_a_copy() -> None:
    grey = torch.rand(2, 1, 3, 3)
    rgb = tc.grey_to_rgb(grey)
    assert rgb.shape == (2, 3, 3, 3)
    rgb[:, 0] = 0
    assert grey.abs().sum() > 0


# --- gradients ------------------------------------------------------------------------------

# Distinct channels, away from 0 and 1, the sRGB knee, the Lab knee and HSV sector edges.
GRAD_RGB = torch.tensor(
    [[0.8, 0.3, 0.1], [0.2, 0.7, 0.4], [0.15, 0.35, 0.9], [0.6, 0.55, 0.2]], dtype=torch.float64
).T.reshape(3, 2, 2)


@pytest.mark.parametrize("space", list(PAIRS))
def test_gradcheck(space: str) -> None:
    fwd, inv = PAIRS[space]
    rgb = GRAD_RGB.clone().requires_grad_()
    assert torch.autograd.gradcheck(fwd, (rgb,))
    image = fwd(GRAD_RGB).detach().requires_grad_()
    assert torch.autograd.gradcheck(inv, (image,))


def test_gradcheck_grey() -> None:
    assert torch.autograd.gradcheck(tc.rgb_to_grey, (GRAD_RGB.clone().requires_grad_(),))
    grey = GRAD_RGB[:1].clone().requires_grad_()
    assert torch.autograd.gradcheck(tc.grey_to_rgb, (grey,))


@pytest.mark.parametrize("space", ["lab", "luv", "hsv", "hsi", "xyz", "linear"])
@pytest.mark.parametrize("value", [0.0, 0.5, 1.0])
def test_finite_gradient_at_black_and_grey(space: str, value: float) -> None:
    fwd, inv = PAIRS[space]
    rgb = torch.full((1, 3, 2, 2), value, dtype=torch.float64, requires_grad=True)
    out = fwd(rgb)
    out.sum().backward()
    assert rgb.grad is not None
    assert torch.isfinite(out).all() and torch.isfinite(rgb.grad).all()
    image = out.detach().requires_grad_()
    inv(image).sum().backward()
    assert image.grad is not None and torch.isfinite(image.grad).all()


@pytest.mark.parametrize("inv", [tc.lab_to_rgb, tc.luv_to_rgb])
def test_finite_gradient_for_chroma_at_zero_lightness(inv: Fn) -> None:
    image = torch.tensor([0.0, 20.0, -30.0], dtype=torch.float64).view(3, 1, 1)
    image.requires_grad_()
    out = inv(image)
    out.sum().backward()
    assert image.grad is not None
    assert torch.isfinite(out).all() and torch.isfinite(image.grad).all()


# --- exceptions ------------------------------------------------------------------------------


@pytest.mark.parametrize(("fn", "channels"), ALL_FUNCS, ids=lambda p: getattr(p, "__name__", p))
def test_exceptions(fn: Fn, channels: int) -> None:
    with pytest.raises(TypeError):
        fn(np.zeros((channels, 2, 2)))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="floating"):
        fn(torch.zeros(channels, 2, 2, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        fn(torch.zeros(2, 2))
    bad = channels + 1
    with pytest.raises(ValueError, match=rf"\(1, {bad}, 4, 4\)"):
        fn(torch.zeros(1, bad, 4, 4))


# --- generic interface ---------------------------------------------------------------------


def test_spaces_registry() -> None:
    assert set(tc.SPACES) == set(tc.SPACE_RANGES) == set(tc.SPACE_CHANNELS)
    assert set(tc.LIGHTNESS_CHROMA_SPACES) >= {"lab", "yuv", "luv", "ycbcr"}
    assert all(hasattr(tc, name) for name in tc.__all__)


@pytest.mark.parametrize(("src", "dst"), [("cmyk", "rgb"), ("rgb", "RGB"), ("lab", "hsl")])
def test_convert_unknown_name(src: str, dst: str) -> None:
    with pytest.raises(ValueError, match="valid names") as info:
        tc.convert(torch.rand(3, 2, 2), src, dst)
    assert all(name in str(info.value) for name in tc.SPACES)
    with pytest.raises(ValueError, match="valid names"):
        tc.ColorConvert(src, dst)


def test_convert_goes_through_rgb() -> None:
    lab = tc.rgb_to_lab(sample_rgb())
    torch.testing.assert_close(tc.convert(lab, "lab", "hsv"), tc.rgb_to_hsv(tc.lab_to_rgb(lab)))
    assert tc.convert(lab, "lab", "lab") is lab
    with pytest.raises(ValueError, match=r"\(1, 2, 2\)"):
        tc.convert(torch.rand(1, 2, 2), "lab", "lab")
    module = tc.ColorConvert("lab", "ycbcr")
    torch.testing.assert_close(module(lab), tc.convert(lab, "lab", "ycbcr"))


# --- lightness / chroma and normalisation ---------------------------------------------------

LC_SPACES = ["lab", "luv", "yuv", "yiq", "ycbcr"]


def gamut_grid(steps: int = 17) -> Tensor:
    """Every sRGB colour on a ``steps``^3 grid, as a ``(3, steps, steps**2)`` image."""
    axis = torch.linspace(0, 1, steps, dtype=torch.float64)
    r, g, b = torch.meshgrid(axis, axis, axis, indexing="ij")
    return torch.stack((r, g, b)).reshape(3, steps, steps * steps)


@pytest.mark.parametrize("space", LC_SPACES)
def test_lightness_chroma_round_trip(space: str) -> None:
    rgb = sample_rgb(torch.float32).unsqueeze(0).repeat(2, 1, 1, 1)
    lightness, chroma = tc.rgb_to_lightness_chroma(rgb, space)
    assert lightness.shape == (2, 1, 1, rgb.shape[-1])
    assert chroma.shape == (2, 2, 1, rgb.shape[-1])
    torch.testing.assert_close(torch.cat((lightness, chroma), dim=1), tc.convert(rgb, "rgb", space))
    torch.testing.assert_close(
        tc.lightness_chroma_to_rgb(lightness, chroma, space), rgb, atol=1e-4, rtol=0
    )


@pytest.mark.parametrize("space", LC_SPACES)
def test_normalised_ranges(space: str) -> None:
    for rgb in (sample_rgb(), gamut_grid()):
        lightness, chroma = tc.rgb_to_lightness_chroma(rgb, space)
        l_norm = tc.normalize_lightness(lightness, space)
        chroma_norm = tc.normalize_chroma(chroma, space)
        assert l_norm.abs().max() <= 1 + 1e-6
        assert chroma_norm.abs().max() <= 1.05
        torch.testing.assert_close(tc.denormalize_lightness(l_norm, space), lightness)
        torch.testing.assert_close(tc.denormalize_chroma(chroma_norm, space), chroma)
    # black and white reach the ends of the lightness range; grey has zero chroma
    corners = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.5, 0.5, 0.5]]).T.reshape(3, 1, 3)
    lightness, chroma = tc.rgb_to_lightness_chroma(corners, space)
    l_norm = tc.normalize_lightness(lightness, space)
    torch.testing.assert_close(l_norm[0, 0, :2], torch.tensor([-1.0, 1.0]), atol=1e-4, rtol=0)
    torch.testing.assert_close(
        tc.normalize_chroma(chroma, space), torch.zeros(2, 1, 3), atol=1e-4, rtol=0
    )


@pytest.mark.parametrize(
    ("space", "lightness", "l_norm", "chroma", "chroma_norm"),
    [
        ("lab", 50.0, 0.0, (110.0, -55.0), (1.0, -0.5)),
        ("lab", 100.0, 1.0, (0.0, 0.0), (0.0, 0.0)),
        ("luv", 0.0, -1.0, (180.0, -90.0), (1.0, -0.5)),
        ("yuv", 0.75, 0.5, (0.436, -0.615), (1.0, -1.0)),
        ("ycbcr", 0.25, -0.5, (0.5, 1.0), (0.0, 1.0)),
    ],
)
def test_normalisation_constants(
    space: str,
    lightness: float,
    l_norm: float,
    chroma: tuple[float, float],
    chroma_norm: tuple[float, float],
) -> None:
    l_t = torch.full((1, 1, 1), lightness)
    c_t = torch.tensor(chroma).view(2, 1, 1)
    torch.testing.assert_close(tc.normalize_lightness(l_t, space), torch.full((1, 1, 1), l_norm))
    torch.testing.assert_close(
        tc.normalize_chroma(c_t, space), torch.tensor(chroma_norm).view(2, 1, 1)
    )


def test_lightness_chroma_errors() -> None:
    lightness, chroma = torch.rand(2, 1, 4, 4), torch.rand(2, 2, 4, 4)
    with pytest.raises(ValueError, match="valid names"):
        tc.rgb_to_lightness_chroma(torch.rand(3, 4, 4), "hsv")
    with pytest.raises(ValueError, match="valid names"):
        tc.normalize_chroma(chroma, "rgb")
    with pytest.raises(ValueError, match=r"\(2, 2, 4, 4\)"):
        tc.normalize_lightness(chroma, "lab")
    with pytest.raises(ValueError, match=r"\(2, 1, 4, 4\)"):
        tc.normalize_chroma(lightness, "lab")
    with pytest.raises(ValueError, match=r"\(2, 2, 4, 3\)"):
        tc.lightness_chroma_to_rgb(lightness, torch.rand(2, 2, 4, 3))
    with pytest.raises(ValueError, match=r"\(2, 3, 4, 4\)"):
        tc.lightness_chroma_to_rgb(lightness, torch.rand(2, 3, 4, 4))


@pytest.mark.parametrize("space", LC_SPACES)
def test_lightness_chroma_clip(space: str) -> None:
    lightness = tc.denormalize_lightness(torch.full((1, 1, 2, 2), 0.2), space)
    chroma = tc.denormalize_chroma(torch.full((1, 2, 2, 2), 0.95), space)
    clipped = tc.lightness_chroma_to_rgb(lightness, chroma, space)
    assert clipped.min() >= 0 and clipped.max() <= 1
    raw = tc.lightness_chroma_to_rgb(lightness, chroma, space, clip=False)
    assert raw.min() < 0 or raw.max() > 1
    torch.testing.assert_close(raw.clamp(0, 1), clipped)


def test_normalize_channels_round_trip() -> None:
    rgb = sample_rgb()
    for space in tc.SPACES:
        image = tc.convert(rgb, "rgb", space)
        image_norm = tc.normalize_channels(image, space)
        assert image_norm.abs().max() <= 1.05, space
        torch.testing.assert_close(tc.denormalize_channels(image_norm, space), image)


# --- stacked spaces ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spaces", "channels"),
    [(["rgb"], 3), (["rgb", "lab"], 6), (["rgb", "lab", "hsv", "yuv"], 12), (["grey", "hsi"], 4)],
)
@pytest.mark.parametrize("normalize", [False, True])
def test_stack_spaces(spaces: list[str], channels: int, normalize: bool) -> None:
    rgb = torch.rand(2, 3, 4, 5)
    out = tc.stack_spaces(rgb, spaces, normalize=normalize)
    assert out.shape == (2, channels, 4, 5)
    parts = [tc.convert(rgb, "rgb", s) for s in spaces]
    if normalize:
        parts = [tc.normalize_channels(p, s) for p, s in zip(parts, spaces, strict=True)]
        assert out.abs().max() <= 1.05
    torch.testing.assert_close(out, torch.cat(parts, dim=1))
    module = tc.StackSpaces(spaces, normalize=normalize)
    assert module.out_channels == channels
    torch.testing.assert_close(module(rgb), out)


def test_stack_spaces_errors() -> None:
    rgb = torch.rand(3, 4, 4)
    with pytest.raises(TypeError):
        tc.stack_spaces(rgb, "lab")
    with pytest.raises(ValueError):
        tc.stack_spaces(rgb, [])
    with pytest.raises(ValueError, match="valid names"):
        tc.stack_spaces(rgb, ["rgb", "cmyk"])
    with pytest.raises(ValueError, match=r"\(4, 4, 4\)"):
        tc.stack_spaces(torch.rand(4, 4, 4), ["rgb"])
