"""Diverse output: several colourisations per input from the pipeline, the CLI and the API."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import tinct
from helpers import synthetic_photo
from tinct.cli import main
from tinct.models import create_model, save_model
from tinct.pipeline import ColourisePipeline


@pytest.fixture(scope="module")
def cvae_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = create_model("cvae-conv", latent_channels=8)
    return save_model(model, tmp_path_factory.mktemp("model") / "cvae.pt")


@pytest.fixture()
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"  # black and white: the command skips colour inputs
    Image.fromarray(synthetic_photo(75, 101, seed=1)).convert("L").save(path)
    return path


def test_pipeline_samples_are_reproducible_full_size_and_differ(cvae_file: Path) -> None:
    pipeline = ColourisePipeline(tinct.load_model(cvae_file), precision="fp32")
    rgb = synthetic_photo(75, 101, seed=2)
    first = pipeline.samples(rgb, 3, seed=11)
    again = pipeline.samples(rgb, 3, seed=11)
    other = pipeline.samples(rgb, 3, seed=12)
    assert len(first) == 3 and all(s.shape == (3, 75, 101) for s in first)
    for a, b in zip(first, again, strict=True):
        assert torch.equal(a, b)
    assert any(not torch.equal(a, b) for a, b in zip(first, other, strict=True))
    assert not torch.equal(first[0], first[1])  # the samples of one draw differ
    # The lightness of every sample is the input's (only chroma is drawn).
    grey = [np.asarray(Image.fromarray(s.permute(1, 2, 0).numpy()).convert("L")) for s in first]
    assert np.abs(grey[0].astype(int) - grey[1].astype(int)).mean() < 3


def test_deterministic_model_cannot_give_samples() -> None:
    pipeline = ColourisePipeline(create_model("yuv-cnn"), precision="fp32")
    with pytest.raises(ValueError, match=r"'yuv-cnn'.*deterministic"):
        pipeline.samples(synthetic_photo(32, 32, seed=0), 2)


def test_cli_samples_writes_n_files_of_the_input_size(cvae_file: Path, photo: Path) -> None:
    args = ["colourise", str(photo), "-m", str(cvae_file), "--samples", "3", "--seed", "5", "-q"]
    assert main(args) == 0
    outputs = sorted(photo.parent.glob("photo_colour_*.png"))
    assert [p.name for p in outputs] == [f"photo_colour_{i}.png" for i in (1, 2, 3)]
    arrays = [np.asarray(Image.open(p)) for p in outputs]
    assert all(a.shape == (75, 101, 3) for a in arrays)
    assert not np.array_equal(arrays[0], arrays[1])
    # Same seed again: the same files; the earlier outputs are not colourised again.
    assert main(args) == 0
    assert sorted(photo.parent.glob("photo_colour_*")) == outputs
    assert np.array_equal(np.asarray(Image.open(outputs[0])), arrays[0])


def test_cli_samples_into_an_output_folder(cvae_file: Path, photo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["colourise", str(photo), "-m", str(cvae_file), "--samples", "2", "-o", str(out), "-q"]
    assert main(args) == 0
    assert sorted(p.name for p in out.iterdir()) == ["photo_1.png", "photo_2.png"]


def test_cli_samples_with_a_deterministic_model_is_a_clear_error(
    tmp_path: Path, photo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = save_model(create_model("yuv-cnn"), tmp_path / "cnn.pt")
    assert main(["colourise", str(photo), "-m", str(model), "--samples", "3", "-q"]) == 2
    err = capsys.readouterr().err
    assert "deterministic" in err and "sample" in err
    assert not list(photo.parent.glob("photo_colour*"))
    assert main(["colourise", str(photo), "-m", str(model), "--samples", "0", "-q"]) == 2


def test_api_returns_a_list_of_samples(cvae_file: Path, photo: Path) -> None:
    samples = tinct.colourise(photo, model=str(cvae_file), samples=4, seed=3, precision="fp32")
    assert isinstance(samples, list) and len(samples) == 4
    assert all(s.shape == (75, 101, 3) and s.dtype == np.uint8 for s in samples)
    again = tinct.colourise(photo, model=str(cvae_file), samples=4, seed=3, precision="fp32")
    assert all(np.array_equal(a, b) for a, b in zip(samples, again, strict=True))
    one = tinct.colourise(photo, model=str(cvae_file), seed=3, precision="fp32")
    assert isinstance(one, np.ndarray) and one.shape == (75, 101, 3)
    with pytest.raises(ValueError, match="deterministic"):
        tinct.colourise(photo, model=create_model("yuv-cnn"), samples=2)
