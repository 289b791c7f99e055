"""The hybrid colouriser (``effnet-hybrid``, the bundled ``vivid`` model): its two heads,
how it decodes, its objective and its start from the default model's weights."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from tests.helpers import write_photos

from tinct.color import denormalize_chroma, normalize_chroma
from tinct.color.decode import annealed_mean
from tinct.data.sample import Sample
from tinct.losses import classification_loss
from tinct.models import create_model, load_model, save_model
from tinct.train import resolve_config, train
from tinct.train.module import ColourisationModule

pytestmark = pytest.mark.usefixtures("one_thread")
ROOT = Path(__file__).resolve().parents[1]


def _hybrid(**kwargs: float) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("effnet-hybrid", pretrained=False, **kwargs).eval()


def _lightness(size: int = 64) -> torch.Tensor:
    return torch.rand(2, 1, size, size, generator=torch.Generator().manual_seed(1)) * 100


def test_forward_gives_bin_logits_and_chroma_at_half_resolution() -> None:
    model = _hybrid()
    with torch.no_grad():
        out = model(_lightness(64))
    assert out.extras["logits"].shape == (2, 313, 32, 32)
    assert out.chroma_norm is not None and out.chroma_norm.shape == (2, 2, 32, 32)
    assert out.chroma_norm.abs().max() <= 1.0


def test_decode_blends_the_two_heads_and_applies_the_gain() -> None:
    model = _hybrid()
    with torch.no_grad():
        out = model(_lightness(64))
    regression = denormalize_chroma(out.chroma_norm, "lab")  # type: ignore[arg-type]
    classified = annealed_mean(out.extras["logits"], model.bins, 0.5)
    model.blend.fill_(0.0)
    assert torch.allclose(model.decode(out), regression)
    model.blend.fill_(1.0)
    assert torch.allclose(model.decode(out, temperature=0.5), classified, atol=1e-5)
    model.blend.fill_(0.25)
    model.gain.fill_(1.5)
    expected = 1.5 * (0.25 * classified + 0.75 * regression)
    assert torch.allclose(model.decode(out, temperature=0.5), expected, atol=1e-5)
    # the model's own temperature is the default: T = 0.1 differs from T = 0.5
    model.temperature.fill_(0.1)
    assert not torch.allclose(model.decode(out), expected, atol=1e-3)


def test_tuned_decoding_travels_with_the_model_file(tmp_path: Path) -> None:
    model = _hybrid(blend=0.3, temperature=0.2, gain=1.2)
    model.blend.fill_(0.7)  # tuned after training: the buffer, not the argument, counts
    save_model(model, tmp_path / "m.pt")
    back = load_model(tmp_path / "m.pt")
    assert float(back.blend) == pytest.approx(0.7, abs=1e-3)
    assert float(back.temperature) == pytest.approx(0.2, abs=1e-3)
    assert float(back.gain) == pytest.approx(1.2, abs=1e-3)


@pytest.mark.parametrize(
    "bad", [{"blend": 1.5}, {"blend": -0.1}, {"gain": 0.0}, {"temperature": 0.0}]
)
def test_bad_decoding_arguments_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        create_model("effnet-hybrid", pretrained=False, **bad)


def test_objective_is_the_rebalanced_cross_entropy_plus_the_weighted_l1(
    tiny_config: Callable[..., dict[str, object]], tmp_path: Path
) -> None:
    config = tiny_config(
        tmp_path,
        model={"name": "effnet-hybrid", "kwargs": {"pretrained": False}},
        loss={"name": "rebalanced", "regression": "l1", "regression_weight": 0.7},
    )
    module = ColourisationModule(config)
    weights = torch.rand(313, generator=torch.Generator().manual_seed(2)) + 0.5
    module.objective.class_weights.copy_(weights)
    g = torch.Generator().manual_seed(3)
    batch = Sample(
        l=torch.rand(2, 1, 32, 32, generator=g) * 100,
        chroma=(torch.rand(2, 2, 32, 32, generator=g) - 0.5) * 120,
        rgb=torch.zeros(2, 3, 32, 32),
    )
    loss, terms = module.objective.loss(module.model, batch)

    out = module.model(batch.l)
    ab = F.interpolate(batch.chroma, size=(16, 16), mode="nearest")
    cls = classification_loss(
        "rebalanced", out.extras["logits"], ab, module.model.bins, weights=weights
    )
    l1 = (out.chroma_norm - normalize_chroma(ab, "lab")).abs().mean()
    assert torch.allclose(terms["classification"], cls, rtol=1e-5)
    assert torch.allclose(terms["regression"], l1, rtol=1e-5)
    assert torch.allclose(loss, cls + 0.7 * l1, rtol=1e-5)


def test_init_from_an_effnet_unet_copies_every_weight_it_has(
    tiny_config: Callable[..., dict[str, object]], tmp_path: Path
) -> None:
    start = create_model("effnet-unet", pretrained=False)
    torch.manual_seed(5)
    for p in start.parameters():
        p.data.normal_()
    save_model(start, tmp_path / "start.pt", half=False)
    config = tiny_config(
        tmp_path / "run",
        model={
            "name": "effnet-hybrid",
            "kwargs": {"pretrained": False},
            "init_from": str(tmp_path / "start.pt"),
        },
        loss={"name": "rebalanced"},
    )
    model = ColourisationModule(config).model
    ours = model.state_dict()
    for key, value in start.state_dict().items():
        assert torch.equal(ours[key], value), key
    assert "logits_head.weight" in ours


def test_init_from_a_model_whose_weights_do_not_fit_is_refused(
    tiny_config: Callable[..., dict[str, object]], tmp_path: Path
) -> None:
    save_model(create_model("zhang-cpu"), tmp_path / "zhang.pt")
    config = tiny_config(
        tmp_path / "run",
        model={
            "name": "effnet-hybrid",
            "kwargs": {"pretrained": False},
            "init_from": str(tmp_path / "zhang.pt"),
        },
        loss={"name": "rebalanced"},
    )
    with pytest.raises(ValueError, match="do not all fit"):
        ColourisationModule(config)


@pytest.mark.slow
def test_vivid_config_trains_a_few_steps(
    tmp_path: Path, tiny_overrides: Callable[..., list[str]]
) -> None:
    write_photos(tmp_path / "photos", 6, size=(48, 40))
    out = tmp_path / "run"
    overrides = tiny_overrides(out, root=tmp_path / "photos", size=32, val_fraction=0.34)
    overrides += ["loss.prior_batches=1", "model.kwargs.pretrained=false"]
    model = load_model(
        train(resolve_config(ROOT / "configs" / "vivid.yaml", overrides), progress=False)
    )
    assert model.registry_name == "effnet-hybrid"
    assert (out / "prior.json").is_file()


def test_bundled_vivid_model_colourises_offline() -> None:
    from tinct.pipeline import ColourisePipeline

    model = load_model("vivid")
    assert model.registry_name == "effnet-hybrid"
    grey = torch.full((3, 64, 96), 128, dtype=torch.uint8)
    rgb = ColourisePipeline(model, precision="fp32")(grey)
    assert rgb.shape == (3, 64, 96) and rgb.dtype == torch.uint8
