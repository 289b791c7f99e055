"""The colourisation pipeline: sizes, strip-wise recombination, options, batch jobs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import tinct.pipeline as pipeline_mod
from helpers import synthetic_photo, write_photos
from tinct.color import lightness_chroma_to_rgb, rgb_to_lightness_chroma
from tinct.models import create_model
from tinct.pipeline import ColourisePipeline, colourise, colourise_files, model_resolution


@pytest.fixture(scope="module")
def tiny() -> ColourisePipeline:
    torch.manual_seed(0)
    return ColourisePipeline(create_model("unet", base_channels=4, depth=2), size=64)


def test_model_resolution_keeps_aspect_and_area() -> None:
    assert model_resolution(256, 256, 256, 32) == (256, 256)
    assert model_resolution(8000, 12000, 256, 32) == (224, 320)
    assert model_resolution(1, 1, 256, 32) == (256, 256)
    h, w = model_resolution(100, 1000, 256, 32)
    assert h % 32 == 0 and w % 32 == 0 and w / h == pytest.approx(10, rel=0.2)
    with pytest.raises(ValueError, match="0x5"):
        model_resolution(0, 5, 256, 32)


@pytest.mark.parametrize("shape", [(37, 53), (64, 64), (1, 1), (300, 17)])
def test_output_size_equals_input_size(tiny: ColourisePipeline, shape: tuple[int, int]) -> None:
    image = np.random.default_rng(0).integers(0, 256, size=(*shape, 3), dtype=np.uint8)
    out = tiny(image)
    assert out.dtype == torch.uint8 and tuple(out.shape) == (3, *shape)


def test_lightness_is_kept_at_full_resolution(tiny: ColourisePipeline) -> None:
    image = synthetic_photo(120, 90, seed=3)
    out = tiny(image).float() / 255
    l_in, _ = rgb_to_lightness_chroma(torch.from_numpy(image).permute(2, 0, 1).float() / 255)
    l_out, _ = rgb_to_lightness_chroma(out)
    # Out-of-gamut chroma is clipped in RGB, which moves L a little; most pixels keep it.
    assert (l_out - l_in).abs().median() < 1.0


def test_strips_equal_whole_image_recombination(
    tiny: ColourisePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    rgb = synthetic_photo(50, 41, seed=1)
    chroma = torch.randn(2, 9, 13, generator=torch.Generator().manual_seed(0)) * 12
    whole = tiny.recombine(rgb, chroma)
    monkeypatch.setattr(pipeline_mod, "STRIP_PIXELS", 7 * 41)  # strips of 7 rows
    strips = tiny.recombine(rgb, chroma)
    assert strips.shape == (50, 41, 3) and np.array_equal(strips, whole)
    # Independent reference: whole-image bilinear upsampling and the float Lab path.
    up = F.interpolate(chroma[None], size=(50, 41), mode="bilinear", align_corners=False)[0]
    lightness, _ = rgb_to_lightness_chroma(torch.from_numpy(rgb).permute(2, 0, 1).float() / 255)
    expected = (lightness_chroma_to_rgb(lightness, up) * 255 + 0.5).clamp(0, 255).to(torch.uint8)
    diff = (torch.from_numpy(strips).permute(2, 0, 1).int() - expected.int()).abs()
    assert diff.max() <= 1


def test_strips_on_several_threads_equal_one_thread(
    tiny: ColourisePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    rgb = synthetic_photo(97, 41, seed=6)
    chroma = torch.randn(2, 11, 7, generator=torch.Generator().manual_seed(1)) * 20
    monkeypatch.setattr(pipeline_mod, "STRIP_PIXELS", 5 * 41)  # 20 strips
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = tiny.recombine(rgb, chroma)
        torch.set_num_threads(3)
        three = tiny.recombine(rgb, chroma)
    finally:
        torch.set_num_threads(threads)
    assert np.array_equal(one, three)
    up = F.interpolate(chroma[None], size=(97, 41), mode="bilinear", align_corners=False)[0]
    lightness, _ = rgb_to_lightness_chroma(torch.from_numpy(rgb).permute(2, 0, 1).float() / 255)
    expected = (lightness_chroma_to_rgb(lightness, up) * 255 + 0.5).clamp(0, 255).to(torch.uint8)
    diff = (torch.from_numpy(three).permute(2, 0, 1).int() - expected.int()).abs()
    assert diff.max() <= 1


@pytest.mark.parametrize("space", ["yuv", "luv"])
def test_other_colour_spaces_recombine_like_the_float_path(space: str) -> None:
    torch.manual_seed(0)
    pipe = ColourisePipeline(create_model("unet", base_channels=4, depth=2, space=space), size=64)
    rgb = synthetic_photo(30, 23, seed=7)
    lightness, chroma = rgb_to_lightness_chroma(
        torch.from_numpy(rgb).permute(2, 0, 1).float() / 255, space
    )
    small = F.interpolate(chroma[None], size=(8, 6), mode="bilinear", align_corners=False)[0]
    out = pipe.recombine(rgb, small)
    up = F.interpolate(small[None], size=(30, 23), mode="bilinear", align_corners=False)[0]
    expected = (lightness_chroma_to_rgb(lightness, up, space) * 255 + 0.5).clamp(0, 255)
    diff = (torch.from_numpy(out).permute(2, 0, 1).int() - expected.to(torch.uint8).int()).abs()
    assert out.shape == (30, 23, 3) and diff.max() <= 1


def test_saturation_zero_gives_grey(tiny: ColourisePipeline) -> None:
    grey = ColourisePipeline(tiny.model, size=64, saturation=0.0)
    out = grey(synthetic_photo(40, 40, seed=2)).int()
    assert (out[0] - out[1]).abs().max() <= 1 and (out[1] - out[2]).abs().max() <= 1


def test_bad_options_and_inputs(tiny: ColourisePipeline) -> None:
    with pytest.raises(ValueError, match="temperature"):
        ColourisePipeline(tiny.model, temperature=0.38)
    with pytest.raises(ValueError, match="saturation"):
        ColourisePipeline(tiny.model, saturation=-1)
    with pytest.raises(ValueError, match=r"\(5, 5, 7\)"):
        tiny(np.zeros((5, 5, 7), dtype=np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        tiny(torch.zeros(3, 4, 4))
    with pytest.raises(TypeError):
        tiny([[1, 2]])  # type: ignore[arg-type]


def test_grey_input_accepted(tiny: ColourisePipeline) -> None:
    out = tiny(np.full((20, 30), 128, dtype=np.uint8))
    assert tuple(out.shape) == (3, 20, 30)


def test_batch_skips_and_reports_bad_files(tmp_path: Path, tiny: ColourisePipeline) -> None:
    files = write_photos(tmp_path / "in", 3)
    bad = tmp_path / "in" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    result = colourise_files(
        [*files[:2], bad, files[2]], tiny, out_dir=tmp_path / "out", progress=False
    )
    assert [p for p, _ in result.skipped] == [bad]
    assert result.skipped[0][1]  # a reason is given
    assert len(result.written) == 3
    for src, dest in result.written:
        assert dest.parent == tmp_path / "out" and dest.name == src.name
        assert dest.is_file()


def test_api_colourise_accepts_paths_and_arrays(tmp_path: Path, tiny: ColourisePipeline) -> None:
    (path,) = write_photos(tmp_path, 1, size=(33, 47))
    out = colourise(path, model=tiny.model, size=64)
    assert out.shape == (33, 47, 3) and out.dtype == np.uint8
    again = colourise(np.asarray(out), model=tiny.model, size=64)
    assert again.shape == (33, 47, 3)


@pytest.mark.slow
def test_a_96_megapixel_photo_keeps_its_size(tiny: ColourisePipeline) -> None:
    """12000x8000 goes through the strip-wise path (peak memory: benchmarks/bench_inference.py)."""
    small = synthetic_photo(80, 120, seed=5)
    image = np.repeat(np.repeat(small, 100, axis=0), 100, axis=1)
    assert image.shape == (8000, 12000, 3)
    out = tiny(image)
    assert tuple(out.shape) == (3, 8000, 12000)
    # Lightness comes from the full-resolution input: block edges stay sharp.
    l_out, _ = rgb_to_lightness_chroma(out[:, 95:105, :].float() / 255)
    l_in, _ = rgb_to_lightness_chroma(
        torch.from_numpy(image[95:105]).permute(2, 0, 1).float() / 255
    )
    assert (l_out - l_in).abs().median() < 1.0


def test_precision_options(tiny: ColourisePipeline) -> None:
    with pytest.raises(ValueError, match="precision"):
        ColourisePipeline(tiny.model, precision="fp8")
    image = synthetic_photo(64, 64, seed=4)
    fp32 = ColourisePipeline(tiny.model, size=64, precision="fp32")
    bf16 = ColourisePipeline(tiny.model, size=64, precision="bf16")
    assert fp32.precision == "fp32" and bf16.precision == "bf16"
    auto = ColourisePipeline(tiny.model, size=64)
    assert auto.precision in ("fp32", "bf16")
    # bf16 changes the prediction a little, never the size or the lightness.
    a, b = fp32(image).int(), bf16(image).int()
    assert a.shape == b.shape
    assert (a - b).abs().float().mean() < 3


# --- the Python API (issue 23) ----------------------------------------------------------------


def test_colourise_keeps_its_pipelines_and_can_forget_them(tiny: ColourisePipeline) -> None:
    from tinct.pipeline import cached_pipeline, clear_cache

    clear_cache()
    first = cached_pipeline(tiny.model, size=64, precision="fp32")
    assert cached_pipeline(tiny.model, size=64, precision="fp32") is first
    assert cached_pipeline(tiny.model, size=96, precision="fp32") is not first
    clear_cache()
    assert cached_pipeline(tiny.model, size=64, precision="fp32") is not first


def test_colourise_returns_the_kind_it_was_given(tmp_path: Path, tiny: ColourisePipeline) -> None:
    from PIL import Image

    (path,) = write_photos(tmp_path, 1, size=(33, 47))
    array = np.asarray(Image.open(path).convert("RGB"))
    pil = colourise(Image.open(path), model=tiny.model, size=64, precision="fp32")
    assert isinstance(pil, Image.Image) and pil.size == (47, 33) and pil.mode == "RGB"
    tensor = colourise(torch.from_numpy(array).permute(2, 0, 1), model=tiny.model, size=64)
    assert isinstance(tensor, torch.Tensor) and tuple(tensor.shape) == (3, 33, 47)
    both = colourise([path, array], model=tiny.model, size=64, precision="fp32")
    assert isinstance(both, list) and len(both) == 2
    assert all(isinstance(o, np.ndarray) and o.shape == (33, 47, 3) for o in both)
    assert np.array_equal(both[0], np.asarray(pil))  # same model, same pixels
    as_pil = colourise(array, model=tiny.model, size=64, output="pil")
    assert isinstance(as_pil, Image.Image)
    with pytest.raises(ValueError, match="output"):
        colourise(array, model=tiny.model, output="jpeg")  # type: ignore[arg-type]


def test_public_api_is_visible_and_from_pretrained_loads_bundled() -> None:
    import tinct

    for name in ("colourise", "ColourisePipeline", "clear_cache", "load_model", "list_models"):
        assert name in dir(tinct)
    pipe = tinct.ColourisePipeline.from_pretrained("default", size=64, precision="fp32")
    out = pipe(np.full((40, 30, 3), 120, dtype=np.uint8))
    assert tuple(out.shape) == (3, 40, 30)


def test_pipeline_refuses_unusable_options(tiny: ColourisePipeline) -> None:
    from tinct.pipeline import MAX_SIZE

    for bad in (float("nan"), float("inf"), -0.5):
        with pytest.raises(ValueError, match="saturation"):
            ColourisePipeline(tiny.model, saturation=bad)
    with pytest.raises(ValueError, match="size"):
        ColourisePipeline(tiny.model, size=MAX_SIZE + 1)
