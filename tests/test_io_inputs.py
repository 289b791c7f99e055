"""Inputs that would hang or abort a run (FIFOs, devices, link loops), and inputs that
are already in colour."""

from __future__ import annotations

import io
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
from PIL import Image

from tinct.io import (
    COLOUR_THRESHOLD,
    ImageReadError,
    colour_share,
    find_image_files,
    is_colour,
    iter_image_files,
    not_regular_file_reason,
    read_image,
    read_image_numpy,
    read_image_with_metadata,
)

T = TypeVar("T")

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and symlinks")


def _within(seconds: float, call: Callable[[], T]) -> T:
    """Run ``call`` in a daemon thread; fail (instead of hanging) if it has not returned
    after ``seconds``.  Exceptions are re-raised here."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as err:  # re-raised in the test's thread
            box["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s (blocked on a FIFO?)"
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def _png(path: Path) -> Path:
    Image.fromarray(np.full((4, 5, 3), 100, np.uint8)).save(path)
    return path


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no os.mkfifo")
    path = tmp_path / "pipe.png"
    os.mkfifo(path)
    return path


# --------------------------------------------------------------------------- #
# reading refuses non-regular files without blocking
# --------------------------------------------------------------------------- #


@posix_only
@pytest.mark.parametrize("reader", [read_image, read_image_numpy, read_image_with_metadata])
def test_reading_a_fifo_is_refused_at_once(fifo: Path, reader: Callable[[Path], Any]) -> None:
    with pytest.raises(ImageReadError, match="FIFO") as info:
        _within(10, lambda: reader(fifo))
    assert info.value.path == fifo
    assert str(fifo) in str(info.value)


@posix_only
def test_reading_dev_null_is_refused() -> None:
    if not Path("/dev/null").exists():
        pytest.skip("no /dev/null")
    with pytest.raises(ImageReadError, match="character device"):
        _within(10, lambda: read_image_numpy("/dev/null"))


@posix_only
def test_reading_a_symlink_loop_is_an_image_read_error(tmp_path: Path) -> None:
    loop = tmp_path / "x.png"
    loop.symlink_to(loop.name)
    with pytest.raises(ImageReadError, match="symbolic link loop"):
        read_image_numpy(loop)
    broken = tmp_path / "b.png"
    broken.symlink_to("nowhere.png")
    with pytest.raises(ImageReadError, match="broken symbolic link"):
        read_image_numpy(broken)


def test_reading_still_works_through_a_file_symlink(tmp_path: Path) -> None:
    src = _png(tmp_path / "a.png")
    link = tmp_path / "link.png"
    try:
        link.symlink_to(src.name)
    except OSError:
        pytest.skip("cannot make symlinks here")
    np.testing.assert_array_equal(read_image_numpy(link), read_image_numpy(src))


@posix_only
def test_not_regular_file_reason(tmp_path: Path, fifo: Path) -> None:
    assert not_regular_file_reason(_png(tmp_path / "a.png")) is None
    assert "FIFO" in (not_regular_file_reason(fifo) or "")
    assert "directory" in (not_regular_file_reason(tmp_path) or "")
    assert not_regular_file_reason(tmp_path / "nope.png") == "no such file"


# --------------------------------------------------------------------------- #
# expanding inputs: skip with a reason, never hang, never abort
# --------------------------------------------------------------------------- #


@posix_only
def test_fifo_named_directly_is_skipped_with_reason(tmp_path: Path, fifo: Path) -> None:
    good = _png(tmp_path / "good.png")
    found = _within(10, lambda: find_image_files([good, fifo]))
    assert found.files == [good]
    assert found.skipped == [(fifo, "not a regular file: a FIFO (named pipe)")]
    assert _within(10, lambda: iter_image_files([fifo, good])) == [good]


@posix_only
def test_fifo_inside_a_folder_is_skipped_with_reason(tmp_path: Path, fifo: Path) -> None:
    good = _png(tmp_path / "good.png")
    for inputs in ([tmp_path], [f"{tmp_path}/*.png"], [f"{tmp_path}/**/*.png"]):
        found = _within(10, lambda inputs=inputs: find_image_files(inputs))  # type: ignore[misc]
        assert found.files == [good], inputs
        assert [(p.name, "FIFO" in r) for p, r in found.skipped] == [("pipe.png", True)], inputs


@posix_only
def test_dev_null_named_directly(tmp_path: Path) -> None:
    if not Path("/dev/null").exists():
        pytest.skip("no /dev/null")
    found = _within(10, lambda: find_image_files(["/dev/null"]))
    assert found.files == []
    assert found.skipped == [(Path("/dev/null"), "not a regular file: a character device")]


@posix_only
def test_symlink_loop_in_a_folder_is_skipped_not_fatal(tmp_path: Path) -> None:
    good = _png(tmp_path / "a.png")
    (tmp_path / "x.png").symlink_to("x.png")  # a link to itself
    (tmp_path / "y.png").symlink_to("z.png")
    (tmp_path / "z.png").symlink_to("y.png")  # a loop of two
    (tmp_path / "gone.png").symlink_to("missing.png")
    found = find_image_files([tmp_path])
    assert found.files == [good]
    reasons = {p.name: r for p, r in found.skipped}
    assert set(reasons) == {"x.png", "y.png", "z.png", "gone.png"}
    assert "loop" in reasons["x.png"] and "loop" in reasons["y.png"]
    assert "broken symbolic link" in reasons["gone.png"]
    # named directly: skipped too (it exists, as a link), not "no such file"
    direct = find_image_files([tmp_path / "x.png"])
    assert direct.files == [] and "loop" in direct.skipped[0][1]
    assert iter_image_files([tmp_path]) == [good]


@posix_only
def test_symlinked_folder_loops_end(tmp_path: Path) -> None:
    """Links back to a parent folder would make a following walk endless; two of them
    make Python's own ``glob('**')`` run for ever."""
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    a, b = _png(root / "a.png"), _png(root / "sub" / "b.png")
    (root / "sub" / "up").symlink_to("..")
    (root / "sub" / "up2").symlink_to("..")
    (root / "self").symlink_to(".")
    for inputs in ([root], [f"{root}/**/*.png"], [f"{root}/**"]):
        found = _within(10, lambda inputs=inputs: find_image_files(inputs))  # type: ignore[misc]
        assert found.files == [a, b], inputs
        skipped = sorted(p.relative_to(root).as_posix() for p, _ in found.skipped)
        assert skipped == ["self", "sub/up", "sub/up2"], inputs
        assert all("not followed" in r for _, r in found.skipped)
    # A linked folder named directly is walked (its own links are not followed).
    assert find_image_files([root / "self"]).files == [root / "self" / "a.png",
                                                       root / "self" / "sub" / "b.png"]  # fmt: skip


@posix_only
def test_unlistable_subfolder_is_skipped(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root can list anything")
    good = _png(tmp_path / "a.png")
    locked = tmp_path / "locked"
    locked.mkdir()
    _png(locked / "c.png")
    locked.chmod(0)
    try:
        found = find_image_files([tmp_path])
    finally:
        locked.chmod(0o755)
    assert found.files == [good]
    assert found.skipped == [(locked, "cannot list the folder: permission denied")]


def test_pattern_rules_as_glob(tmp_path: Path) -> None:
    """The hand-written matcher keeps glob's rules: hidden names need a dot in the
    pattern, ``**`` matches zero folders too, and only with ``recursive``."""
    for rel in ["a.png", ".h.png", "s/b.png", "s/t/c.png", ".hid/d.png", "s/.e.png"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        _png(tmp_path / rel)

    def names(pattern: str, recursive: bool = True) -> list[str]:
        files = find_image_files([f"{tmp_path}/{pattern}"], recursive=recursive).files
        return [p.relative_to(tmp_path).as_posix() for p in files]

    assert names("*.png") == ["a.png"]
    with pytest.raises(FileNotFoundError):
        names(".*.png")  # hidden files are never taken, even when asked for
    assert names("**/*.png") == ["a.png", "s/b.png", "s/t/c.png"]
    assert names("**/*.png", recursive=False) == ["s/b.png"]  # ** is * without recursion
    assert names("s/**/c.png") == ["s/t/c.png"]
    assert names("*/b.png") == ["s/b.png"]
    assert names("s/[bc].png") == ["s/b.png"]
    with pytest.raises(FileNotFoundError, match="no image files match"):
        find_image_files([f"{tmp_path}/nope/**/*.png"])


def test_relative_patterns_keep_their_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "d").mkdir()
    _png(tmp_path / "d" / "a.png")
    monkeypatch.chdir(tmp_path)
    assert find_image_files(["d/*.png"]).files == [Path("d/a.png")]
    assert find_image_files(["*/a.png"]).files == [Path("d/a.png")]
    assert find_image_files(["**/a.png"]).files == [Path("d/a.png")]


# --------------------------------------------------------------------------- #
# already in colour?
# --------------------------------------------------------------------------- #


def _jpeg(rgb: np.ndarray, quality: int = 75) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality, subsampling="4:2:0")
    return np.asarray(Image.open(buf).convert("RGB"))


def _astronaut() -> np.ndarray:
    skimage_data = pytest.importorskip("skimage.data")
    return np.asarray(skimage_data.astronaut())


def _grey_of(rgb: np.ndarray) -> np.ndarray:
    grey = np.asarray(Image.fromarray(rgb).convert("L"))
    return np.repeat(grey[..., None], 3, axis=2)


def _sepia(rgb: np.ndarray) -> np.ndarray:
    """A sepia-toned print: warm tint strongest in the mid-tones, white highlights."""
    g = _grey_of(rgb)[..., 0].astype(np.float64) / 255
    toned = np.stack([g**0.85, g**1.0 * 0.92, g**1.35 * 0.72], axis=-1)
    return np.clip(np.rint(toned * 255), 0, 255).astype(np.uint8)


def test_grey_image_is_not_colour() -> None:
    y, x = np.mgrid[0:120, 0:160]
    grey = ((x + y) * 255 // 278).astype(np.uint8)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    assert colour_share(rgb) == 0.0
    assert not is_colour(rgb)


def test_grey_scan_with_noise_through_jpeg_is_not_colour() -> None:
    rng = np.random.default_rng(0)
    grey = _grey_of(_astronaut()).astype(np.int64)
    scan = np.clip(grey + rng.normal(0, 3, grey.shape).round(), 0, 255).astype(np.uint8)
    noisy = _jpeg(scan, quality=95)  # per-channel sensor noise and JPEG chroma noise
    assert np.abs(noisy.astype(int) - noisy.mean(axis=2, keepdims=True)).max() > 3
    assert colour_share(noisy) < COLOUR_THRESHOLD / 5
    assert not is_colour(noisy)


def test_sepia_toned_print_is_not_colour() -> None:
    for toned in (_sepia(_astronaut()), _jpeg(_sepia(_astronaut()))):
        chroma = toned.max(axis=2).astype(int) - toned.min(axis=2)
        assert np.mean(chroma > 20) > 0.5  # strongly tinted ...
        assert not is_colour(toned)  # ... but uniformly: not colour
        assert colour_share(toned) < COLOUR_THRESHOLD


def test_colour_photo_is_colour() -> None:
    astronaut = _astronaut()
    assert is_colour(astronaut)
    assert is_colour(_jpeg(astronaut))
    assert colour_share(astronaut) > 5 * COLOUR_THRESHOLD


def test_grey_picture_with_a_coloured_part() -> None:
    astronaut = _astronaut()
    grey = _grey_of(astronaut)
    partly = grey.copy()
    partly[100:300, 100:300] = astronaut[100:300, 100:300]  # 15 % of the picture
    assert is_colour(partly)
    assert is_colour(_jpeg(partly))
    assert not is_colour(grey)


def test_is_colour_arguments() -> None:
    rgb = np.zeros((4, 4, 3), np.uint8)
    assert not is_colour(rgb)
    with pytest.raises(ValueError, match="uint8"):
        is_colour(rgb.astype(np.float32))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        is_colour(rgb[..., 0])
    with pytest.raises(ValueError, match="threshold"):
        is_colour(rgb, threshold=1.5)
    assert is_colour(np.zeros((1, 1, 3), np.uint8)) is False  # tiny images work
    large = np.random.default_rng(1).integers(0, 256, (1000, 1500, 3), dtype=np.uint8)
    assert 0.0 <= colour_share(large) <= 1.0
