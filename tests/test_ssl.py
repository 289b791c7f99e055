"""tinct.ssl: NT-Xent, split-brain isolation, L/ab bins, the probe, freezing and learning
rates, augmentations, configs and encoder files (fast)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from tinct.losses import NTXentLoss, nt_xent
from tinct.nn.resnet import ResNet18, SplitBrainResNet18
from tinct.ssl.bins import ABGrid, LightnessBins
from tinct.ssl.config import resolve_ssl_config
from tinct.ssl.encoders import load_encoder, save_encoder
from tinct.ssl.finetune import Classifier, param_groups
from tinct.ssl.methods import METHODS, SplitBrain, create_method
from tinct.ssl.probe import fit_probe, probe_folds
from tinct.ssl.transforms import SimCLRAugment, random_resized_crop
from tinct.ssl.views import LabelledViews, class_folds
from tinct.train import ConfigError

pytestmark = pytest.mark.usefixtures("one_thread")


# --- NT-Xent -----------------------------------------------------------------------------


def naive_nt_xent(z_i: torch.Tensor, z_j: torch.Tensor, t: float) -> float:
    """Seed 000 eq. 3.5 written out with loops over the 2N anchors."""
    z = [v / v.norm() for v in torch.cat([z_i, z_j]).double()]
    n = z_i.shape[0]
    total = 0.0
    for a in range(2 * n):
        positive = (a + n) % (2 * n)
        denominator = sum(math.exp(float(z[a] @ z[k]) / t) for k in range(2 * n) if k != a)
        total += -math.log(math.exp(float(z[a] @ z[positive]) / t) / denominator)
    return total / (2 * n)


@pytest.mark.parametrize("t", [0.5, 0.1, 1.0])
def test_nt_xent_equals_the_naive_reference(t: float) -> None:
    gen = torch.Generator().manual_seed(0)
    z_i, z_j = torch.randn(6, 5, generator=gen), torch.randn(6, 5, generator=gen)
    assert float(nt_xent(z_i, z_j, t)) == pytest.approx(naive_nt_xent(z_i, z_j, t), rel=1e-5)


def test_nt_xent_is_symmetric_in_its_views_and_rewards_agreement() -> None:
    gen = torch.Generator().manual_seed(1)
    z_i, z_j = torch.randn(8, 16, generator=gen), torch.randn(8, 16, generator=gen)
    assert float(nt_xent(z_i, z_j)) == pytest.approx(float(nt_xent(z_j, z_i)), rel=1e-6)
    assert float(NTXentLoss(0.5)(z_i, z_j)) == pytest.approx(float(nt_xent(z_i, z_j, 0.5)))
    # Views that agree (a slightly perturbed copy) give a lower loss than unrelated ones.
    assert float(nt_xent(z_i, z_i + 0.01 * z_j)) < float(nt_xent(z_i, z_j))


def test_nt_xent_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="same shape"):
        nt_xent(torch.randn(4, 3), torch.randn(5, 3))
    with pytest.raises(ValueError, match="at least 2"):
        nt_xent(torch.randn(1, 3), torch.randn(1, 3))
    with pytest.raises(ValueError, match="temperature"):
        nt_xent(torch.randn(4, 3), torch.randn(4, 3), 0.0)


# --- backbones ---------------------------------------------------------------------------


def test_resnet18_sizes_and_blocks() -> None:
    full = ResNet18(width=64, stem="stl10")
    assert full.out_dim == 512
    assert sum(p.numel() for p in full.parameters()) == pytest.approx(11.17e6, rel=0.01)
    split = SplitBrainResNet18(width=64)
    assert split.out_dim == 512 and split.half_dim == 256
    small = ResNet18(width=4, stem="cifar")
    stages = small.stages(torch.rand(2, 3, 32, 32))
    assert [s.shape[-1] for s in stages] == [32, 32, 16, 8, 4]  # CIFAR stem: no pooling
    stl = ResNet18(width=4, stem="stl10")
    assert [s.shape[-1] for s in stl.stages(torch.rand(1, 3, 96, 96))] == [48, 48, 24, 12, 6]
    assert len(small.block_groups()) == 5 and len(SplitBrainResNet18(width=4).block_groups()) == 5
    with pytest.raises(ValueError, match="expects"):
        small(torch.rand(1, 2, 32, 32))


def test_split_brain_halves_get_no_gradient_from_the_other_halfs_channels() -> None:
    torch.manual_seed(0)
    net = SplitBrainResNet18(width=8, stem="cifar")
    x = torch.randn(2, 3, 16, 16, requires_grad=True)
    from_l, _ = net.half_stages(x)
    from_l[-1].square().sum().backward()
    # The L half's output depends on channel 0 only...
    assert x.grad is not None
    assert x.grad[:, 0].abs().sum() > 0 and x.grad[:, 1:].abs().sum() == 0
    # ...and its loss reaches no parameter of the ab half.
    for p in net.halves[1].parameters():
        assert p.grad is None
    assert all(p.grad is not None for p in net.halves[0].parameters())


def test_split_brain_method_losses_train_their_own_half_only() -> None:
    torch.manual_seed(0)
    method = SplitBrain(width=8, stem="cifar", loss="l2")
    rgb = torch.rand(2, 3, 32, 32)
    from tinct.ssl.methods import lab_norm

    lab, l_norm, ab_norm = lab_norm(rgb)
    from_l, _ = method.backbone.half_stages(torch.cat([l_norm, ab_norm], dim=1))
    method.predict_ab(from_l[-1], lab, ab_norm).backward()  # the L -> ab loss alone
    assert all(p.grad is None for p in method.backbone.halves[1].parameters())
    assert all(p.grad is None for p in method.predict_l.parameters())
    assert any(
        p.grad is not None and p.grad.abs().sum() > 0
        for p in method.backbone.halves[0].parameters()
    )


# --- bins --------------------------------------------------------------------------------


def test_100_lightness_bins_encode_and_decode() -> None:
    bins = LightnessBins(100)
    lightness = torch.linspace(0, 100, 10001).view(1, 1, 1, -1)
    index = bins.encode(lightness)
    assert index.shape == (1, 1, 10001) and index.min() == 0 and index.max() == 99
    assert len(torch.unique(index)) == 100
    reference = np.clip(np.digitize(lightness.flatten().numpy(), np.arange(1, 100)), 0, 99)
    assert np.array_equal(index.flatten().numpy(), reference)
    decoded = bins.decode(index)
    assert decoded.shape == lightness.shape
    assert float((decoded - lightness).abs().max()) <= 0.5 + 1e-4
    assert bins.decode(torch.tensor([[0, 99]])).flatten().tolist() == [0.5, 99.5]


def test_256_ab_bins_encode_and_decode() -> None:
    grid = ABGrid(256)
    a, b = torch.meshgrid(
        torch.linspace(-128, 127.9, 200), torch.linspace(-128, 127.9, 200), indexing="ij"
    )
    ab = torch.stack([a, b])[None]
    index = grid.encode(ab)
    assert index.shape == (1, 200, 200) and len(torch.unique(index)) == 256
    decoded = grid.decode(index)
    assert decoded.shape == ab.shape
    assert float((decoded - ab).abs().max()) <= 8.0 + 1e-4  # half a cell of width 16
    # Independent reference: numpy digitisation of each axis.
    edges = np.arange(-112, 128, 16)
    ref = np.digitize(a.numpy(), edges) * 16 + np.digitize(b.numpy(), edges)
    assert np.array_equal(index[0].numpy(), ref)
    assert torch.equal(grid.encode(grid.decode(index)), index)
    with pytest.raises(ValueError, match="square"):
        ABGrid(300)


# --- the probe ---------------------------------------------------------------------------


def test_probe_recovers_a_planted_linearly_separable_signal() -> None:
    rng = np.random.default_rng(0)
    n, d = 400, 32
    labels = rng.integers(0, 4, n)
    noise = rng.normal(size=(n, d)).astype(np.float32)
    directions = rng.normal(size=(4, d)).astype(np.float32)
    planted = noise + 3.0 * directions[labels]
    train, test = slice(0, 300), slice(300, n)
    assert fit_probe(planted[train], labels[train], planted[test], labels[test]) > 0.95
    # Noise alone carries nothing: near chance (0.25).
    assert fit_probe(noise[train], labels[train], noise[test], labels[test]) < 0.45


def test_probe_folds_keep_an_items_crops_together() -> None:
    rng = np.random.default_rng(0)
    items = np.repeat(np.arange(40), 3)
    labels = items % 2
    features = rng.normal(size=(120, 8)) + 4.0 * labels[:, None]
    views = LabelledViews(np.zeros((120, 3, 2, 2), np.uint8), labels, items, ["a", "b"])
    scores = probe_folds(features, views, k=4)
    assert len(scores.accuracies) == 4 and scores.mean > 0.95 and scores.std >= 0


def test_class_folds_partition_items_stratified() -> None:
    labels = np.array([0] * 10 + [1] * 5 + [2] * 15)
    folds = class_folds(labels, 5, seed=3)
    together = np.sort(np.concatenate(folds))
    assert np.array_equal(together, np.arange(30))
    for fold in folds:
        assert np.bincount(labels[fold], minlength=3).tolist() == [2, 1, 3]
    with pytest.raises(ValueError, match="folds"):
        class_folds(labels, 1)


# --- freezing and learning rates --------------------------------------------------------


def _classifier(arch: str = "random") -> Classifier:
    torch.manual_seed(0)
    return Classifier(load_encoder(arch, width=4, stem="cifar"), 3)


def _step(model: Classifier, groups: list[dict[str, object]]) -> None:
    optimiser = torch.optim.Adam(groups)  # type: ignore[arg-type]
    model.train()
    x, y = torch.rand(4, 3, 16, 16), torch.tensor([0, 1, 2, 0])
    torch.nn.functional.cross_entropy(model(x), y).backward()
    optimiser.step()


@pytest.mark.parametrize("arch", ["random", "random:split-brain"])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_freezing_k_blocks_leaves_exactly_those_parameters_unchanged(k: int, arch: str) -> None:
    model = _classifier(arch)
    groups = param_groups(model, "freeze", freeze_blocks=k)
    frozen = {
        id(p) for group in model.encoder.block_groups()[:k] for m in group for p in m.parameters()
    }
    frozen_buffers = {
        id(b) for group in model.encoder.block_groups()[:k] for m in group for b in m.buffers()
    }
    before = {id(p): p.detach().clone() for p in model.parameters()}
    buffers = {id(b): b.clone() for b in model.buffers()}
    _step(model, groups)
    for p in model.parameters():
        changed = not torch.equal(before[id(p)], p.detach())
        assert changed != (id(p) in frozen), "frozen parameters must not move, others must"
    for b in model.buffers():  # batch-norm statistics of frozen blocks stay as they were
        if id(b) in frozen_buffers:
            assert torch.equal(buffers[id(b)], b)
    with pytest.raises(ValueError, match="freeze_blocks"):
        param_groups(_classifier(), "freeze", freeze_blocks=6)


def test_differential_learning_rates_reach_the_right_parameter_groups() -> None:
    model = _classifier()
    groups = param_groups(model, "differential", lr_top=1e-2, lr_body=1e-3)
    top = {id(p) for p in model.top.parameters()}
    body = {id(p) for p in model.encoder.parameters()}
    assert [g["lr"] for g in groups] == [1e-2, 1e-3]
    assert {id(p) for p in groups[0]["params"]} == top  # type: ignore[attr-defined]
    assert {id(p) for p in groups[1]["params"]} == body  # type: ignore[attr-defined]
    optimiser = torch.optim.Adam(groups)  # type: ignore[arg-type]
    assert [g["lr"] for g in optimiser.param_groups] == [1e-2, 1e-3]


def test_top_mode_trains_the_top_layers_only_and_all_mode_everything() -> None:
    model = _classifier()
    groups = param_groups(model, "top")
    assert len(groups) == 1 and groups[0]["lr"] == 1e-2
    assert {id(p) for p in groups[0]["params"]} == {id(p) for p in model.top.parameters()}  # type: ignore[attr-defined]
    assert not any(p.requires_grad for p in model.encoder.parameters())
    groups = param_groups(model, "all", lr_top=1e-2)
    assert len(groups) == 1
    assert len(groups[0]["params"]) == len(list(model.parameters()))  # type: ignore[arg-type]
    assert all(p.requires_grad for p in model.parameters())


# --- augmentations -----------------------------------------------------------------------


def test_simclr_augment_shapes_ranges_and_determinism() -> None:
    rgb = torch.rand(6, 3, 32, 32)
    aug = SimCLRAugment()
    one = aug(rgb, torch.Generator().manual_seed(0))
    two = aug(rgb, torch.Generator().manual_seed(0))
    assert one.shape == rgb.shape and torch.equal(one, two)
    assert float(one.min()) >= 0 and float(one.max()) <= 1
    assert not torch.allclose(one, aug(rgb, torch.Generator().manual_seed(1)))
    grey = SimCLRAugment(jitter_p=0.0, grey_p=1.0, blur_p=0.0)(rgb)
    assert torch.allclose(grey[:, 0], grey[:, 1]) and torch.allclose(grey[:, 1], grey[:, 2])
    # The whole image at scale 1 without flips is the image itself.
    same = random_resized_crop(rgb, scale=(1.0, 1.0), ratio=(1.0, 1.0), hflip=False)
    assert torch.allclose(same, rgb, atol=1e-5)


def test_gaussian_blur_keeps_constant_images_and_smooths_noise() -> None:
    aug = SimCLRAugment(blur_p=1.0)
    flat = torch.full((2, 3, 20, 20), 0.3)
    assert torch.allclose(aug.gaussian_blur(flat), flat, atol=1e-6)
    noise = torch.rand(2, 3, 20, 20)
    assert float(aug.gaussian_blur(noise).std()) < float(noise.std())


# --- methods, configs, encoder files -----------------------------------------------------


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_gives_a_finite_loss_and_gradients(name: str) -> None:
    torch.manual_seed(0)
    method = create_method(name, width=4, stem="cifar")
    rgb = torch.rand(4, 3, 16, 16)
    method.prepare([rgb])
    loss, terms = method.loss(rgb)
    assert torch.isfinite(loss) and terms
    loss.backward()
    assert any(p.grad is not None for p in method.backbone.parameters())
    assert method.encoder()(rgb).shape == (4, method.encoder().out_dim)


def test_classification_split_brain_rebalances_from_the_prior() -> None:
    method = create_method("split-brain", width=4, stem="cifar", loss="classification")
    rgb = torch.rand(4, 3, 16, 16)
    rgb[:2] = 0.5  # many grey pixels: ab cells near 0 are common, so weighted down
    method.prepare([rgb])
    weights = method.predict_ab.class_weights
    assert weights.shape == (256,) and not torch.allclose(weights, torch.ones(256))
    grey_cell = int(ABGrid(256).encode(torch.zeros(2, 1, 1)).item())
    assert float(weights[grey_cell]) < float(weights.max())
    assert method.predict_l.class_weights.shape == (100,)
    with pytest.raises(ValueError, match="do not fit"):
        create_method("simclr", width=4, loss="l2")


def test_ssl_config_reads_every_shipped_config_and_names_bad_keys(tmp_path: Path) -> None:
    configs = sorted((Path(__file__).parents[1] / "configs" / "ssl").glob("*.yaml"))
    assert len(configs) >= 6
    for path in configs:
        config = resolve_ssl_config(path)
        assert config["method"]["name"] in METHODS
    with pytest.raises(ConfigError, match=r"unknown config key 'method\.nme'"):
        resolve_ssl_config({"method": {"nme": "simclr"}})
    with pytest.raises(ConfigError, match=r"method\.name must be one of"):
        resolve_ssl_config({"method": {"name": "byol"}})
    with pytest.raises(ConfigError, match="max_cpu_minutes"):
        resolve_ssl_config({}, ["max_cpu_minutes=0"])


def test_encoder_files_round_trip_and_reject_other_files(tmp_path: Path) -> None:
    torch.manual_seed(0)
    encoder = create_method("combined", width=4, stem="cifar").encoder()
    path = save_encoder(encoder, tmp_path / "encoder.pt", {"steps": 3})
    loaded = load_encoder(str(path))
    rgb = torch.rand(2, 3, 16, 16)
    encoder.eval()
    loaded.eval()
    assert torch.allclose(encoder(rgb), loaded(rgb))
    assert loaded.inputs == "lab" and loaded.out_dim == 32
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match=r"other\.pt: not a tinct encoder file"):
        load_encoder(str(tmp_path / "other.pt"))
    with pytest.raises(FileNotFoundError, match=r"missing\.pt"):
        load_encoder(str(tmp_path / "missing.pt"))


def test_reference_encoders_load_offline() -> None:
    from tinct.models import load_model

    colouriser = load_encoder("colouriser:default")
    assert colouriser.inputs == "grey01" and colouriser.out_dim == 320
    assert len(colouriser.block_groups()) == 5
    model = load_model("default")
    first = next(iter(model.encoder.parameters())).float()  # type: ignore[union-attr]
    assert torch.equal(next(iter(colouriser.parameters())), first)
    imagenet = load_encoder("efficientnet-lite0")
    assert imagenet.out_dim == 320 and imagenet(torch.rand(2, 3, 64, 64)).shape == (2, 320)
    with pytest.raises(ValueError, match="zhang-cpu"):
        load_encoder("colouriser:zhang-cpu")
