"""Adversarial colourisation: objectives, the perceptual loss, the registered GAN models and
the adversarial training scheme (issue 6; seed 000 ch. 4, seed 001 4.2, seed 004 4-5)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.utils.data import DataLoader

from helpers import write_photos
from tinct.data.sample import Sample, collate_samples
from tinct.losses.adversarial import OBJECTIVES, discriminator_loss, generator_loss
from tinct.losses.perceptual import FeatureReconstructionLoss
from tinct.models import GANColouriser, create_model, list_models, load_model, model_entry
from tinct.nn import YUVDiscriminator, YUVGenerator
from tinct.train import ConfigError, resolve_config, train
from tinct.train.callbacks import read_metrics
from tinct.train.module import ColourisationModule, as_train_config, build_model
from tinct.train.objectives import GENERATOR_TERMS, AdversarialObjective

pytestmark = pytest.mark.usefixtures("one_thread")

CONFIGS = Path(__file__).parents[1] / "configs" / "gan"


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


# --- objectives ---------------------------------------------------------------------------


def test_objectives_match_their_formulas() -> None:
    real = torch.tensor([[0.5, -1.0], [2.0, 0.0]])
    fake = torch.tensor([[-0.3, 1.5], [0.2, -2.0]])
    r, f = real.flatten().tolist(), fake.flatten().tolist()
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    expected_d = {
        "bce": mean([-math.log(sigmoid(x)) for x in r])
        + mean([-math.log(1 - sigmoid(x)) for x in f]),
        "lsgan": mean([(x - 1) ** 2 for x in r]) + mean([x**2 for x in f]),
        "hinge": mean([max(0.0, 1 - x) for x in r]) + mean([max(0.0, 1 + x) for x in f]),
        "wgan": mean(f) - mean(r),
        "wgan-sigmoid": mean([sigmoid(x) for x in f]) - mean([sigmoid(x) for x in r]),
    }
    expected_g = {
        "bce": mean([-math.log(sigmoid(x)) for x in f]),
        "lsgan": mean([(x - 1) ** 2 for x in f]),
        "hinge": -mean(f),
        "wgan": -mean(f),
        "wgan-sigmoid": -mean([sigmoid(x) for x in f]),
    }
    assert set(OBJECTIVES) == set(expected_d)
    for name in OBJECTIVES:
        assert discriminator_loss(name, real, fake).item() == pytest.approx(expected_d[name])
        assert generator_loss(name, fake).item() == pytest.approx(expected_g[name])


def test_multi_scale_logits_are_averaged_and_bad_input_raises() -> None:
    a, b = torch.randn(2, 1, 6, 6), torch.randn(2, 1, 2, 2)
    fa, fb = torch.randn(2, 1, 6, 6), torch.randn(2, 1, 2, 2)
    both = discriminator_loss("lsgan", [a, b], [fa, fb])
    single = (discriminator_loss("lsgan", a, fa) + discriminator_loss("lsgan", b, fb)) / 2
    assert both.item() == pytest.approx(single.item())
    assert generator_loss("hinge", [fa, fb]).item() == pytest.approx(
        ((-fa.mean() - fb.mean()) / 2).item()
    )
    with pytest.raises(ValueError, match="unknown adversarial objective 'gan'"):
        generator_loss("gan", fa)
    with pytest.raises(ValueError, match="2 real but 1 fake"):
        discriminator_loss("bce", [a, b], [fa])


def test_bce_discriminator_loss_falls_when_it_separates_real_from_fake() -> None:
    unsure = discriminator_loss("bce", torch.zeros(4), torch.zeros(4))
    right = discriminator_loss("bce", torch.full((4,), 3.0), torch.full((4,), -3.0))
    assert unsure.item() == pytest.approx(2 * math.log(2))
    assert right < unsure


# --- perceptual loss -----------------------------------------------------------------------


def test_perceptual_loss_zero_for_identical_positive_otherwise_backbone_frozen() -> None:
    loss = FeatureReconstructionLoss()  # EfficientNet-Lite0, stage 2 (stride 4)
    assert "stride 4" in loss.description
    torch.manual_seed(0)
    target = torch.rand(2, 3, 64, 64)
    assert loss(target, target).item() == 0.0
    prediction = (target + 0.1 * torch.randn_like(target)).clamp(0, 1).requires_grad_(True)
    value = loss(prediction, target)
    assert value.item() > 0
    value.backward()
    assert prediction.grad is not None and prediction.grad.abs().sum() > 0
    assert all(not p.requires_grad and p.grad is None for p in loss.backbone.parameters())
    loss.train()
    assert not loss.backbone.training  # batch-norm statistics never move
    # Johnson et al.'s normalisation: squared distance / (C H W), i.e. the mean.
    feats_p, feats_t = loss.features(prediction.detach()), loss.features(target)
    assert feats_p.shape == (2, 24, 16, 16)
    naive = sum(((p - t) ** 2).sum() / p.numel() for p, t in zip(feats_p, feats_t, strict=True)) / 2
    assert loss(prediction.detach(), target).item() == pytest.approx(naive.item(), rel=1e-5)


def test_perceptual_loss_takes_any_backbone_and_checks_shapes() -> None:
    backbone = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
    loss = FeatureReconstructionLoss(backbone)
    assert not any(p.requires_grad for p in backbone.parameters())
    x = torch.rand(1, 3, 8, 8)
    assert loss(x, x).item() == 0.0 and loss(x, 1 - x).item() > 0
    with pytest.raises(ValueError, match=r"RGB \(B, 3, H, W\)"):
        loss(torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 8))
    with pytest.raises(ValueError, match="differ"):
        loss(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 16, 16))
    with pytest.raises(ValueError, match=r"stage must be 1\.\.5"):
        FeatureReconstructionLoss(stage=6)


# --- models --------------------------------------------------------------------------------


def test_seed001_cgan_networks() -> None:
    generator, discriminator = YUVGenerator(), YUVDiscriminator()
    params = sum(p.numel() for p in generator.parameters())
    bn_stats = sum(b.numel() for b in generator.buffers() if b.is_floating_point())
    assert params + bn_stats == 233_106  # seed 001 figure 4.9 b (Keras counts BN statistics)
    for size in (32, 64):
        y = torch.randn(2, 1, size, size)
        uv = generator(y)
        assert uv.shape == (2, 2, size, size) and uv.abs().max() <= 1
        score = discriminator(uv)
        assert score.shape == (2, 1)
        score.sum().backward()
    with pytest.raises(ValueError, match="multiples of 32"):
        generator(torch.randn(1, 1, 40, 40))


GAN_KWARGS = {
    "pix2pix": {"depth": 5, "base_channels": 8, "d_base_channels": 8},
    "gorriz": {"depth": 5, "base_channels": 8, "d_base_channels": 8, "d_scales": 2},
    "efficient-gan": {},
    "cgan-yuv": {},
}


def test_every_gan_model_is_registered_and_pairs_with_its_discriminator() -> None:
    assert set(list_models("gan")) == set(GAN_KWARGS)
    for name, kwargs in GAN_KWARGS.items():
        assert model_entry(name).family == "gan"
        model = create_model(name, **kwargs)
        assert isinstance(model, GANColouriser)
        side = 64
        lightness = torch.rand(2, 1, side, side) * 100
        out = model(lightness)
        assert out.chroma_norm is not None and out.chroma_norm.shape == (2, 2, side, side)
        chroma = model.decode(out)
        assert chroma.shape == (2, 2, side, side)
        disc = model.build_discriminator()
        channels = 3 if model.conditional else 2
        scores = disc(torch.randn(2, channels, side, side))
        maps = scores if isinstance(scores, list) else [scores]
        assert all(m.shape[0] == 2 and m.shape[1] == 1 for m in maps)
        (chroma.mean() + sum(m.mean() for m in maps)).backward()
    gorriz_d = create_model("gorriz", **GAN_KWARGS["gorriz"]).build_discriminator()
    assert [m.shape[-1] for m in gorriz_d(torch.randn(1, 3, 64, 64))] == [6, 2]
    with pytest.raises(ValueError, match="at least 24 px"):
        gorriz_d(torch.randn(1, 3, 32, 32))  # the second scale sees 16 px
    with pytest.raises(ValueError, match="unknown efficient-gan variant"):
        create_model("efficient-gan", variant="cgan+sn")


def test_efficient_gan_fuses_for_inference_without_changing_outputs() -> None:
    torch.manual_seed(0)
    model = create_model("efficient-gan")
    model.train()
    for _ in range(3):  # settle the power iteration and BN statistics
        model(torch.rand(2, 1, 32, 32) * 100)
    model.eval()
    lightness = torch.rand(1, 1, 32, 40) * 100
    with torch.no_grad():
        before = model.decode(model(lightness))
        model.fuse_for_inference()
        after = model.decode(model(lightness))
    assert not any(parametrize.is_parametrized(m) for m in model.modules())
    torch.testing.assert_close(after, before, atol=1e-3, rtol=1e-4)


# --- training ------------------------------------------------------------------------------


GanConfig = Callable[..., dict[str, Any]]


@pytest.fixture()
def gan_config(tiny_config: Callable[..., dict[str, Any]]) -> GanConfig:
    """A 3-step adversarial run of ``model`` (small kwargs, 64 px) on the photos in ``root``;
    ``gan`` goes into the gan section."""

    def make(root: Path, out: Path, model: str, **gan: object) -> dict[str, Any]:
        return tiny_config(
            out,
            root=root,
            size=64,
            name="gan-test",
            model={"name": model, "kwargs": GAN_KWARGS[model], "input_size": 64},
            data={"space": "yuv" if model == "cgan-yuv" else "lab"},
            gan=gan,
            optim={"name": "adam", "lr": 2e-4, "betas": [0.5, 0.999], "weight_decay": 0},
            schedule={"name": "constant", "warmup_steps": 0},
            trainer={"max_steps": 3, "val_every_steps": 3, "checkpoint_every_steps": 3},
        )

    return make


def fake_batches(n: int, size: int = 64) -> list[Sample]:
    torch.manual_seed(1)
    return [
        Sample(
            l=torch.rand(1, size, size) * 100,
            chroma=torch.randn(2, size, size) * 20,
            rgb=torch.rand(3, size, size),
        )
        for _ in range(n)
    ]


def test_one_adversarial_step_changes_generator_and_discriminator(
    tmp_path: Path, gan_config: GanConfig
) -> None:
    config = gan_config(tmp_path, tmp_path / "out", "pix2pix")
    module = ColourisationModule(config)
    assert module.objective.discriminator is not None
    g_before = [p.detach().clone() for p in module.model.parameters()]
    d_before = [p.detach().clone() for p in module.objective.discriminator.parameters()]
    loader = DataLoader(fake_batches(4), batch_size=4, collate_fn=collate_samples)
    trainer = L.Trainer(
        accelerator="cpu", max_steps=1, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False,
    )  # fmt: skip
    trainer.fit(module, train_dataloaders=loader)
    assert trainer.global_step == 1  # one D step + one G step count as one step
    g_after = list(module.model.parameters())
    d_after = list(module.objective.discriminator.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(g_before, g_after, strict=True))
    assert any(not torch.equal(a, b) for a, b in zip(d_before, d_after, strict=True))
    assert all(p.requires_grad for p in d_after)


def test_gan_config_terms_replace_defaults_and_are_checked(
    tmp_path: Path, gan_config: GanConfig
) -> None:
    config = gan_config(tmp_path, tmp_path, "pix2pix", terms={"l1": 1.0})
    assert config["gan"]["terms"] == {"l1": 1.0}  # replaced, not merged with the default
    module = ColourisationModule(config)
    assert module.objective.discriminator is None  # no adversarial term: nothing to train against
    with pytest.raises(ValueError, match=r"unknown \['l3'\]"):
        ColourisationModule(gan_config(tmp_path, tmp_path, "pix2pix", terms={"l3": 1.0}))
    with pytest.raises(ValueError, match="every weight is 0"):
        ColourisationModule(gan_config(tmp_path, tmp_path, "pix2pix", terms={"l1": 0}))
    with pytest.raises(ValueError, match="objective must be one of"):
        ColourisationModule(gan_config(tmp_path, tmp_path, "pix2pix", objective="gan"))
    with pytest.raises(ConfigError, match=r"gan\.objectiv"):
        resolve_config({"gan": {"objectiv": "bce"}})
    config["model"] = {"name": "unet", "kwargs": {}, "input_size": 64}
    cfg = as_train_config(config)
    with pytest.raises(ValueError, match="not a GAN colouriser"):
        AdversarialObjective(build_model(cfg), cfg)
    assert {"l1", "l2", "adversarial", "perceptual"} <= set(GENERATOR_TERMS)


@pytest.mark.slow
def test_train_pix2pix_logs_every_term_and_exports_the_generator(
    tmp_path: Path, gan_config: GanConfig
) -> None:
    write_photos(tmp_path / "photos", 6, size=(80, 72))
    out = tmp_path / "run"
    config = gan_config(
        tmp_path / "photos", out, "gorriz", objective="hinge",
        terms={"l1": 100.0, "adversarial": 1.0, "perceptual": 0.05},
    )  # fmt: skip
    model_path = train(config, progress=False)
    metrics = read_metrics(out / "logs" / "version_0" / "metrics.csv")
    for key in ("d_loss", "g_loss", "g_loss_l1", "g_loss_adversarial", "g_loss_perceptual"):
        assert [s for s, _ in metrics[f"train/{key}"]] == [0, 1, 2], key
    assert "val/loss" in metrics and (out / "loss_curve.png").is_file()
    assert sorted(p.name for p in (out / "samples").glob("*.png")) == ["step_0000003.png"]
    model = load_model(model_path)
    assert isinstance(model, GANColouriser) and model.registry_name == "gorriz"
    assert sum(p.numel() for p in model.parameters()) == sum(
        p.numel() for p in create_model("gorriz", **GAN_KWARGS["gorriz"]).parameters()
    )  # the file holds the generator only
    resumed = load_model(out / "checkpoints" / "last.ckpt")
    torch.testing.assert_close(resumed.state_dict(), model.state_dict(), atol=1e-2, rtol=1e-2)


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.stem)
def test_each_gan_config_trains_a_few_steps(
    path: Path, tmp_path: Path, tiny_overrides: Callable[..., list[str]]
) -> None:
    config = resolve_config(path)
    size = 32 if config["model"]["name"] == "cgan-yuv" else 64
    photos: Path | None = None
    if config["data"]["kind"] == "corpus":  # the corpus is not built in CI: tiny photos
        photos = tmp_path / "photos"
        write_photos(photos, 4, size=(size + 16, size + 8))
    overrides = tiny_overrides(tmp_path / "run", root=photos)
    overrides.append("data.max_val_images=2")
    config = resolve_config(path, overrides)
    model_path = train(config, progress=False)
    metrics = read_metrics(tmp_path / "run" / "logs" / "version_0" / "metrics.csv")
    g = [v for _, v in metrics["train/g_loss"]]
    assert len(g) == 2 and all(math.isfinite(v) for v in g)
    if "adversarial" in config["gan"]["terms"]:
        assert all(math.isfinite(v) for _, v in metrics["train/d_loss"])
    model = load_model(model_path)
    l_in = torch.rand(1, 1, size, size) * 100
    with torch.no_grad():
        assert model.decode(model(l_in)).shape == (1, 2, size, size)


def test_gan_configs_resolve() -> None:
    paths = sorted(CONFIGS.glob("*.yaml"))
    assert {p.stem for p in paths} >= {
        "pix2pix", "gorriz", "gorriz-perceptual", "unet-l1", "cgan", "cgan-att",
        "cgan-att-dsconv", "efficient-gan", "cgan-yuv",
    }  # fmt: skip
    for path in paths:
        config = resolve_config(path)
        assert model_entry(config["model"]["name"]).family == "gan"
        terms: dict[str, float] = config["gan"]["terms"]
        assert set(terms) <= set(GENERATOR_TERMS)
