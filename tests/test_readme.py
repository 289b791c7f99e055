"""The README's commands run as written: the quick start after a plain install (bundled
models only), and the fine-tuning recipe from the shipped config."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from tinct.cli import main

README = Path(__file__).parents[1] / "README.md"


def readme_block(marker: str) -> list[str]:
    """The command lines of the code block after ``<!-- marker -->``, comments removed."""
    text = README.read_text(encoding="utf-8")
    block = re.search(rf"<!-- {marker} -->\s*```\n(.*?)```", text, re.S)
    assert block, f"README.md has no code block after <!-- {marker} -->"
    lines = [line.split(" #")[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line]


def grey_photo(path: Path, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = skimage.data.astronaut() if seed % 2 else skimage.data.chelsea()
    Image.fromarray(rgb[::3, ::3]).convert("L").save(path)


def test_quick_start_commands_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    grey_photo(tmp_path / "old_photo.jpg", 1)
    for i, name in enumerate(["a.png", "b.png", "sub/c.png"]):
        grey_photo(tmp_path / "scans" / name, i)
    commands = readme_block("readme:quickstart")
    assert len(commands) >= 5
    for line in commands:
        argv = shlex.split(line)
        assert argv[0] == "tinct", line
        assert main([*argv[1:], *(["-q"] if argv[1] == "colourise" else [])]) == 0, line
    assert Image.open("old_photo_colour.jpg").size == Image.open("old_photo.jpg").size
    assert Path("coloured/sub/c.png").is_file() and Path("scans/a_colour.png").is_file()
    samples = sorted(p.name for p in tmp_path.glob("old_photo_colour_*.jpg"))
    assert samples == [f"old_photo_colour_{i}.jpg" for i in (1, 2, 3, 4)]
    first, second = (np.asarray(Image.open(tmp_path / n), dtype=float) for n in samples[:2])
    assert np.abs(first - second).mean() > 0.5  # the samples differ


@pytest.mark.slow
def test_fine_tuning_recipe_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).parents[1])
    text = README.read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith("tinct train configs/finetune"))
    argv = shlex.split(line.split(" #")[0])
    photos = tmp_path / "photos"
    for i in range(6):
        photos.mkdir(exist_ok=True)
        rgb = skimage.data.astronaut() if i % 2 else skimage.data.coffee()
        Image.fromarray(np.roll(rgb, 40 * i, axis=1)[::2, ::2]).save(photos / f"{i}.png")
    small = [
        f"data.root={photos}",
        f"output_dir={tmp_path / 'run'}",
        "trainer.max_steps=2",
        "trainer.batch_size=2",
        "trainer.val_every_steps=1",
        "data.samples_per_epoch=4",
        "data.image_size=64",
        "data.val_size=64",
    ]
    overrides = [x for pair in (("--set", s) for s in small) for x in pair]
    assert argv[:3] == ["tinct", "train", "configs/finetune.yaml"]
    assert main([*argv[1:3], *overrides, "-q"]) == 0
    assert (tmp_path / "run" / "model.pt").is_file()
