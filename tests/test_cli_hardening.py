"""`tinct colourise` and the other commands with hostile and awkward inputs: nothing a user
owns is lost, nothing in a data file runs, every bad input gets one clear line."""

from __future__ import annotations

import hashlib
import os
import pickle
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tinct.cli import build_parser, main


def grey_photos(folder: Path, names: list[str], size: tuple[int, int] = (48, 64)) -> list[Path]:
    """Small greyscale photos (a gradient with a square) at ``folder/name``."""
    paths = []
    for i, name in enumerate(names):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        y, x = np.mgrid[0 : size[0], 0 : size[1]]
        grey = ((x * 3 + y * 2 + 40 * i) % 256).astype(np.uint8)
        grey[10:20, 10:20] = 200
        Image.fromarray(grey).save(path)
        paths.append(path)
    return paths


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# --- no data loss ---------------------------------------------------------------------------


def test_output_folder_equal_to_the_input_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scans = tmp_path / "scans"
    grey_photos(scans, ["a.png", "b.png"])
    before = digests(scans)
    assert main(["colourise", str(scans), "-o", str(scans), "-q"]) == 2
    assert "would replace the input" in capsys.readouterr().err
    assert digests(scans) == before  # the originals' bytes, and nothing written


def test_output_folder_inside_the_input_folder_is_not_scanned(tmp_path: Path) -> None:
    scans = tmp_path / "scans"
    grey_photos(scans, ["a.png", "sub/b.png"])
    out = scans / "out"
    for _ in range(3):
        main(["colourise", str(scans), "-o", str(out), "-q", "--overwrite"])
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*.png"))
    assert written == ["a.png", "sub/b.png"]  # no out/out/...


def test_existing_outputs_are_kept_and_a_rerun_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scans = tmp_path / "scans"
    grey_photos(scans, ["a.png", "b.png"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.png").write_bytes(b"mine")  # a file the user owns
    assert main(["colourise", str(scans), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "1 input(s) already done" in text
    assert (out / "a.png").read_bytes() == b"mine"
    assert Image.open(out / "b.png").mode == "RGB"
    assert main(["colourise", str(scans), "-o", str(out), "--overwrite", "-q"]) == 0
    assert Image.open(out / "a.png").size == (64, 48)


def test_ctrl_c_leaves_only_complete_files_and_says_what_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import tinct.pipeline.batch as batch

    scans = tmp_path / "scans"
    grey_photos(scans, ["a.png", "b.png", "c.png"])
    real_write = batch.write_image
    calls = {"n": 0}

    def interrupting_write(*args: object, **kwargs: object) -> Path:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_write(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(batch, "write_image", interrupting_write)
    out = tmp_path / "out"
    assert main(["colourise", str(scans), "-o", str(out), "-q", "--workers", "0"]) == 130
    assert "interrupted: 1 written, 2 left" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["a.png"]  # no partial or temp file
    monkeypatch.setattr(batch, "write_image", real_write)
    assert main(["colourise", str(scans), "-o", str(out), "-q"]) == 0  # resumes
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "c.png"]


def test_ctrl_c_in_any_command_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import tinct.cli.train as cli_train

    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_train, "run_models", interrupted)
    assert main(["models"]) == 130
    assert "interrupted" in capsys.readouterr().err


# --- hangs, aborts, bad options -------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_input_is_skipped_within_seconds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    codes: list[int] = []
    worker = threading.Thread(target=lambda: codes.append(main(["colourise", str(fifo), "-q"])))
    worker.daemon = True
    start = time.monotonic()
    worker.start()
    worker.join(20)
    assert not worker.is_alive() and time.monotonic() - start < 20
    assert codes == [1]
    assert "pipe.png" in capsys.readouterr().err


def test_a_symlink_loop_in_a_folder_is_skipped_and_the_rest_done(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scans = tmp_path / "scans"
    grey_photos(scans, ["a.png"])
    (scans / "x.png").symlink_to(scans / "x.png")
    out = tmp_path / "out"
    assert main(["colourise", str(scans), "-o", str(out), "-q"]) == 1
    assert "x.png" in capsys.readouterr().err
    assert (out / "a.png").is_file()


@pytest.mark.parametrize(
    "option",
    [
        ["--saturation", "nan"],
        ["--saturation", "inf"],
        ["--saturation", "-1"],
        ["--size", "100000"],
        ["--quality", "0"],
        ["--quality", "101"],
        ["--samples", "0"],
        ["--workers", "-1"],
    ],
)
def test_bad_options_are_usage_errors_before_any_work(
    option: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import tinct.models

    grey_photos(tmp_path, ["a.png"])
    loads: list[object] = []
    monkeypatch.setattr(tinct.models, "load_model", lambda *a, **k: loads.append(a))
    assert main(["colourise", str(tmp_path / "a.png"), *option]) == 2
    assert option[0] in capsys.readouterr().err
    assert not (tmp_path / "a_colour.png").exists() and not loads


def test_missing_input_is_a_usage_error_before_the_model_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import tinct.models

    monkeypatch.setattr(tinct.models, "load_model", lambda *a, **k: pytest.fail("loaded"))
    assert main(["colourise", str(tmp_path / "nope.png")]) == 2
    assert "nope.png" in capsys.readouterr().err


def test_evaluate_limit_zero_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--limit", "0"]) == 2
    assert "--limit" in capsys.readouterr().err


# --- model files and checkpoints ------------------------------------------------------------


class Planted:
    """Unpickling this creates a marker file: the proof that a loader ran data as code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (Path.touch, (str(self.marker),))  # type: ignore[return-value]


def test_bad_model_files_name_the_file_and_the_mismatch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tinct.models import create_model, save_model

    grey_photos(tmp_path, ["a.png"])
    good = save_model(create_model("unet", base_channels=4, depth=1), tmp_path / "m.pt")
    payload = torch.load(good, weights_only=True)
    cases = {
        "args.pt": {**payload, "kwargs": {"no_such_argument": 3}},
        "weights.pt": {**payload, "state_dict": {}},
        "arch.pt": {**payload, "model": "unett"},
        "shapes.pt": {**payload, "kwargs": {"base_channels": 8, "depth": 1}},
    }
    for name, bad in cases.items():
        torch.save(bad, tmp_path / name)
    torch.save({"x": Planted(tmp_path / "ran")}, tmp_path / "planted.pt")
    (tmp_path / "truncated.pt").write_bytes(good.read_bytes()[:200])
    for name, expected in [
        ("args.pt", "arguments do not fit"),
        ("weights.pt", "weights do not fit"),
        ("arch.pt", "did you mean 'unet'"),
        ("shapes.pt", "weights do not fit"),
        ("planted.pt", "not a tinct model file"),
        ("truncated.pt", "not a tinct model file"),
    ]:
        code = main(["colourise", str(tmp_path / "a.png"), "-m", str(tmp_path / name), "-q"])
        err = capsys.readouterr().err
        assert code == 2, name
        assert name in err and expected in err and "Traceback" not in err, err
    assert not (tmp_path / "ran").exists()


def test_unknown_model_name_suggests_the_close_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grey_photos(tmp_path, ["a.png"])
    assert main(["colourise", str(tmp_path / "a.png"), "-m", "defualt"]) == 2
    assert "did you mean 'default'" in capsys.readouterr().err


def test_dataset_names_suggest_the_close_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["data", "download", "cifar1O", "--root", str(tmp_path)]) == 1
    assert "did you mean 'cifar10'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("trainer.max_steps=abc", "trainer.max_steps must be an integer"),
        ("trainer.max_steps=-3", "trainer.max_steps must be >= 1"),
        ("trainer.max_time=soon", "trainer.max_time must be a duration"),
        ("trainer.max_steps=[1", "not valid YAML"),
        ("optim.lr=fast", "optim.lr must be a number"),
        ("optim.lr=-0.1", "optim.lr must be > 0"),
        ("model.name=effnet-unett", "did you mean 'effnet-unet'"),
    ],
)
def test_bad_config_values_are_one_line_errors(
    override: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"output_dir: {tmp_path / 'run'}\ndata: {{kind: folder, root: {tmp_path}}}\n")
    grey_photos(tmp_path, ["a.png", "b.png"])
    assert main(["train", str(config), "--set", override, "-q"]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err and err.count("\n") == 1, err


def test_a_planted_checkpoint_to_resume_runs_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        f"output_dir: {tmp_path / 'run'}\n"
        f"data: {{kind: folder, root: {tmp_path / 'photos'}, image_size: 32, val_size: 32}}\n"
        "model: {name: unet, kwargs: {base_channels: 4, depth: 1}, input_size: 32}\n"
        "trainer: {max_steps: 1, batch_size: 2}\n"
    )
    grey_photos(tmp_path / "photos", ["a.png", "b.png"])
    ckpt = tmp_path / "evil.ckpt"
    with open(ckpt, "wb") as f:
        pickle.dump({"state_dict": Planted(tmp_path / "ran")}, f)
    assert main(["train", str(config), "--resume", str(ckpt), "-q"]) == 2
    err = capsys.readouterr().err
    assert "evil.ckpt" in err and "Traceback" not in err
    assert not (tmp_path / "ran").exists()


def test_export_never_replaces_a_file_unasked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tinct.models import create_model, save_model

    src = save_model(create_model("unet", base_channels=4, depth=1), tmp_path / "m.pt")
    mine = tmp_path / "mine.pt"
    mine.write_bytes(b"precious")
    assert main(["export", str(src), str(mine)]) == 2
    assert "--overwrite" in capsys.readouterr().err and mine.read_bytes() == b"precious"
    assert main(["export", str(src), str(mine), "--overwrite"]) == 0


# --- metadata and colour inputs -------------------------------------------------------------


def test_metadata_survives_the_command(tmp_path: Path) -> None:
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    grey = np.asarray(Image.open(grey_photos(tmp_path, ["g.png"])[0]))
    exif = Image.Exif()
    exif[0x0110] = "Tinct Test Camera"  # Model
    exif.get_ifd(0x8769)[0x9003] = "1931:05:17 10:00:00"  # DateTimeOriginal
    src = tmp_path / "old.jpg"
    Image.fromarray(grey).save(src, exif=exif, icc_profile=icc, dpi=(300, 300))
    assert main(["colourise", str(src), "-q"]) == 0
    with Image.open(tmp_path / "old_colour.jpg") as out:
        got = out.getexif()
        assert got[0x0110] == "Tinct Test Camera"
        assert got.get_ifd(0x8769)[0x9003] == "1931:05:17 10:00:00"
        assert out.info["icc_profile"] == icc
        assert tuple(round(v) for v in out.info["dpi"]) == (300, 300)
    assert main(["colourise", str(src), "-q", "--strip-metadata", "--overwrite"]) == 0
    with Image.open(tmp_path / "old_colour.jpg") as out:
        assert "icc_profile" not in out.info and 0x0110 not in out.getexif()


def test_colour_inputs_are_skipped_unless_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import skimage.data

    Image.fromarray(skimage.data.astronaut()[::4, ::4]).save(tmp_path / "colour.png")
    assert main(["colourise", str(tmp_path / "colour.png"), "-q"]) == 1
    assert "already in colour" in capsys.readouterr().err
    assert not (tmp_path / "colour_colour.png").exists()
    assert main(["colourise", str(tmp_path / "colour.png"), "-q", "--allow-colour"]) == 0
    assert (tmp_path / "colour_colour.png").is_file()


# --- manners ----------------------------------------------------------------------------------


def test_single_input_says_where_its_output_went(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (src,) = grey_photos(tmp_path, ["a.png"])
    assert main(["colourise", str(src)]) == 0
    captured = capsys.readouterr()
    assert str(tmp_path / "a_colour.png") in captured.out
    assert "\r" not in captured.err  # no progress frames when stderr is not a terminal


def test_output_naming_a_file_writes_that_file_for_one_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (src,) = grey_photos(tmp_path, ["a.png"])
    out = tmp_path / "sub" / "mine.jpg"
    assert main(["colourise", str(src), "-o", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    assert out.is_file() and not out.is_dir()
    with Image.open(out) as image:  # the suffix is the format, whatever the input's
        assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (64, 48))
    assert sorted(p.name for p in out.parent.iterdir()) == ["mine.jpg"]
    # It is the user's file now: a rerun keeps it unless --overwrite.
    out.write_bytes(b"mine")
    assert main(["colourise", str(src), "-o", str(out)]) == 0
    assert "already done" in capsys.readouterr().out
    assert out.read_bytes() == b"mine"
    assert main(["colourise", str(src), "-o", str(out), "--overwrite", "-q"]) == 0
    assert out.read_bytes()[:2] == b"\xff\xd8"


def test_output_file_with_several_inputs_or_a_clash_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scans = tmp_path / "scans"
    a, _ = grey_photos(scans, ["a.png", "b.png"])
    before = digests(tmp_path)
    cases = [
        ([str(scans), "-o", str(tmp_path / "out.png")], "there are 2 inputs"),
        ([str(a), "-o", str(a)], "would replace the input"),
        ([str(a), "-o", str(tmp_path / "out.png"), "--format", "jpg"], "disagree"),
        ([str(a), "-o", str(tmp_path / "out.mp4")], "needs an image suffix"),
        ([str(a), "-o", str(tmp_path / "out.gif")], "does not write"),
    ]
    for argv, message in cases:
        assert main(["colourise", *argv, "-q"]) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    assert digests(tmp_path) == before  # nothing written, nothing replaced


def test_an_existing_folder_with_an_image_suffix_stays_a_folder(tmp_path: Path) -> None:
    (src,) = grey_photos(tmp_path, ["a.png"])
    folder = tmp_path / "results.png"
    folder.mkdir()
    assert main(["colourise", str(src), "-o", str(folder), "-q"]) == 0
    assert (folder / "a.png").is_file()


def test_every_command_help_has_an_example_and_the_exit_statuses() -> None:
    import argparse

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> list[list[str]]:
        found = [path]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in dict(action.choices).items():
                    if sub.prog.split()[-1] == name:  # aliases once
                        found += walk(sub, [*path, name])
        return found

    for path in walk(build_parser(), []):
        parser = build_parser()
        for name in path:
            parser = next(
                a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
            ).choices[name]
        text = parser.format_help()
        assert "examples:" in text and "130 interrupted" in text, path


def test_ctrl_c_during_training_exits_130_and_restores_ctrl_c(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import signal

    from helpers import write_photos
    from tinct.train.objectives.base import Objective

    def interrupted(self: object, module: object, batch: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Objective, "training_step", interrupted)
    write_photos(tmp_path / "photos", 4, size=(40, 48))
    config = tmp_path / "c.yaml"
    config.write_text(
        f"output_dir: {tmp_path / 'run'}\n"
        f"data: {{kind: folder, root: {tmp_path / 'photos'}, image_size: 32, val_size: 32,"
        " num_workers: 0, samples_per_epoch: 8}\n"
        "model: {name: unet, kwargs: {base_channels: 4, depth: 1}, input_size: 32}\n"
        "trainer: {max_steps: 3, batch_size: 2}\n"
    )
    before = signal.getsignal(signal.SIGINT)
    assert main(["train", str(config), "-q"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) == before
    assert not (tmp_path / "run" / "model.pt").exists()
