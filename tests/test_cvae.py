"""Seed 001's models: the YUV CNN and the conditional VAEs (KL, sampling, training)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from tinct.color import normalize_chroma
from tinct.losses import gaussian_kl, latent_kl
from tinct.models import ConditionalVAE, create_model, load_model, model_entry, save_model
from tinct.nn.cvae import reparameterise
from tinct.train import ConfigError, resolve_config, train
from tinct.train.callbacks import read_metrics

SEED001_MODELS = ("yuv-cnn", "cvae", "cvae-conv")


def naive_kl(mu1: float, s1: float, mu2: float, s2: float) -> float:
    """Seed 001 equation 4.7 for one dimension, with standard deviations."""
    return math.log(s2 / s1) + (s1**2 + (mu1 - mu2) ** 2) / (2 * s2**2) - 0.5


def test_gaussian_kl_equals_the_naive_formula_and_torch_distributions() -> None:
    g = torch.Generator().manual_seed(0)
    mu1, mu2 = torch.randn(4, 6, generator=g), torch.randn(4, 6, generator=g)
    lv1, lv2 = torch.randn(4, 6, generator=g), torch.randn(4, 6, generator=g)
    kl = gaussian_kl(mu1, lv1, mu2, lv2)
    assert kl.shape == (4, 6)
    for idx in [(0, 0), (1, 3), (3, 5)]:
        expected = naive_kl(
            float(mu1[idx]), math.exp(0.5 * float(lv1[idx])),
            float(mu2[idx]), math.exp(0.5 * float(lv2[idx])),
        )  # fmt: skip
        assert float(kl[idx]) == pytest.approx(expected, rel=1e-5, abs=1e-6)
    reference = torch.distributions.kl_divergence(
        torch.distributions.Normal(mu1, (0.5 * lv1).exp()),
        torch.distributions.Normal(mu2, (0.5 * lv2).exp()),
    )
    torch.testing.assert_close(kl, reference, rtol=1e-5, atol=1e-6)
    assert bool((kl >= 0).all())


def test_kl_is_zero_for_identical_distributions() -> None:
    mu, logvar = torch.randn(3, 8), torch.randn(3, 8)
    torch.testing.assert_close(gaussian_kl(mu, logvar, mu, logvar), torch.zeros(3, 8))
    assert float(latent_kl(mu, logvar, mu.clone(), logvar.clone())) == pytest.approx(0.0, abs=1e-6)


def test_latent_kl_sums_the_latent_dimension_and_averages_the_rest() -> None:
    mu1, lv1, mu2, lv2 = (torch.randn(2, 5, 3, 4) for _ in range(4))
    full = gaussian_kl(mu1, lv1, mu2, lv2)
    assert float(latent_kl(mu1, lv1, mu2, lv2)) == pytest.approx(float(full.sum(1).mean()))
    with pytest.raises(ValueError, match="one shape"):
        gaussian_kl(mu1, lv1, mu2[:1], lv2)


def test_reparameterise_is_reproducible_and_differentiable() -> None:
    mu = torch.zeros(2, 16, requires_grad=True)
    logvar = torch.zeros(2, 16, requires_grad=True)
    z1 = reparameterise(mu, logvar, torch.Generator().manual_seed(3))
    z2 = reparameterise(mu, logvar, torch.Generator().manual_seed(3))
    z3 = reparameterise(mu, logvar, torch.Generator().manual_seed(4))
    torch.testing.assert_close(z1, z2)
    assert not torch.equal(z1, z3)
    z1.sum().backward()
    assert mu.grad is not None and logvar.grad is not None


@pytest.mark.parametrize("name", SEED001_MODELS)
@pytest.mark.parametrize("size", [32, 128])
def test_forward_backward_at_32_and_128(name: str, size: int) -> None:
    model = create_model(name)
    assert model.space == "yuv"
    lightness = torch.rand(2, 1, size, size)  # Y in 0..1
    chroma = torch.rand(2, 2, size, size) * 0.4 - 0.2
    if isinstance(model, ConditionalVAE):
        output = model(lightness, normalize_chroma(chroma, "yuv"))
        assert {"mu", "logvar", "prior_mu", "prior_logvar"} <= set(output.extras)
        loss = output.chroma_norm.square().mean() + latent_kl(  # type: ignore[union-attr]
            output.extras["mu"], output.extras["logvar"],
            output.extras["prior_mu"], output.extras["prior_logvar"],
        )  # fmt: skip
    else:
        output = model(lightness)
        assert output.chroma_norm is not None
        loss = output.chroma_norm.square().mean()
    assert output.chroma_norm is not None
    assert output.chroma_norm.shape == (2, 2, size, size)
    assert float(output.chroma_norm.detach().abs().max()) <= 1.0  # tanh
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None for g in grads)
    assert model.decode(output).shape == (2, 2, size, size)


def test_the_seed_cvae_latent_and_layers() -> None:
    model = create_model("cvae")
    assert model_entry("cvae").family == "cvae" and model_entry("cvae-conv").family == "cvae"
    output = model(torch.rand(3, 1, 32, 32), torch.zeros(3, 2, 32, 32))
    assert output.extras["mu"].shape == (3, 128)  # seed 001 figure 4.10: latent 128
    assert output.extras["luma_norm"].shape == (3, 1, 32, 32)  # the decoder's Y
    text = create_model("cvae", layout="thesis-text")
    assert text(torch.rand(1, 1, 32, 32)).extras["prior_mu"].shape == (1, 1024)  # the text
    assert create_model("cvae", latent_dim=64)(torch.rand(1, 1, 32, 32)).extras[
        "prior_mu"
    ].shape == (1, 64)
    with pytest.raises(ValueError, match="layout"):
        create_model("cvae", layout="v0")
    conv = create_model("cvae-conv", latent_channels=8)
    assert conv(torch.rand(1, 1, 48, 64)).extras["prior_mu"].shape == (1, 8, 6, 8)
    with pytest.raises(ValueError, match="multiples of 8"):
        conv(torch.rand(1, 1, 30, 32))
    with pytest.raises(ValueError, match="image_size"):
        create_model("cvae", image_size=40)
    with pytest.raises(ValueError, match="dropout"):
        create_model("yuv-cnn", dropout=1.0)


@pytest.mark.parametrize("name", ["cvae", "cvae-conv"])
def test_sampling_same_seed_same_output_other_seed_differs(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name).eval()
    lightness = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        a = model.sample(lightness, generator=torch.Generator().manual_seed(7)).chroma_norm
        b = model.sample(lightness, generator=torch.Generator().manual_seed(7)).chroma_norm
        c = model.sample(lightness, generator=torch.Generator().manual_seed(8)).chroma_norm
    assert a is not None and b is not None and c is not None
    torch.testing.assert_close(a, b)
    assert float((a - c).abs().max()) > 1e-4


def test_deterministic_models_refuse_to_sample() -> None:
    model = create_model("yuv-cnn")
    assert not model.supports_sampling
    with pytest.raises(ValueError, match="cannot draw several"):
        model.sample(torch.rand(1, 1, 32, 32))


def test_a_saved_cvae_loads_and_still_samples(tmp_path: Path) -> None:
    model = create_model("cvae-conv", latent_channels=4)
    path = save_model(model, tmp_path / "m.pt")
    loaded = load_model(path)
    assert isinstance(loaded, ConditionalVAE) and loaded.supports_sampling


ShapesConfig = Callable[..., dict[str, Any]]


@pytest.fixture()
def shapes_config(tiny_config: Callable[..., dict[str, Any]]) -> ShapesConfig:
    """A 3-step YUV run of ``model`` on the Shape Set; ``extra`` goes into the loss section."""

    def make(out: Path, model: str, **extra: object) -> dict[str, Any]:
        return tiny_config(
            out,
            name="tiny-seed001",
            model={"name": model, "input_size": 32},
            data={
                "kind": "dataset",
                "name": "shapes",
                "space": "yuv",
                "max_val_images": 4,
                "augment": {"hflip": False, "scale": [1.0, 1.0], "seed001": []},
            },
            loss={"name": "l2", **extra},
            optim={"name": "adam", "lr": 1e-3, "weight_decay": 0.0},
            trainer={
                "max_steps": 3,
                "val_every_steps": 3,
                "checkpoint_every_steps": 3,
                "threads": 1,
            },
        )

    return make


def test_cvae_training_logs_the_loss_terms_separately(
    tmp_path: Path, shapes_config: ShapesConfig
) -> None:
    config = shapes_config(
        tmp_path / "run", "cvae-conv", reconstruction_weight=10.0, weight_l2=1e-6
    )
    train(config, progress=False)
    metrics = read_metrics(tmp_path / "run" / "logs" / "version_0" / "metrics.csv")
    for key in ("train/loss", "train/mse", "train/kl", "train/penalty", "val/mse", "val/kl"):
        assert metrics.get(key), key
    # The logged total is W * MSE + KL + penalty (same step).
    step, total = metrics["train/loss"][-1]
    parts = {k: dict(metrics[f"train/{k}"])[step] for k in ("mse", "kl", "penalty")}
    assert total == pytest.approx(10.0 * parts["mse"] + parts["kl"] + parts["penalty"], rel=1e-4)


def test_rmsprop_and_momentum_are_accepted_and_checked() -> None:
    config = resolve_config({"optim": {"name": "rmsprop", "momentum": 0.9}})
    assert config["optim"]["name"] == "rmsprop"
    with pytest.raises(ConfigError, match=r"optim\.name"):
        resolve_config({"optim": {"name": "lbfgs"}})


def test_cvae_with_another_reconstruction_loss_is_refused(
    tmp_path: Path, shapes_config: ShapesConfig
) -> None:
    from tinct.train.module import ColourisationModule

    config = shapes_config(tmp_path / "run", "cvae")
    config["loss"]["name"] = "l1"
    with pytest.raises(ValueError, match=r"loss.name 'l1'.*'l2'"):
        ColourisationModule(config)


def test_cvae_training_of_the_figure_layout_reconstructs_yuv(
    tmp_path: Path, shapes_config: ShapesConfig
) -> None:
    """Seed 001 equation 4.6: the figure layout's MSE is over Y, U and V."""
    train(shapes_config(tmp_path / "run", "cvae", reconstruction_weight=10.0), progress=False)
    metrics = read_metrics(tmp_path / "run" / "logs" / "version_0" / "metrics.csv")
    step, total = metrics["train/loss"][-1]
    parts = {k: dict(metrics[f"train/{k}"])[step] for k in ("mse", "mse_luma", "kl")}
    expected = 10.0 * (2 * parts["mse"] + parts["mse_luma"]) / 3 + parts["kl"]
    assert total == pytest.approx(expected, rel=1e-4)
    assert metrics.get("val/mse_luma")
    # The checkpoint's config names the layout the config left to the default.
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["hyper_parameters"]["config"]["model"]["kwargs"]["layout"] == "figure"
    assert load_model(tmp_path / "run" / "model.pt").init_kwargs["layout"] == "figure"
