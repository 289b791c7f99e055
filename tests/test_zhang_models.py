"""The classification family: Zhang et al. (2016)'s network and its smaller variants."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from helpers import synthetic_photo
from tinct.color.decode import DEFAULT_TEMPERATURE
from tinct.color.quantize import ab_bins
from tinct.eval.cost import count_parameters
from tinct.models import (
    ClassificationColouriser,
    ModelOutput,
    ZhangColouriser,
    create_model,
    list_models,
    load_model,
    model_entry,
    save_model,
)
from tinct.pipeline import ColourisePipeline, model_resolution

# Seed 002 section 4.1: the full network has 32,235,385 parameters, the simplified one
# 15,387,513.
SEED_PARAMETERS = {"zhang-full": 32_235_385, "zhang-simplified": 15_387_513}
NAMES = ["zhang-cpu", "zhang-full", "zhang-simplified"]
# A narrow zhang-cpu for the tests that need no particular width.
TINY = {"widths": (8, 8, 16, 16, 16, 16, 16, 8), "depths": (1, 1, 1, 1, 1, 1, 1, 1)}


def test_registered_as_the_classification_family() -> None:
    assert list_models(family="classification") == NAMES
    for name in NAMES:
        assert model_entry(name).description
        model = create_model(name)
        assert isinstance(model, ClassificationColouriser)
        assert model.supports_temperature and model.space == "lab"
        assert model.input_multiple == 8


@pytest.mark.parametrize("name", sorted(SEED_PARAMETERS))
def test_parameter_counts_match_seed_002(name: str) -> None:
    count = count_parameters(create_model(name))
    seed = SEED_PARAMETERS[name]
    print(f"{name}: {count:,} parameters (seed 002: {seed:,}, {count - seed:+,})")
    assert abs(count - seed) / seed < 0.01
    assert count == seed  # exactly; see tinct.models.classification


def test_cpu_variant_is_small() -> None:
    count = count_parameters(create_model("zhang-cpu"))
    print(f"zhang-cpu: {count:,} parameters")
    assert 1_000_000 <= count <= 2_000_000


def layer_table(model: ZhangColouriser) -> list[tuple[str | int, ...]]:
    """(block, kind, in, out, kernel, stride, dilation) of every layer with weights."""
    rows: list[tuple[str | int, ...]] = []
    for block in model.block_names:
        for layer in model.get_submodule(block):
            if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d):
                kind = "convT" if isinstance(layer, nn.ConvTranspose2d) else "conv"
                rows.append(
                    (
                        block,
                        kind,
                        layer.in_channels,
                        layer.out_channels,
                        layer.kernel_size[0],
                        layer.stride[0],
                        layer.dilation[0],
                    )
                )
            elif isinstance(layer, nn.BatchNorm2d):
                rows.append((block, "bn", layer.num_features))
    return rows


def test_full_network_follows_zhangs_layer_table() -> None:
    model = create_model("zhang-full")
    assert isinstance(model, ZhangColouriser)
    rows = layer_table(model)
    c = "conv"
    expected = [
        ("model1", c, 1, 64, 3, 1, 1), ("model1", c, 64, 64, 3, 2, 1), ("model1", "bn", 64),
        ("model2", c, 64, 128, 3, 1, 1), ("model2", c, 128, 128, 3, 2, 1), ("model2", "bn", 128),
        ("model3", c, 128, 256, 3, 1, 1), ("model3", c, 256, 256, 3, 1, 1),
        ("model3", c, 256, 256, 3, 2, 1), ("model3", "bn", 256),
        ("model4", c, 256, 512, 3, 1, 1), ("model4", c, 512, 512, 3, 1, 1),
        ("model4", c, 512, 512, 3, 1, 1), ("model4", "bn", 512),
        ("model5", c, 512, 512, 3, 1, 2), ("model5", c, 512, 512, 3, 1, 2),
        ("model5", c, 512, 512, 3, 1, 2), ("model5", "bn", 512),
        ("model6", c, 512, 512, 3, 1, 2), ("model6", c, 512, 512, 3, 1, 2),
        ("model6", c, 512, 512, 3, 1, 2), ("model6", "bn", 512),
        ("model7", c, 512, 512, 3, 1, 1), ("model7", c, 512, 512, 3, 1, 1),
        ("model7", c, 512, 512, 3, 1, 1), ("model7", "bn", 512),
        ("model8", "convT", 512, 256, 4, 2, 1), ("model8", c, 256, 256, 3, 1, 1),
        ("model8", c, 256, 256, 3, 1, 1), ("model8", c, 256, 313, 1, 1, 1),
    ]  # fmt: skip
    assert rows == expected
    # Batch norms close blocks 1-7 after the last ReLU (seed 002: "ReLU ... followed by
    # batch normalisation"); key names are those of Zhang's released state dict.
    assert isinstance(model.model1[3], nn.ReLU) and isinstance(model.model1[4], nn.BatchNorm2d)
    state = model.state_dict()
    assert state["model8.6.weight"].shape == (313, 256, 1, 1)
    assert state["model5.0.weight"].shape == (512, 512, 3, 3)
    assert "model7.6.running_var" in state


def test_simplified_network_has_two_convs_per_block_and_at_most_416_channels() -> None:
    model = create_model("zhang-simplified")
    assert isinstance(model, ZhangColouriser)
    rows = [r for r in layer_table(model) if r[1] != "bn"]
    hidden = [r for r in rows if r[:2] != ("model8", "conv") or r[3] != 313]
    for block in model.block_names:
        assert sum(r[0] == block for r in hidden) == 2
    assert max(int(r[3]) for r in hidden) == 416
    assert [r[5] for r in rows if r[5] == 2] == [2, 2, 2, 2]  # 3 strided convs + the convT
    assert {r[0] for r in rows if r[6] == 2} == {"model5", "model6"}


def test_euclidean_baseline_is_zhangs_network_regressing_ab() -> None:
    # Seed 002's Euclidean model: the same network, predicting a and b instead of the
    # distribution over 313 bins (the last 1x1 convolution 256 -> 2 instead of -> 313).
    assert model_entry("zhang-euclidean").family == "regression"
    model = create_model("zhang-euclidean")
    assert not type(model).supports_temperature
    full = create_model("zhang-full")
    assert isinstance(full, ZhangColouriser)
    assert layer_table(model)[:-1] == layer_table(full)[:-1]  # type: ignore[arg-type]
    assert layer_table(model)[-1] == ("model8", "conv", 256, 2, 1, 1, 1)  # type: ignore[arg-type]
    assert count_parameters(model) == SEED_PARAMETERS["zhang-full"] - 311 * 257
    for variant, name in (("simplified", "zhang-simplified"), ("cpu", "zhang-cpu")):
        regressor = create_model("zhang-euclidean", variant=variant)
        classifier = create_model(name)
        assert isinstance(classifier, ZhangColouriser)
        fewer = 311 * (classifier.widths[-1] + 1)
        assert count_parameters(regressor) == count_parameters(classifier) - fewer
    with pytest.raises(ValueError, match="variant"):
        create_model("zhang-euclidean", variant="huge")

    torch.manual_seed(0)
    output = model(torch.rand(2, 1, 64, 64) * 100)
    assert output.chroma_norm is not None and output.chroma_norm.shape == (2, 2, 16, 16)
    ab = model.decode(output)
    assert ab.shape == (2, 2, 16, 16)
    torch.nn.functional.mse_loss(output.chroma_norm, torch.zeros_like(ab)).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())

    small = create_model("zhang-euclidean", variant="cpu").eval()
    image = torch.from_numpy(synthetic_photo(40, 56, seed=1)).permute(2, 0, 1).contiguous()
    assert ColourisePipeline(small, precision="fp32")(image).shape == image.shape


@pytest.mark.parametrize("name", NAMES)
def test_forward_backward_at_64x64(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name)
    output = model(torch.rand(2, 1, 64, 64) * 100)
    logits = output.extras["logits"]
    assert output.chroma_norm is None
    assert logits.shape == (2, 313, 16, 16) and logits.dtype == torch.float32
    nn.functional.cross_entropy(logits, torch.randint(0, 313, (2, 16, 16))).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_logits_are_at_a_quarter_of_the_input_resolution() -> None:
    model = create_model("zhang-cpu").eval()
    with torch.no_grad():
        output = model(torch.rand(3, 1, 40, 72) * 100)
    assert output.extras["logits"].shape == (3, 313, 10, 18)
    ab = model.decode(output)
    assert ab.shape == (3, 2, 10, 18) and ab.dtype == torch.float32
    bins = model.bins
    assert bins.shape == (313, 2)
    assert (ab.amin(dim=(0, 2, 3)) >= bins.amin(dim=0)).all()
    assert (ab.amax(dim=(0, 2, 3)) <= bins.amax(dim=0)).all()


def test_bins_follow_the_bin_set() -> None:
    srgb = ab_bins("srgb")
    model = create_model("zhang-cpu", bins="srgb", **TINY)
    assert torch.equal(model.bins, srgb)
    assert model(torch.rand(1, 1, 32, 32) * 100).extras["logits"].shape[1] == srgb.shape[0]


def test_decode_temperature() -> None:
    torch.manual_seed(0)
    model = create_model("zhang-cpu", **TINY)
    logits = torch.randn(2, 313, 3, 4) * 3
    top = logits.argmax(dim=1, keepdim=True)
    logits.scatter_add_(1, top, torch.ones_like(top, dtype=logits.dtype))  # a clear mode
    output = ModelOutput(extras={"logits": logits})
    mode_ab = model.bins[top[:, 0]].permute(0, 3, 1, 2)
    assert torch.equal(model.decode(output, temperature=0.0), mode_ab)
    assert torch.allclose(model.decode(output, temperature=1e-3), mode_ab, atol=1e-4)
    mean_ab = torch.einsum("bqhw,qc->bchw", logits.softmax(dim=1), model.bins)
    assert torch.allclose(model.decode(output, temperature=1.0), mean_ab, atol=1e-4)
    # Default: the annealed mean at T = 0.38, between the two.
    default = model.decode(output)
    assert torch.equal(default, model.decode(output, temperature=DEFAULT_TEMPERATURE))
    assert not torch.allclose(default, mean_ab, atol=1e-2)
    assert not torch.allclose(default, mode_ab, atol=1e-2)
    # bf16 logits (bf16 inference) decode in float32.
    half = model.decode(ModelOutput(extras={"logits": logits.bfloat16()}), temperature=1.0)
    assert half.dtype == torch.float32 and torch.allclose(half, mean_ab, atol=1.0)
    with pytest.raises(ValueError, match="logits"):
        model.decode(ModelOutput(chroma_norm=torch.zeros(1, 2, 4, 4)))


@pytest.mark.parametrize("name", ["zhang-cpu", "zhang-simplified"])
def test_fusing_keeps_the_outputs(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name)
    model.train()
    with torch.no_grad():  # non-trivial running statistics
        for _ in range(2):
            model(torch.rand(2, 1, 64, 64) * 100)
    model.eval()
    x = torch.rand(1, 1, 64, 64) * 100
    with torch.no_grad():
        before = model(x).extras["logits"]
        model.fuse_for_inference()
        after = model(x).extras["logits"]
    assert torch.allclose(before, after, atol=1e-4)


def test_bf16_weights_take_float_lightness() -> None:
    model = create_model("zhang-cpu", **TINY).eval().to(torch.bfloat16)
    with torch.no_grad():
        output = model(torch.rand(1, 1, 32, 32) * 100)
    assert output.extras["logits"].dtype == torch.bfloat16
    ab = model.decode(output.float())
    assert ab.dtype == torch.float32 and ab.shape == (1, 2, 8, 8)


@pytest.mark.parametrize("half", [False, True])
def test_save_and_load_round_trip(tmp_path: Path, half: bool) -> None:
    torch.manual_seed(0)
    model = create_model("zhang-cpu").eval()
    path = save_model(model, tmp_path / "zhang.pt", half=half)
    loaded = load_model(path)
    assert loaded.registry_name == "zhang-cpu" and loaded.init_kwargs == {}
    assert torch.equal(loaded.bins, model.bins)  # type: ignore[arg-type]
    x = torch.rand(1, 1, 64, 64) * 100
    with torch.no_grad():
        out, back = model(x), loaded(x)
        if half:  # fp16 weights: colours within a fraction of an ab unit
            assert (model.decode(out) - loaded.decode(back)).abs().max() < 1.0
        else:
            assert torch.equal(out.extras["logits"], back.extras["logits"])


def test_custom_widths_survive_saving(tmp_path: Path) -> None:
    model = create_model("zhang-cpu", **TINY).eval()
    loaded = load_model(save_model(model, tmp_path / "tiny.pt", half=False))
    assert loaded.init_kwargs == TINY
    assert isinstance(loaded, ZhangColouriser) and loaded.widths == TINY["widths"]


def test_widths_and_depths_are_checked() -> None:
    with pytest.raises(ValueError, match="8 values"):
        create_model("zhang-cpu", widths=(16, 32))
    with pytest.raises(ValueError, match=">= 1"):
        create_model("zhang-cpu", depths=(2, 2, 2, 0, 2, 2, 2, 2))


def test_pipeline_colourises_with_a_temperature() -> None:
    torch.manual_seed(0)
    model = create_model("zhang-cpu", **TINY)
    photo = synthetic_photo(48, 80, seed=1)
    h, w = model_resolution(48, 80, 64, model.input_multiple)
    sharp = ColourisePipeline(model, size=64, temperature=0.2, precision="fp32")
    chroma = sharp.predict_chroma(photo)
    assert chroma.shape == (2, h // 4, w // 4)  # upsampled by the pipeline, not the model
    flat = ColourisePipeline(model, size=64, temperature=1.0, precision="fp32")
    assert not torch.allclose(chroma, flat.predict_chroma(photo))
    out = sharp(photo)
    assert out.shape == (3, 48, 80) and out.dtype == torch.uint8
