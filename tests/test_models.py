"""Registry, typed outputs, decoding and saving/loading of every registered model."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch

from tinct.losses import latent_kl
from tinct.models import (
    Colouriser,
    ModelOutput,
    create_model,
    list_models,
    load_metadata,
    load_model,
    model_entry,
    register_model,
    save_model,
)
from tinct.models.registry import _REGISTRY
from tinct.nn.backbones import EfficientNetLiteEncoder

# Small constructor arguments keep the parametrised forward/backward test fast.
SMALL_KWARGS: dict[str, dict[str, object]] = {
    "unet": {"base_channels": 8, "depth": 3},
    "effnet-unet": {"pretrained": False},
    "zhang-euclidean": {"variant": "cpu"},
    "pix2pix": {"depth": 5, "base_channels": 8},
    "gorriz": {"depth": 5, "base_channels": 8},
    "multipath-gan": {"channels": [8, 8, 16, 16, 16, 16], "d_channels": [8, 8, 8, 8, 8]},
    "seg-shared": {"depth": 4, "base_channels": 8, "n_classes": 3},
    "seg-separate": {"depth": 4, "base_channels": 8, "n_classes": 3},
}
# Each lightness/chroma space's nominal chroma ranges in colour-space units (written out
# here, not taken from tinct.color): ab within ±110, uv within ±180, YUV's U ±0.436 and
# V ±0.615, YIQ's I ±0.596 and Q ±0.523, YCbCr's Cb and Cr in [0, 1].
CHROMA_RANGES: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "lab": ((-110.0, 110.0), (-110.0, 110.0)),
    "luv": ((-180.0, 180.0), (-180.0, 180.0)),
    "yuv": ((-0.436, 0.436), (-0.615, 0.615)),
    "yiq": ((-0.596, 0.596), (-0.523, 0.523)),
    "ycbcr": ((0.0, 1.0), (0.0, 1.0)),
}
# Models predicting at 1/4 of the input resolution (the pipeline upsamples their chroma).
QUARTER_RESOLUTION = {"zhang-euclidean"}


def test_registry_lists_the_regression_family() -> None:
    names = list_models()
    assert {"unet", "effnet-unet"} <= set(names)
    assert names == sorted(names)
    assert set(list_models(family="regression")) >= {"unet", "effnet-unet"}
    assert model_entry("unet").description


def test_unknown_model_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"unknown model 'nope'.*effnet-unet"):
        create_model("nope")


def test_register_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_model("unet")(lambda: None)  # type: ignore[arg-type,return-value]
    assert "unet" in _REGISTRY


def raw_output(output: ModelOutput) -> torch.Tensor:
    """What a family's loss sees: regression chroma, classification bin logits, or a
    segmentation-guided model's per-class chroma and class logits (joined)."""
    raw = output.chroma_norm if output.chroma_norm is not None else output.extras.get("logits")
    if raw is None and "class_chroma" in output.extras:
        raw = torch.cat([output.extras["class_chroma"], output.extras["seg_logits"]], dim=1)
    assert raw is not None, "a model output needs chroma_norm or extras['logits']"
    return raw


def fixed_forward(model: Colouriser, x: torch.Tensor) -> ModelOutput:
    """The model's output, with a fixed random draw for models that sample (the CVAE)."""
    if model.supports_sampling:
        return model.sample(x, generator=torch.Generator().manual_seed(0))
    return model(x)


@pytest.mark.parametrize("name", list_models())
def test_forward_backward_every_registered_model(name: str) -> None:
    model = create_model(name, **SMALL_KWARGS.get(name, {}))  # type: ignore[arg-type]
    assert isinstance(model, Colouriser)
    m = model.input_multiple
    lightness = torch.rand(2, 1, 2 * m, 3 * m) * 100
    if model_entry(name).family == "cvae":
        # Training forward: the training encoder sees the (normalised) true chroma too.
        output = model(lightness, torch.rand(2, 2, 2 * m, 3 * m) * 2 - 1)
    else:
        output = model(lightness)
    assert isinstance(output, ModelOutput)
    classification = model_entry(name).family == "classification"
    segguided = model_entry(name).family == "segguided"
    if segguided:  # per-class chroma and class logits; decode picks (test_segguided.py)
        assert output.chroma_norm is None
        assert output.extras["class_chroma"].shape[1] == 2 * output.extras["seg_logits"].shape[1]
    elif classification:
        # Bin logits at 1/4 resolution; the pipeline upsamples the decoded chroma.
        assert output.chroma_norm is None
        assert output.extras["logits"].shape == (2, model.bins.shape[0], m // 2, 3 * m // 4)
    else:
        assert output.chroma_norm is not None
    loss = raw_output(output).square().mean()
    if output.chroma_norm is not None and "logits" in output.extras:  # hybrid: both heads
        loss = loss + output.extras["logits"].square().mean()
    if model_entry(name).family == "cvae":  # the conditional encoder learns from the KL
        ex = output.extras
        loss = loss + latent_kl(ex["mu"], ex["logvar"], ex["prior_mu"], ex["prior_logvar"])
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert grads and all(g is not None for g in grads)
    assert any(g.abs().sum() > 0 for g in grads if g is not None)
    chroma = model.decode(output)
    if classification:
        assert chroma.shape == (2, 2, m // 2, 3 * m // 4)
        # An average of bin centres lies within their range, in Lab units.
        lo, hi = model.bins.min(0).values.view(2, 1, 1), model.bins.max(0).values.view(2, 1, 1)
        assert ((chroma >= lo - 1e-3) & (chroma <= hi + 1e-3)).all()
        return
    if segguided:
        assert chroma.shape == (2, 2, 2 * m, 3 * m)
        return
    if model_entry(name).family == "hybrid":  # two heads at 1/2 resolution (test_hybrid.py)
        assert chroma.shape == (2, 2, m, 3 * m // 2)
        return
    quarter = name in QUARTER_RESOLUTION
    assert chroma.shape == ((2, 2, m // 2, 3 * m // 4) if quarter else (2, 2, 2 * m, 3 * m))
    # decode maps normalised chroma in [-1, 1] to colour-space units: the centre of each
    # chroma channel's range plus its half-width times the normalised value.
    assert model.space in CHROMA_RANGES, f"{name}: no chroma range for {model.space!r}"
    lo, hi = torch.tensor(CHROMA_RANGES[model.space]).T.view(2, 1, 2, 1, 1)
    expected = (hi + lo) / 2 + (hi - lo) / 2 * output.chroma_norm
    assert torch.allclose(chroma, expected, rtol=1e-5, atol=1e-6), model.space


def test_regression_decode_ignores_missing_output() -> None:
    model = create_model("unet", base_channels=4, depth=1)
    with pytest.raises(ValueError, match="chroma_norm"):
        model.decode(ModelOutput())


def test_effnet_encoder_loads_the_imagenet_weights_offline() -> None:
    pretrained = EfficientNetLiteEncoder(pretrained=True)
    scratch = EfficientNetLiteEncoder(pretrained=False)
    w_pre = pretrained.stem[0].weight
    w_new = scratch.stem[0].weight
    assert not torch.allclose(w_pre, w_new)
    feats = pretrained.eval()(torch.rand(1, 3, 64, 96))
    assert [f.shape[1] for f in feats] == list(pretrained.channels) == [16, 24, 40, 112, 320]
    assert [f.shape[-1] for f in feats] == [48, 24, 12, 6, 3]


def test_effnet_unet_sees_grey_rgb() -> None:
    """The encoder receives the grey sRGB image of L (equal channels, in [0, 1])."""
    model = create_model("effnet-unet", pretrained=False).eval()
    seen: list[torch.Tensor] = []
    model.encoder.register_forward_pre_hook(lambda mod, args: seen.append(args[0]))
    lightness = (
        torch.tensor([0.0, 50.0, 100.0]).view(1, 1, 1, 3).expand(1, 1, 32, 3).repeat(1, 1, 1, 11)
    )
    model(lightness[..., :32])
    grey = seen[0]
    assert grey.shape[1] == 3
    assert torch.allclose(grey[:, 0], grey[:, 1]) and torch.allclose(grey[:, 1], grey[:, 2])
    # L = 50 is sRGB 0.4663 (119/255): skimage.color.lab2rgb([50, 0, 0]).
    assert grey[0, 0, 0, 1].item() == pytest.approx(0.46631, abs=1e-3)
    assert grey[0, 0, 0, 0].item() == pytest.approx(0.0, abs=1e-4)
    assert grey[0, 0, 0, 2].item() == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("name", list_models())
def test_save_and_load_round_trip_every_registered_model(name: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    kwargs = SMALL_KWARGS.get(name, {})
    model = create_model(name, **kwargs).eval()  # type: ignore[arg-type]
    path = save_model(model, tmp_path / "m.pt", metadata={"note": "test"}, half=False)
    loaded = load_model(path)
    assert type(loaded) is type(model) and not loaded.training
    # init_kwargs: the given kwargs, plus the current value of arguments whose default
    # changed (the cvae layout), so the file names them.
    assert loaded.registry_name == name and loaded.init_kwargs == model.init_kwargs
    assert kwargs.items() <= loaded.init_kwargs.items()
    assert loaded.input_size == model.input_size and loaded.space == model.space
    assert load_metadata(path)["note"] == "test"
    torch.testing.assert_close(loaded.state_dict(), model.state_dict(), rtol=0, atol=0)
    m = model.input_multiple
    x = torch.rand(1, 1, 2 * m, 3 * m) * 100
    with torch.no_grad():
        torch.testing.assert_close(
            raw_output(fixed_forward(loaded, x)), raw_output(fixed_forward(model, x))
        )


def test_half_precision_export_is_close(tmp_path: Path) -> None:
    model = create_model("effnet-unet", pretrained=True).eval()
    path = save_model(model, tmp_path / "m.pt")
    loaded = load_model(path)
    x = torch.rand(1, 1, 64, 64) * 100
    with torch.inference_mode():
        diff = (model.decode(model(x)) - loaded.decode(loaded(x))).abs().max().item()
    assert diff < 1.0  # ab units; fp16 weights change predictions by well under 1 unit


def test_load_model_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no model"):
        load_model(tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="architecture without trained weights"):
        load_model("unet")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    with pytest.raises(ValueError, match=r"bad.pt"):
        load_model(bad)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(ValueError, match="not a tinct model"):
        load_model(other)


def test_bundled_default_model_loads_offline() -> None:
    model = load_model("default")
    assert model.registry_name == "effnet-unet"
    assert not model.training


def conv_bn_pairs(model: torch.nn.Module) -> int:
    """Batch norms directly after a convolution inside an ``nn.Sequential`` (foldable)."""
    return sum(
        isinstance(a, torch.nn.Conv2d) and isinstance(b, torch.nn.BatchNorm2d)
        for seq in model.modules()
        if isinstance(seq, torch.nn.Sequential)
        for a, b in itertools.pairwise(seq)
    )


@pytest.mark.parametrize("name", list_models())
def test_fusing_batch_norm_keeps_the_outputs(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name, **SMALL_KWARGS.get(name, {}))  # type: ignore[arg-type]
    # Non-trivial running statistics, as after training.
    model.train()
    m = model.input_multiple
    with torch.no_grad():
        for _ in range(3):
            model(torch.rand(2, 1, 2 * m, 2 * m) * 100)
    model.eval()
    x = torch.rand(1, 1, 2 * m, 3 * m) * 100
    with torch.no_grad():
        before = raw_output(fixed_forward(model, x))
        model.fuse_for_inference()
        after = raw_output(fixed_forward(model, x))
    assert conv_bn_pairs(model) == 0
    if model_entry(name).family == "regression" and not name.startswith("zhang-"):
        assert not any(isinstance(mod, torch.nn.BatchNorm2d) for mod in model.modules())
    # else: Zhang's blocks and seed 001's CGAN end conv -> ReLU -> BN, pix2pix's decoder
    # has transposed convolution -> BN: no convolution directly before the BN to fold into.
    assert torch.allclose(before, after, atol=1e-4)


def test_effnet_unet_with_fewer_encoder_stages() -> None:
    model = create_model(
        "effnet-unet", pretrained=False, encoder_stages=4, decoder_channels=(32, 24, 16)
    )
    assert list(model.encoder.channels) == [16, 24, 40, 112]
    out = model(torch.rand(1, 1, 64, 96) * 100)
    assert out.chroma_norm is not None and out.chroma_norm.shape == (1, 2, 64, 96)
    with pytest.raises(ValueError, match="encoder_stages - 1 = 3"):
        create_model("effnet-unet", pretrained=False, encoder_stages=4)
