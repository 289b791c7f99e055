"""Seed 003's edge- and saliency-map guided multi-path GAN and its two baselines (issue 17):
the network, its losses against naive computations, the guided training scheme, the
shipped configs, and ``tinct colourise --save-aux``."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from helpers import write_photos
from tinct.cli import main
from tinct.color import lab_lightness_to_grey, normalize_chroma, rgb_to_lab
from tinct.data.sample import Sample, collate_samples, make_sample
from tinct.losses import map_weighted_l1
from tinct.losses.adversarial import discriminator_loss, generator_loss
from tinct.models import ModelOutput, MultipathColouriser, create_model, load_model, model_entry
from tinct.models.hub import save_model
from tinct.nn.backbones import EfficientNetLiteEncoder
from tinct.nn.multipath import MultipathDiscriminator, MultipathGenerator
from tinct.nn.resnet import ResNet18
from tinct.pipeline import ColourisePipeline
from tinct.train import ConfigError, resolve_config, train
from tinct.train.callbacks import read_metrics
from tinct.train.module import ColourisationModule, as_train_config
from tinct.train.objectives import GENERATOR_TERMS, GuidedAdversarialObjective
from tinct.train.objectives.adversarial import TermInputs
from tinct.train.optim import make_optimizer

pytestmark = pytest.mark.usefixtures("one_thread")

CONFIGS = Path(__file__).parents[1] / "configs" / "guided"
SMALL = {"channels": [8, 8, 16, 16, 16, 16], "d_channels": [8, 8, 8, 8, 8]}


def small_model(**kwargs: Any) -> MultipathColouriser:
    model = create_model("multipath-gan", **{**SMALL, **kwargs})
    assert isinstance(model, MultipathColouriser)
    return model


# --- the network --------------------------------------------------------------------------


def test_generator_returns_five_channels_in_range() -> None:
    torch.manual_seed(0)
    model = small_model()
    assert model_entry("multipath-gan").family == "guided"
    assert model.input_multiple == 64 and model.input_size == 64 and model.conditional
    lightness = torch.rand(2, 1, 64, 128) * 100
    grey = lab_lightness_to_grey(lightness) * 2 - 1
    raw = model.generator(grey.expand(2, 3, 64, 128))
    assert raw.shape == (2, 5, 64, 128)
    assert raw.min() >= -1 and raw.max() <= 1 and raw.std() > 0
    out = model(lightness)
    assert out.extras["rgb"].shape == (2, 3, 64, 128)
    assert out.extras["saliency"].shape == out.extras["edges"].shape == (2, 1, 64, 128)
    torch.testing.assert_close(
        torch.cat([out.extras[k] for k in ("rgb", "saliency", "edges")], 1), raw
    )
    # decode: the a*b* of the RGB output, in Lab units.
    ab = rgb_to_lab((raw[:, :3] + 1) / 2)[:, 1:]
    assert out.chroma_norm is not None
    torch.testing.assert_close(out.chroma_norm, normalize_chroma(ab, "lab"))
    torch.testing.assert_close(model.decode(out), ab, rtol=1e-5, atol=1e-4)
    maps = model.decode_aux(out)
    assert set(maps) == {"saliency", "edges"}
    torch.testing.assert_close(maps["saliency"], (raw[:, 3:4] + 1) / 2)
    with pytest.raises(ValueError, match="multiples of 64"):
        model(torch.rand(1, 1, 32, 32) * 100)


def test_discriminator_output_grid_is_14x14_at_64_px() -> None:
    d = small_model().build_discriminator()
    assert isinstance(d, MultipathDiscriminator)
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 6 and convs[0].in_channels == 4  # grey + RGB
    assert sum(isinstance(m, nn.LeakyReLU) for m in d.modules()) == 5
    assert d(torch.randn(2, 4, 64, 64)).shape == (2, 1, 14, 14)
    assert d(torch.randn(1, 4, 128, 64)).shape == (1, 1, 30, 14)
    with pytest.raises(ValueError, match=r"\(B, 4, H, W\)"):
        d(torch.randn(1, 3, 64, 64))


def test_encoder_groups_and_backbone_fusion() -> None:
    model = small_model()
    gen = model.generator
    assert isinstance(gen, MultipathGenerator) and len(gen.encoder) == len(gen.decoder) == 6
    for group in gen.encoder:
        kinds = [type(m) for m in group]
        assert kinds == [nn.Conv2d, nn.LeakyReLU, nn.AvgPool2d, nn.BatchNorm2d]
    # The sixth group's convolution sees group 5's 16 channels + EfficientNet-Lite0's 320.
    assert gen.encoder[5][0].in_channels == 16 + 320
    assert not any(isinstance(m, nn.ReLU) for m in gen.encoder.modules())
    assert isinstance(gen.decoder[-1][-1], nn.Tanh)
    # The backbone is frozen and stays in eval mode when the model trains.
    assert gen.backbone is not None
    assert not any(p.requires_grad for p in gen.backbone.parameters())
    model.train()
    assert not gen.backbone.training and gen.encoder.training
    assert create_model("multipath-gan", **SMALL, train_backbone=True).generator.backbone.training
    bare = create_model("multipath-gan", **SMALL, backbone=None)
    assert bare.generator.encoder[5][0].in_channels == 16
    assert bare(torch.rand(2, 1, 64, 64) * 100).chroma_norm is not None


def test_xavier_initialisation_is_applied() -> None:
    torch.manual_seed(0)
    model = small_model(channels=[32, 64, 64, 64, 64, 64])
    disc = model.build_discriminator()
    convs = [
        m
        for part in (model.generator.encoder, model.generator.decoder, disc)
        for m in part.modules()
        if isinstance(m, nn.Conv2d)
    ]
    assert len(convs) == 6 + 6 + 6
    for conv in convs:
        fan_in = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
        fan_out = conv.out_channels * conv.kernel_size[0] * conv.kernel_size[1]
        bound = math.sqrt(6.0 / (fan_in + fan_out))  # Glorot & Bengio's uniform bound
        w = conv.weight.detach()
        assert w.abs().max() <= bound + 1e-6
        if w.numel() >= 1000:  # a uniform draw of 1000+ values reaches near its bound
            assert w.abs().max() >= 0.95 * bound
            assert w.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.1)
        if conv.bias is not None:
            assert torch.all(conv.bias == 0)
    # The pretrained backbone keeps its ImageNet weights.
    reference = EfficientNetLiteEncoder(pretrained=True)
    backbone = model.generator.backbone
    assert backbone is not None
    torch.testing.assert_close(backbone.net.state_dict(), reference.state_dict())


def _torchvision_names(net: ResNet18) -> dict[str, torch.Tensor]:
    """``net``'s weights under torchvision's resnet18 key names, renamed naively."""
    out = {}
    for key, value in net.state_dict().items():
        parts = key.split(".")
        if parts[1] == "0":  # the stem: conv1, bn1 (and the weightless ReLU, max-pool)
            out[("conv1" if parts[2] == "0" else "bn1") + "." + parts[3]] = value
        else:
            rest = ["downsample" if p == "shortcut" else p for p in parts[3:]]
            out[".".join([f"layer{parts[1]}", parts[2], *rest])] = value
    out["fc.weight"], out["fc.bias"] = torch.zeros(1000, 512), torch.zeros(1000)
    return out


def test_resnet18_backbone_loads_a_torchvision_state_dict(tmp_path: Path) -> None:
    torch.manual_seed(0)
    source = ResNet18(stem="imagenet")
    with torch.no_grad():
        source.blocks[0][1].running_mean.uniform_(-1, 1)  # not the default statistics
    state = _torchvision_names(source)
    assert {"conv1.weight", "bn1.running_var", "layer1.0.conv2.weight",
            "layer4.0.downsample.0.weight", "layer4.1.bn2.bias"} <= set(state)  # fmt: skip
    weights = tmp_path / "resnet18.pth"
    torch.save(state, weights)
    model = small_model(backbone="resnet18", backbone_state_dict=str(weights)).eval()
    backbone = model.generator.backbone
    assert backbone is not None and backbone.channels == 512
    torch.testing.assert_close(backbone.net.state_dict(), source.state_dict())
    assert model.generator.encoder[5][0].in_channels == 16 + 512
    out = model(torch.rand(1, 1, 64, 64) * 100)
    assert out.chroma_norm is not None and out.chroma_norm.shape == (1, 2, 64, 64)
    # A saved model needs the weights file no longer: its state dict holds the backbone.
    path = save_model(model, tmp_path / "m.pt", half=False)
    weights.unlink()
    loaded = load_model(path)
    torch.testing.assert_close(loaded.state_dict(), model.state_dict())
    with pytest.raises(ValueError, match="torchvision-format ResNet-18 state dict"):
        small_model(backbone="resnet18")
    torch.save({"classifier.weight": torch.zeros(1)}, weights)
    with pytest.raises(ValueError, match=r"'classifier\.weight' is not a key"):
        small_model(backbone="resnet18", backbone_state_dict=str(weights))
    with pytest.raises(ValueError, match="unknown backbone 'vgg16'"):
        small_model(backbone="vgg16")


# --- losses and the training scheme -------------------------------------------------------


def guided_config(tmp_path: Path, **gan: Any) -> dict[str, Any]:
    return resolve_config(
        {
            "output_dir": str(tmp_path),
            "model": {"name": "multipath-gan", "kwargs": SMALL, "input_size": 64},
            "data": {"guidance": ["saliency", "edges"]},
            "gan": {
                "objective": "wgan-sigmoid",
                "terms": {
                    "l1": 1.0,
                    "adversarial": 0.5,
                    "saliency_weighted": 0.5,
                    "edge_weighted": 0.05,
                },
                **gan,
            },
        }
    )


def tiny_batch(size: int = 64) -> Sample:
    rng = np.random.default_rng(0)
    images = [torch.from_numpy(rng.integers(0, 256, (3, size, size), dtype=np.uint8))
              for _ in range(2)]  # fmt: skip
    return collate_samples([make_sample(im, guidance=("edges", "saliency")) for im in images])


def naive_map_term(fake: torch.Tensor, weight: torch.Tensor, real: torch.Tensor,
                   true_weight: torch.Tensor) -> float:  # fmt: skip
    """mean over b, c, y, x of |w[b,0,y,x] f[b,c,y,x] - t[b,0,y,x] r[b,c,y,x]|, a loop."""
    b, c, h, w = fake.shape
    total = 0.0
    for i in range(b):
        for k in range(c):
            for y in range(h):
                for x in range(w):
                    p = float(weight[i, 0, y, x]) * float(fake[i, k, y, x])
                    q = float(true_weight[i, 0, y, x]) * float(real[i, k, y, x])
                    total += abs(p - q)
    return total / (b * c * h * w)


def test_map_weighted_l1_equals_a_naive_loop() -> None:
    g = torch.Generator().manual_seed(1)
    fake, real = torch.rand(2, 3, 4, 5, generator=g), torch.rand(2, 3, 4, 5, generator=g)
    weight, truth = torch.rand(2, 1, 4, 5, generator=g), torch.rand(2, 1, 4, 5, generator=g)
    got = map_weighted_l1(fake, weight, real, truth).item()
    assert got == pytest.approx(naive_map_term(fake, weight, real, truth), rel=1e-6)
    with pytest.raises(ValueError, match=r"weight must be \(B, 1, H, W\)"):
        map_weighted_l1(fake, fake, real, truth)


def test_each_generator_term_equals_a_naive_computation(tmp_path: Path) -> None:
    torch.manual_seed(0)
    config = as_train_config(guided_config(tmp_path))
    model = create_model("multipath-gan", **SMALL)
    objective = GuidedAdversarialObjective(model, config)
    assert objective.discriminator is not None
    batch = tiny_batch(size=16)  # the terms need no forward pass: small random outputs
    g = torch.Generator().manual_seed(2)
    raw = torch.rand(2, 5, 16, 16, generator=g) * 2 - 1
    output = ModelOutput(extras={"rgb": raw[:, :3], "saliency": raw[:, 3:4], "edges": raw[:, 4:5]})
    fake, real = objective.targets(output, batch)
    torch.testing.assert_close(fake, raw[:, :3])
    torch.testing.assert_close(real, batch.rgb * 2 - 1)  # the photo in [-1, 1]
    x = TermInputs(batch=batch, fake=fake, real=real, objective=objective, output=output)
    values = {name: GENERATOR_TERMS[name](x).item() for name in objective.terms}

    fake01, real01 = (raw[:, :3] + 1) / 2, batch.rgb
    assert values["l1"] == pytest.approx((raw[:, :3] - (batch.rgb * 2 - 1)).abs().mean().item())
    assert batch.saliency is not None and batch.edges is not None
    assert values["saliency_weighted"] == pytest.approx(
        naive_map_term(fake01, (raw[:, 3:4] + 1) / 2, real01, batch.saliency), rel=1e-5
    )
    assert values["edge_weighted"] == pytest.approx(
        naive_map_term(fake01, (raw[:, 4:5] + 1) / 2, real01, batch.edges), rel=1e-5
    )
    # The adversarial term: -mean sigmoid(D(grey, RGB)), D conditioned on the grey image.
    grey = lab_lightness_to_grey(batch.l) * 2 - 1
    with torch.no_grad():
        scores = objective.discriminator(torch.cat([grey, raw[:, :3]], dim=1))
    assert scores.shape == (2, 1, 2, 2)  # 16 px: 16/4 - 2
    probs = [1 / (1 + math.exp(-v)) for v in scores.flatten().tolist()]
    assert values["adversarial"] == pytest.approx(-sum(probs) / len(probs), rel=1e-5)
    # The seed's weights and the total the generator minimises.
    assert objective.terms == {"l1": 1.0, "adversarial": 0.5, "saliency_weighted": 0.5,
                               "edge_weighted": 0.05}  # fmt: skip
    total = sum(w * values[k] for k, w in objective.terms.items())
    naive = (values["l1"] + 0.5 * values["adversarial"] + 0.5 * values["saliency_weighted"]
             + 0.05 * values["edge_weighted"])  # fmt: skip
    assert total == pytest.approx(naive)


def test_discriminator_loss_is_the_seeds_difference_of_means() -> None:
    real, fake = torch.randn(2, 1, 14, 14), torch.randn(2, 1, 14, 14)
    sig = lambda t: [1 / (1 + math.exp(-v)) for v in t.flatten().tolist()]  # noqa: E731
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    assert discriminator_loss("wgan-sigmoid", real, fake).item() == pytest.approx(
        mean(sig(fake)) - mean(sig(real)), rel=1e-5
    )
    assert generator_loss("wgan-sigmoid", fake).item() == pytest.approx(-mean(sig(fake)), rel=1e-5)


def test_guided_training_needs_the_guidance_maps(tmp_path: Path) -> None:
    config = guided_config(tmp_path)
    config["data"]["guidance"] = ["edges"]
    with pytest.raises(ConfigError, match=r"\['saliency'\] maps: add them to data.guidance"):
        ColourisationModule(config)
    with pytest.raises(ConfigError, match=r"data\.guidance has unknown"):
        resolve_config({"data": {"guidance": ["depth"]}})
    # Without the map terms, no maps are needed; Adam with the seed's two learning rates.
    config = guided_config(tmp_path, terms={"l1": 1.0, "adversarial": 0.5}, d_lr=1e-4)
    config["data"]["guidance"] = []
    config["optim"] |= {"name": "adam", "lr": 1e-3}
    module = ColourisationModule(config)
    assert isinstance(module.objective, GuidedAdversarialObjective)


def test_nag_is_sgd_with_nesterov_momentum() -> None:
    config = as_train_config(resolve_config({"optim": {"name": "nag", "lr": 0.01}}))
    opt = make_optimizer([{"params": [nn.Parameter(torch.zeros(2))], "lr": 0.01}], config.optim)
    assert isinstance(opt, torch.optim.SGD)
    group = opt.param_groups[0]
    assert group["nesterov"] is True and group["momentum"] == 0.9 and group["lr"] == 0.01


# --- configs ---------------------------------------------------------------------------------


def test_guided_configs_resolve() -> None:
    paths = sorted(CONFIGS.glob("*.yaml"))
    # (configs/guided/seg-*.yaml, seed 004's segmentation guidance, are tested in
    # tests/test_segguided.py)
    assert {"multipath-gan", "baseline-unet-gan", "baseline-zhang"} <= {p.stem for p in paths}
    configs = {p.stem: resolve_config(p) for p in paths}
    for config in configs.values():
        as_train_config(config)
    mp = configs["multipath-gan"]
    assert mp["model"]["name"] == "multipath-gan" and mp["data"]["image_size"] == 64
    assert set(mp["data"]["guidance"]) == {"saliency", "edges"} and mp["data"]["kind"] == "corpus"
    assert mp["gan"]["terms"] == {"l1": 1.0, "adversarial": 0.5, "saliency_weighted": 0.5,
                                  "edge_weighted": 0.05}  # fmt: skip
    assert mp["gan"]["objective"] == "wgan-sigmoid" and mp["trainer"]["batch_size"] == 64
    assert (mp["optim"]["name"], mp["optim"]["lr"], mp["gan"]["d_lr"]) == ("adam", 1e-3, 1e-4)
    # Baseline 1: 7 + 7 U-Net layers, a 30x30 patch at its input size.
    unet = configs["baseline-unet-gan"]
    model = create_model(unet["model"]["name"], **unet["model"]["kwargs"])
    size = unet["data"]["image_size"]
    assert model.generator.depth == 7 and size == model.input_multiple == 128
    assert model.build_discriminator()(torch.randn(1, 3, size, size)).shape[-2:] == (30, 30)
    assert (unet["optim"]["lr"], unet["gan"]["d_lr"]) == (2e-4, 1e-3)
    # Baseline 2: Zhang's classifier with NAG at 0.01.
    zhang = configs["baseline-zhang"]
    assert model_entry(zhang["model"]["name"]).family == "classification"
    assert (zhang["optim"]["name"], zhang["optim"]["lr"]) == ("nag", 0.01)


# --- inference --------------------------------------------------------------------------------


def test_pipeline_returns_the_aux_maps_at_full_resolution() -> None:
    torch.manual_seed(0)
    pipeline = ColourisePipeline(small_model().eval(), precision="fp32")
    image = np.random.default_rng(0).integers(0, 256, (50, 90, 3), dtype=np.uint8)
    colour, maps = pipeline.colourise_with_aux(image)
    assert colour.shape == (3, 50, 90) and colour.dtype == torch.uint8
    torch.testing.assert_close(colour, pipeline(image))  # the same colour as without maps
    assert set(maps) == {"saliency", "edges"}
    assert all(m.shape == (1, 50, 90) and m.dtype == torch.uint8 for m in maps.values())
    plain = ColourisePipeline(create_model("unet", base_channels=4, depth=2), precision="fp32")
    with pytest.raises(ValueError, match="predicts no auxiliary maps"):
        plain.colourise_with_aux(image)


@pytest.mark.slow
def test_guided_configs_train_and_colourise_with_aux_maps(
    tmp_path: Path, tiny_overrides: Callable[..., list[str]]
) -> None:
    photos = tmp_path / "photos"
    write_photos(photos, 4, size=(144, 136))
    # Seed 003's configs (seg-*.yaml, seed 004's, train in tests/test_segguided.py).
    paths = {
        n: CONFIGS / f"{n}.yaml" for n in ("multipath-gan", "baseline-unet-gan", "baseline-zhang")
    }
    models: dict[str, Path] = {}
    for name, path in sorted(paths.items()):
        out = tmp_path / name
        overrides = [*tiny_overrides(out, root=photos), "data.max_val_images=2"]
        model_path = train(resolve_config(path, overrides), progress=False)
        metrics = read_metrics(out / "logs" / "version_0" / "metrics.csv")
        key = "train/loss" if name == "baseline-zhang" else "train/g_loss"
        assert len(metrics[key]) == 2 and all(math.isfinite(v) for _, v in metrics[key])
        if name == "multipath-gan":
            for term in ("d_loss", "g_loss_saliency_weighted", "g_loss_edge_weighted"):
                assert all(math.isfinite(v) for _, v in metrics[f"train/{term}"]), term
        models[name] = model_path
    grey = tmp_path / "in" / "old.png"
    grey.parent.mkdir()
    Image.open(photos / "photo_00.png").convert("L").save(grey)
    model = str(models["multipath-gan"])
    args = ["colourise", str(grey), "-m", model, "-q", "--precision", "fp32", "--threads", "1"]
    assert main([*args, "--save-aux"]) == 0
    outputs = {p.name for p in grey.parent.iterdir()}
    assert outputs == {"old.png", "old_colour.png", "old_colour_saliency.png",
                       "old_colour_edges.png"}  # fmt: skip
    for name in ("old_colour_saliency.png", "old_colour_edges.png"):
        with Image.open(grey.parent / name) as im:
            assert im.mode == "L" and im.size == (136, 144)
    with Image.open(grey.parent / "old_colour.png") as im:
        assert im.mode == "RGB" and im.size == (136, 144)
    # A rerun finds the outputs and their maps done; the maps are not taken as inputs.
    assert main([str(a) for a in ["colourise", grey.parent, "-m", model, "-q", "--save-aux"]]) == 0
    assert {p.name for p in grey.parent.iterdir()} == outputs
    # The baselines predict no maps: --save-aux is refused before any work.
    assert main(["colourise", str(grey), "-o", str(tmp_path / "o"), "-m",
                 str(models["baseline-unet-gan"]), "-q", "--save-aux"]) == 2  # fmt: skip
    assert not (tmp_path / "o").exists()
    assert main(["colourise", str(grey), "-o", str(tmp_path / "z"), "-m",
                 str(models["baseline-zhang"]), "-q"]) == 0  # fmt: skip
