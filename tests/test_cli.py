"""The `tinct` command end to end on real photos (scikit-image's samples)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from tinct.cli import build_parser, main

SAMPLES = Path(skimage.data.__file__).parent


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Süsstrunk (2003) colourfulness of an (H, W, 3) uint8 image."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


@pytest.fixture()
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(SAMPLES / "astronaut.png", folder / "astronaut.png")
    shutil.copy(SAMPLES / "chelsea.png", folder / "sub" / "chelsea.png")
    Image.open(SAMPLES / "coffee.png").convert("L").save(folder / "coffee_grey.jpg")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    return folder


def command_paths(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    """Every (sub)command path of ``parser``, itself first (``()``), found by walking its
    subparsers; aliases of one command are listed once."""
    paths = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen: set[int] = set()
            for name, sub in action.choices.items():
                if id(sub) not in seen:
                    seen.add(id(sub))
                    paths += command_paths(sub, (*prefix, name))
    return paths


COMMANDS = command_paths(build_parser())


def test_the_command_walk_finds_nested_commands() -> None:
    assert {(), ("colourise",), ("data",), ("data", "list")} <= set(COMMANDS)
    assert len(set(COMMANDS)) == len(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "tinct")
def test_help_on_every_command(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([*path, "--help"])
    assert exc.value.code == 0
    assert f"usage: {' '.join(('tinct', *path))}" in capsys.readouterr().out


def test_models_lists_bundled_and_registered(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "default" in out and "effnet-unet" in out and "unet" in out
    assert "weights missing" not in out


def test_colourise_single_file_next_to_input(tmp_path: Path) -> None:
    src = tmp_path / "astronaut.png"
    shutil.copy(SAMPLES / "astronaut.png", src)
    grey = tmp_path / "grey.png"
    Image.open(src).convert("L").save(grey)
    assert main(["colourise", str(grey), "-q"]) == 0
    out = np.asarray(Image.open(tmp_path / "grey_colour.png"))
    assert out.shape == (512, 512, 3)
    # The default model colours a grey photo: clearly more colourful than grey (0).
    assert colourfulness(out) > 10


def test_colourise_folder_with_a_corrupt_file(
    photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(["colourise", str(photos), "-o", str(out), "-q", "--allow-colour"])
    assert code == 1
    err = capsys.readouterr().err
    assert "skipped 1 input" in err and "corrupt.png" in err
    assert (out / "astronaut.png").is_file()
    assert (out / "sub" / "chelsea.png").is_file()
    assert Image.open(out / "coffee_grey.jpg").size == Image.open(photos / "coffee_grey.jpg").size
    assert Image.open(out / "coffee_grey.jpg").mode == "RGB"
    assert not (out / "corrupt.png").exists()


def test_colourise_jpeg_subsampling_option(tmp_path: Path) -> None:
    from PIL import JpegImagePlugin

    src = tmp_path / "astronaut.jpg"
    Image.open(SAMPLES / "astronaut.png").convert("L").save(src)
    for option, code in ((None, 2), ("4:4:4", 0)):
        out = tmp_path / f"out{code}"
        extra = [] if option is None else ["--jpeg-subsampling", option]
        assert main(["colourise", str(src), "-o", str(out), "-q", *extra]) == 0
        with Image.open(out / "astronaut.jpg") as im:
            assert im.size == (512, 512) and JpegImagePlugin.get_sampling(im) == code


def test_colourise_glob_and_missing_input(
    photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["colourise", str(photos / "*.jpg"), "-o", str(out), "--format", "webp", "-q"]
    # A named input that does not exist is a usage error: nothing is done (issue 23).
    assert main([*args[:2], str(tmp_path / "nope.png"), *args[2:]]) == 2
    assert "nope.png" in capsys.readouterr().err
    assert not out.exists()
    assert main(args) == 0
    assert [p.name for p in out.iterdir()] == ["coffee_grey.webp"]


def test_colourise_bad_model_is_a_clear_error(
    photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["colourise", str(photos / "astronaut.png"), "--model", "missing.pt"]) == 2
    assert "missing.pt" in capsys.readouterr().err


@pytest.mark.slow
def test_console_script_on_astronaut(tmp_path: Path) -> None:
    """The installed `tinct` command, as a user runs it, on scikit-image's astronaut.png."""
    exe = Path(sys.executable).with_name("tinct")
    shutil.copy(SAMPLES / "astronaut.png", tmp_path / "astronaut.png")
    proc = subprocess.run(
        [str(exe), "colourise", str(tmp_path / "astronaut.png"), "--allow-colour"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    out = Image.open(tmp_path / "astronaut_colour.png")
    assert out.size == (512, 512) and out.mode == "RGB"


def test_export_keeps_and_adds_metadata(tmp_path: Path) -> None:
    from tinct.models import create_model, load_metadata, save_model

    src = save_model(
        create_model("unet", base_channels=4, depth=1), tmp_path / "m.pt", metadata={"step": 3}
    )
    out = tmp_path / "exported.pt"
    assert (
        main(["export", str(src), str(out), "--metadata", "name=mine", "--metadata", "epochs=2"])
        == 0
    )
    meta = load_metadata(out)
    assert meta["step"] == 3 and meta["name"] == "mine" and meta["epochs"] == 2
    assert meta["source"] == str(src)
    assert main(["export", str(src), str(out), "--metadata", "novalue"]) == 2


def test_train_without_data_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"data:\n  root: {tmp_path / 'no_corpus'}\noutput_dir: {tmp_path / 'run'}\n")
    assert main(["train", str(config)]) == 2
    err = capsys.readouterr().err
    assert "no_corpus" in err and "build-corpus" in err
    assert main(["train", str(tmp_path / "missing.yaml")]) == 2


def test_data_list_shows_presence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cifar-10-batches-py").mkdir()
    assert main(["data", "list", "--root", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    state = {line.split()[0]: line.split()[1] for line in lines if line and not line[0].isspace()}
    assert state["cifar10"] == "present" and state["stl10"] == "missing"
    assert state["shapes"] == "ready"


def test_data_download_refuses_what_cannot_be_downloaded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["data", "download", "flickr30k", "--root", str(tmp_path)]) == 1
    assert "request form" in capsys.readouterr().err
    assert main(["data", "download", "nosuch", "--root", str(tmp_path)]) == 1
    assert "unknown dataset 'nosuch'" in capsys.readouterr().err


def test_make_shapes_then_inspect(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "shapes"
    assert main(["data", "make-shapes", "24", str(out), "--size", "40", "-q"]) == 0
    pngs = sorted(out.rglob("*.png"))
    assert len(pngs) == 24 and {p.parent.name for p in pngs} <= {"circle", "square", "triangle"}
    assert Image.open(pngs[0]).size == (40, 40)
    capsys.readouterr()
    figure, numbers = tmp_path / "inspect.png", tmp_path / "inspect.json"
    args = ["data", "inspect", str(out), "-q", "--out", str(figure), "--json", str(numbers)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "items: 24" in text and "classes (3)" in text and "40x40" in text
    assert Image.open(figure).format == "PNG"
    import json

    report = json.loads(numbers.read_text())
    assert report["items"] == 24 and sum(report["classes"].values()) == 24
    # Shapes are saturated colours on neutral grey: a clear share of pixels is near grey.
    assert 0.2 < report["near_grey_fraction"] < 0.95
    assert main(["data", "make-shapes", "0", str(out)]) == 2
    assert main(["data", "inspect", str(tmp_path / "nothing")]) == 1


def test_inspect_reports_unreadable_files(
    photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["data", "inspect", str(photos), "-q", "--out", str(tmp_path / "f.png")]) == 0
    out = capsys.readouterr().out
    assert "unreadable 1" in out and "corrupt.png" in out


def test_data_prior_counts_bins_like_a_naive_reference(
    photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from skimage.color import rgb2lab

    from tinct.color import BinPrior, zhang_bins
    from tinct.io.resize import resize_short_side

    out = tmp_path / "prior.json"
    args = ["data", "prior", str(photos), "-o", str(out), "--size", "48", "-q"]
    assert main(args) == 1  # written, but the corrupt file is reported
    captured = capsys.readouterr()
    assert "corrupt.png" in captured.err and "1 unreadable" in captured.err
    assert "313 zhang313 bins" in captured.out
    prior = BinPrior.load(out)

    # Reference: scikit-image's Lab of every 4th pixel of each photo at 48 px, nearest of
    # the 313 centres by brute force.
    bins = zhang_bins().double().numpy()
    counts = np.zeros(len(bins))
    for name in ("astronaut.png", "sub/chelsea.png", "coffee_grey.jpg"):
        rgb = np.asarray(Image.open(photos / name).convert("RGB"))
        small = resize_short_side(rgb, 48)[::4, ::4]
        ab = rgb2lab(small)[..., 1:].reshape(-1, 2)
        nearest = ((ab[:, None, :] - bins[None]) ** 2).sum(-1).argmin(1)
        counts += np.bincount(nearest, minlength=len(bins))
    assert prior.num_pixels == counts.sum()
    # Pixels on a bin boundary may go either way; nearly all agree.
    assert np.abs(prior.counts.numpy() - counts).sum() <= 0.01 * counts.sum()

    assert main(["data", "prior", str(photos), "-o", str(out), "--stride", "0"]) == 2
    assert main(["data", "prior", str(tmp_path / "nothing"), "-o", str(out)]) == 1
