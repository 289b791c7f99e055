"""Training: configs, a few steps on tiny data, checkpoints carrying the config, resume."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from helpers import write_lightness_coded_photos, write_photos
from tinct.eval.cost import train_seconds_from_logs
from tinct.models import load_metadata, load_model
from tinct.train import ConfigError, resolve_config, train
from tinct.train.callbacks import read_metrics

TinyConfig = Callable[..., dict[str, Any]]


def test_config_defaults_overrides_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text("model:\n  name: unet\ntrainer:\n  max_steps: 7\n")
    config = resolve_config(path, ["optim.lr=3e-4", "trainer.batch_size=2"])
    assert config["name"] == "exp" and config["output_dir"] == "runs/exp"
    assert config["optim"]["lr"] == pytest.approx(3e-4)
    assert config["trainer"]["max_steps"] == 7 and config["trainer"]["batch_size"] == 2
    assert config["loss"]["name"] == "l1"
    with pytest.raises(ConfigError, match=r"'trainer.max_stepz'"):
        resolve_config({"trainer": {"max_stepz": 3}})
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match=r"key.sub=value"):
        resolve_config(None, ["optim.lr"])
    with pytest.raises(ConfigError, match=r"data.image_size"):
        resolve_config({"data": {"image_size": 8}})


def test_shipped_configs_resolve() -> None:
    configs = sorted(Path(__file__).parents[1].joinpath("configs").glob("*.yaml"))
    assert configs
    for path in configs:
        resolve_config(path)


@pytest.mark.slow
def test_train_a_few_steps_then_resume(tmp_path: Path, tiny_config: TinyConfig) -> None:
    write_photos(tmp_path / "photos", 8, size=(48, 40))
    out = tmp_path / "run"
    model_path = train(tiny_config(out, root=tmp_path / "photos"), progress=False)
    assert model_path == out / "model.pt" and model_path.is_file()
    for name in (
        "config.yaml",
        "loss_curve.png",
        "checkpoints/last.ckpt",
        "logs/version_0/metrics.csv",
    ):
        assert (out / name).is_file(), name
    assert sorted(p.name for p in (out / "samples").glob("*.png")) == [
        "step_0000002.png",
        "step_0000004.png",
    ]
    ckpt = torch.load(out / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["global_step"] == 4
    assert ckpt["hyper_parameters"]["config"]["model"]["kwargs"] == {"base_channels": 4, "depth": 2}
    metrics = read_metrics(out / "logs" / "version_0" / "metrics.csv")
    assert "train/loss" in metrics and "val/ab_rmse" in metrics
    first_seconds = load_metadata(model_path)["train_seconds"]
    assert first_seconds > 0
    assert max(t for _, t in metrics["train_time_s"]) == pytest.approx(first_seconds, abs=0.051)

    # The checkpoint and the exported file give the same model.
    x = torch.rand(1, 1, 32, 32) * 100
    a, b = load_model(out / "checkpoints" / "last.ckpt"), load_model(model_path)
    # Both infer at the config's model.input_size, not at the 32 px training crops.
    assert a.input_size == b.input_size == 256
    assert torch.allclose(a(x).chroma_norm, b(x).chroma_norm, atol=2e-2)  # type: ignore[arg-type]

    # Resume: continues from step 4 to step 6 instead of starting again.
    config = tiny_config(out, root=tmp_path / "photos", trainer={"max_steps": 6})
    train(config, resume="auto", progress=False)
    ckpt = torch.load(out / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["global_step"] == 6
    steps = [s for s, _ in read_metrics(out / "logs" / "version_0" / "metrics.csv")["train/loss"]]
    assert max(steps) == 5
    # The training time adds up over the resumed runs (kept in the checkpoint).
    meta = load_metadata(model_path)
    # (Both are rounded to 1 ms; the timer counts training, the run also setting up.)
    total, this_run = meta["train_seconds"], meta["train_seconds_this_run"]
    assert first_seconds < total <= first_seconds + this_run + 0.1
    logged = train_seconds_from_logs(out)
    assert logged == pytest.approx(meta["train_seconds"], abs=0.051)
    assert train_seconds_from_logs(tmp_path) is None


def test_a_cpu_time_budget_ends_training_and_is_recorded(
    tmp_path: Path, tiny_config: TinyConfig
) -> None:
    """trainer.max_cpu_minutes stops long before max_steps and the CPU seconds spent are
    kept in the model file and the log."""
    write_photos(tmp_path / "photos", 8, size=(48, 40))
    budget_s = 0.5
    config = tiny_config(
        tmp_path / "run",
        root=tmp_path / "photos",
        trainer={"max_steps": 100_000, "max_cpu_minutes": budget_s / 60, "val_every_steps": 5},
    )
    model_path = train(config, progress=False)
    meta = load_metadata(model_path)
    assert 0 < meta["global_step"] < 100_000
    # Stops at the first step that crosses the budget: one step's CPU time over, at most.
    assert budget_s <= meta["train_cpu_seconds"] < budget_s + 5.0
    logged = read_metrics(tmp_path / "run" / "logs" / "version_0" / "metrics.csv")["train_cpu_s"]
    assert max(v for _, v in logged) == pytest.approx(meta["train_cpu_seconds"], abs=0.051)
    with pytest.raises(ConfigError, match=r"trainer.max_cpu_minutes"):
        resolve_config({"trainer": {"max_cpu_minutes": 0}})


def test_training_reduces_the_loss(tmp_path: Path, tiny_config: TinyConfig) -> None:
    """On a fixed tiny set the L1 loss must go down within a few dozen steps."""
    write_lightness_coded_photos(tmp_path / "photos", 4)
    config = tiny_config(
        tmp_path / "run",
        root=tmp_path / "photos",
        trainer={"max_steps": 40, "val_every_steps": 20, "log_every_steps": 5},
        optim={"lr": 3e-3},
        schedule={"warmup_steps": 0},
    )
    train(config, progress=False)
    losses = [
        v
        for _, v in read_metrics(tmp_path / "run" / "logs" / "version_0" / "metrics.csv")[
            "train/loss"
        ]
    ]
    assert len(losses) >= 6
    assert sum(losses[-3:]) / 3 < 0.8 * sum(losses[:2]) / 2


def test_train_on_a_named_dataset_with_seed001_augmentation(
    tmp_path: Path, tiny_config: TinyConfig
) -> None:
    config = tiny_config(
        tmp_path / "run",
        root=tmp_path,
        trainer={"max_steps": 2},
        data={
            "kind": "dataset",
            "name": "shapes",
            "space": "lab",
            "max_val_images": 3,
            "augment": {"hflip": True, "scale": [0.8, 1.0], "seed001": ["rotation", "zoom"]},
        },
    )
    model_path = train(config, progress=False)
    assert model_path.is_file()
    assert load_metadata(model_path)["train_images"] == 5000  # the Shape Set train split
    with pytest.raises(ConfigError, match=r"data\.name"):
        resolve_config({"data": {"kind": "dataset", "name": "mnist"}})
    with pytest.raises(ConfigError, match="cutout"):
        resolve_config({"data": {"augment": {"seed001": ["cutout"]}}})


def test_classification_training_with_the_prior_of_the_training_data(
    tmp_path: Path, tiny_config: TinyConfig
) -> None:
    from tinct.color import BinPrior
    from tinct.pipeline import ColourisePipeline

    write_photos(tmp_path / "photos", 8, size=(48, 40))
    out = tmp_path / "zhang"
    config = tiny_config(
        out,
        root=tmp_path / "photos",
        model={
            "name": "zhang-cpu",
            "kwargs": {"widths": [8, 8, 8, 8, 8, 8, 8, 8], "depths": [1] * 8},
            "input_size": 64,
        },
        loss={"name": "rebalanced", "prior_batches": 2},
    )
    model_path = train(config, progress=False)

    prior = BinPrior.load(out / "prior.json")
    assert prior.num_pixels == 2 * 4 * 8 * 8  # 2 batches of 4 crops, 32 px at 1/4
    ckpt = torch.load(out / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    weights = ckpt["state_dict"]["objective.class_weights"]
    p = prior.probabilities
    assert float((p * weights.double()).sum()) == pytest.approx(1.0, abs=1e-5)  # E_p[w] = 1
    assert weights.max() > 1.5 * weights.min()  # rare colours weigh more
    assert load_metadata(model_path)["prior"] == "prior.json"
    metrics = read_metrics(out / "logs" / "version_0" / "metrics.csv")
    assert all(v > 0 for _, v in metrics["train/loss"])

    # The trained model colourises through the pipeline, with a temperature.
    model = load_model(model_path)
    image = torch.randint(0, 256, (3, 40, 48), dtype=torch.uint8)
    for t in (0.1, 1.0):
        out_img = ColourisePipeline(model, temperature=t, precision="fp32")(image)
        assert out_img.shape == image.shape

    # A regression loss on a classification model is a clear error.
    config["loss"]["name"] = "l1"
    with pytest.raises(ValueError, match="not a classification loss"):
        train(config | {"output_dir": str(tmp_path / "bad")}, progress=False)


ZHANG_CONFIGS = sorted(Path(__file__).parents[1].joinpath("configs", "zhang").glob("*.yaml"))


def test_the_seven_zhang_configs_exist() -> None:
    # Seed 002 section 4.3: Euclidean, unbalanced one-hot, unbalanced, rebalanced,
    # rebalanced smoothed, rebalanced ours, simplified.
    assert sorted(p.stem for p in ZHANG_CONFIGS) == [
        "euclidean",
        "rebalanced",
        "rebalanced-ours",
        "rebalanced-smoothed",
        "simplified",
        "unbalanced",
        "unbalanced-onehot",
    ]


@pytest.mark.slow
@pytest.mark.parametrize("path", ZHANG_CONFIGS, ids=lambda p: p.stem)
def test_each_zhang_config_trains_a_few_steps(
    path: Path, tmp_path: Path, tiny_overrides: Callable[..., list[str]]
) -> None:
    from tinct.color import BinPrior
    from tinct.models.registry import model_entry

    write_photos(tmp_path / "photos", 6, size=(48, 40))
    out = tmp_path / "run"
    overrides = tiny_overrides(out, root=tmp_path / "photos", size=32, val_fraction=0.34)
    overrides.append("loss.prior_batches=1")
    config = resolve_config(path, overrides)
    model_path = train(config, progress=False)

    metrics = read_metrics(out / "logs" / "version_0" / "metrics.csv")
    losses = [v for _, v in metrics["train/loss"]]
    assert losses and all(v == v and v > 0 for v in losses)  # finite, positive
    family = model_entry(config["model"]["name"]).family
    loss = config["loss"]
    if family == "classification" and loss["name"] == "rebalanced":
        prior = BinPrior.load(out / "prior.json")
        if loss["prior"]:  # the shipped dataset-specific prior, found next to the config
            assert prior.num_pixels == BinPrior.load(loss["prior"]).num_pixels > 1_000_000
        else:  # streamed from one training batch: 2 crops of 32 px at 1/4
            assert prior.num_pixels == 2 * 8 * 8
    model = load_model(model_path)
    assert model.registry_name == config["model"]["name"]
    assert type(model).supports_temperature == (family == "classification")
