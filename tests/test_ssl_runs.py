"""End-to-end runs of tinct ssl on tiny offline data: every pretext method through
``tinct ssl pretrain`` (with resume), the probe on a fake STL-10 (its folds protocol) and
on a class folder, and every fine-tuning mode (slow suite)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from fake_datasets import write_stl10
from helpers import write_photos
from tinct.cli import main
from tinct.ssl.encoders import read_encoder_metadata

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_thread")]

CONFIGS = Path(__file__).parents[1] / "configs" / "ssl"


def _pretrain_args(config: str, photos: Path, out: Path, steps: int) -> list[str]:
    sets = [
        "data.kind=folder",
        f"data.root={photos}",
        "data.image_size=32",
        "data.val_size=32",
        "data.samples_per_epoch=16",
        "data.val_fraction=0.25",
        "data.num_workers=0",
        "data.cache_short_side=64",
        "backbone.width=4",
        "trainer.batch_size=4",
        f"trainer.max_steps={steps}",
        f"trainer.val_every_steps={steps}",
        f"trainer.checkpoint_every_steps={steps}",
        "trainer.log_every_steps=1",
        "prior_batches=1",
    ]
    args = ["ssl", "pretrain", str(CONFIGS / config), "--output-dir", str(out), "-q"]
    for item in sets:
        args += ["--set", item]
    return args


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_photos(tmp_path_factory.mktemp("photos"), 8, size=(48, 64))[0].parent


@pytest.mark.parametrize(
    "config",
    [
        "cross-channel.yaml",
        "split-brain.yaml",
        "split-brain-classification.yaml",
        "simclr.yaml",
        "contrast-channels.yaml",
        "combined.yaml",
    ],
)
def test_every_pretext_method_pretrains_and_resumes(
    config: str, photos: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    assert main(_pretrain_args(config, photos, out, 2)) == 0
    meta = read_encoder_metadata(out / "encoder.pt")
    assert meta["steps"] == 2 and meta["images_seen"] == 8 and meta["cpu_seconds"] > 0
    assert (out / "checkpoints" / "last.ckpt").is_file() and (out / "loss_curve.png").is_file()
    assert (out / "logs" / "version_0" / "metrics.csv").read_text().count("train/loss") >= 1
    saved = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)["callbacks"]
    cpu_at_checkpoint = saved["CpuBudget"]["seconds"]
    assert 0 < cpu_at_checkpoint <= meta["cpu_seconds"]
    # Resuming continues from the last checkpoint to the new budget, its CPU time too.
    args = [*_pretrain_args(config, photos, out, 3), "--resume", "auto"]
    assert main(args) == 0
    again = read_encoder_metadata(out / "encoder.pt")
    assert again["steps"] == 3 and again["cpu_seconds"] > cpu_at_checkpoint


def test_pretrain_reports_bad_configs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["ssl", "pretrain", str(CONFIGS / "simclr.yaml"), "--set", "method.nme=x"])
    assert code == 2 and "method.nme" in capsys.readouterr().err
    code = main(["ssl", "pretrain", str(tmp_path / "missing.yaml")])
    assert code == 2 and "missing.yaml" in capsys.readouterr().err


def test_probe_follows_the_stl10_fold_protocol(tmp_path: Path) -> None:
    write_stl10(tmp_path, n_train=40, n_test=20, n_unlabeled=2, fold_size=20)
    out = tmp_path / "scores.json"
    args = [
        "ssl",
        "probe",
        "random",
        "--data",
        "stl10",
        "--root",
        str(tmp_path),
        "--size",
        "32",
        "--width",
        "4",
        "--json",
        str(out),
        "-q",
    ]
    assert main(args) == 0
    scores = json.loads(out.read_text())["scores"]
    assert len(scores["1000 labels"]["folds"]) == 10  # the ten predefined folds
    assert len(scores["40 labels"]["folds"]) == 1  # all training labels
    assert all(0 <= a <= 1 for a in scores["1000 labels"]["folds"])


def _class_folder(root: Path) -> Path:
    for i, name in enumerate(["red", "blue"]):
        folder = root / name
        folder.mkdir(parents=True)
        for j in range(6):
            rgb = torch.zeros(40, 40, 3, dtype=torch.uint8)
            rgb[..., 0 if i == 0 else 2] = 160 + 10 * j
            from PIL import Image

            Image.fromarray(rgb.numpy()).save(folder / f"{j}.png")
    return root


def test_probe_cross_validates_a_class_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _class_folder(tmp_path / "classes")
    out = tmp_path / "scores.json"
    args = [
        "ssl",
        "probe",
        "random:split-brain",
        "--data",
        str(data),
        "--size",
        "32",
        "--crops",
        "2",
        "--crop-scale",
        "0.5",
        "1",
        "--folds",
        "3",
        "--width",
        "4",
        "--json",
        str(out),
        "-q",
    ]
    assert main(args) == 0
    scores = json.loads(out.read_text())["scores"]["3-fold"]
    assert len(scores["folds"]) == 3
    assert scores["mean"] > 0.9  # red against blue: the ab half's features separate them
    assert main(["ssl", "probe", "random", "--data", str(tmp_path / "nope")]) == 2
    assert "nope" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("mode", "extra"),
    [("top", []), ("differential", []), ("freeze", ["--freeze-blocks", "3"]), ("all", [])],
)
def test_every_finetune_mode_runs(mode: str, extra: list[str], tmp_path: Path) -> None:
    data = _class_folder(tmp_path / "classes")
    out = tmp_path / "ft.json"
    args = [
        "ssl",
        "finetune",
        "random",
        "--data",
        str(data),
        "--size",
        "32",
        "--width",
        "4",
        "--mode",
        mode,
        "--steps",
        "3",
        "--batch-size",
        "4",
        "--folds",
        "3",
        "--max-folds",
        "2",
        "--json",
        str(out),
        "-q",
        *extra,
    ]
    assert main(args) == 0
    result = json.loads(out.read_text())
    assert len(result["test"]["folds"]) == 2 and result["budget"][0]["steps"] == 3


def test_finetune_starts_from_a_pretrained_encoder_file(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(_pretrain_args("split-brain.yaml", photos, out, 1)) == 0
    data = _class_folder(tmp_path / "classes")
    args = [
        "ssl",
        "finetune",
        str(out / "encoder.pt"),
        "--data",
        str(data),
        "--size",
        "32",
        "--mode",
        "freeze",
        "--freeze-blocks",
        "5",
        "--steps",
        "2",
        "--batch-size",
        "4",
        "--folds",
        "2",
        "--max-folds",
        "1",
        "-q",
    ]
    assert main(args) == 0
    bad = [
        "ssl",
        "finetune",
        "random",
        "--data",
        str(data),
        "--mode",
        "freeze",
        "--freeze-blocks",
        "6",
        "--width",
        "4",
        "--size",
        "32",
        "-q",
    ]
    assert main(bad) == 2
