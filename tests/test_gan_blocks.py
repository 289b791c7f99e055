"""Adversarial building blocks and GAN networks (tinct.nn; seed 000 ch. 4, seed 004 4.1)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize

from tinct.nn import (
    EFFICIENT_GAN_VARIANTS,
    IBN,
    DSConv,
    DSResBlock,
    EfficientDiscriminator,
    EfficientGenerator,
    MultiScaleDiscriminator,
    PatchDiscriminator,
    SelfAttention,
    UNetGenerator,
    efficient_gan,
    spectral_norm_all,
)

pytestmark = pytest.mark.usefixtures("one_thread")

# Seed 000 table 4.1: G + D parameters of the compared models.
SEED_TOTALS = {
    "cgan": 11_740_484,
    "cgan+att": 11_874_089,
    "cgan+att+dsconv": 4_135_798,
    "cgan+att+dsconv+sn": 4_135_798,
}
SEED_SIZE = 96  # STL-10, seed 000 section 4.5.2


def n_params(*modules: nn.Module) -> int:
    return sum(p.numel() for m in modules for p in m.parameters())


def conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def pix2pix_layers(n_layers: int) -> list[tuple[int, int, int]]:
    """(kernel, stride, padding) of the pix2pix PatchGAN: n stride-2 4x4 convolutions, a
    stride-1 one and the stride-1 output convolution."""
    return [(4, 2, 1)] * n_layers + [(4, 1, 1)] * 2


def patch_grid(size: int, n_layers: int) -> int:
    for k, s, p in pix2pix_layers(n_layers):
        size = conv_out(size, k, s, p)
    return size


def receptive_field(layers: list[tuple[int, int, int]]) -> int:
    rf = 1
    for k, s, _ in reversed(layers):
        rf = (rf - 1) * s + k
    return rf


def open_attention(module: nn.Module, gamma: float = 0.5) -> None:
    """Set every attention gamma non-zero, so that f, g, h and v get gradients."""
    for m in module.modules():
        if isinstance(m, SelfAttention):
            with torch.no_grad():
                m.gamma.fill_(gamma)


# name -> (module factory, input shape)
CASES: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "dsconv": (lambda: DSConv(6, 10), (2, 6, 8, 8)),
    "dsconv-stride2-k4": (lambda: DSConv(6, 10, 4, stride=2), (2, 6, 8, 8)),
    "dsresblock-identity": (lambda: DSResBlock(8, 8), (2, 8, 8, 8)),
    "dsresblock-down": (lambda: DSResBlock(8, 16, stride=2, depth=2), (2, 8, 8, 8)),
    "dsresblock-up": (lambda: DSResBlock(16, 8, upsample=True), (2, 16, 4, 4)),
    "dsresblock-standard-leaky-ibn": (
        lambda: DSResBlock(8, 16, stride=2, dsconv=False, leaky=True, ibn=True, kernel_size=4),
        (2, 8, 8, 8),
    ),
    "self-attention": (lambda: SelfAttention(16), (2, 16, 5, 6)),
    "ibn": (lambda: IBN(8), (3, 8, 4, 4)),
    "unet-generator-32": (
        lambda: UNetGenerator(base_channels=8, depth=5, ibn_layers=2, spectral=True),
        (2, 1, 32, 32),
    ),
    "unet-generator-64": (lambda: UNetGenerator(base_channels=8, depth=6), (2, 1, 64, 64)),
    "patch-discriminator": (
        lambda: PatchDiscriminator(base_channels=8, ibn_layers=1, spectral=True),
        (2, 3, 32, 32),
    ),
    "multiscale-discriminator": (
        lambda: MultiScaleDiscriminator(2, base_channels=8, n_layers=2),
        (2, 3, 32, 32),
    ),
    "efficient-generator": (
        lambda: EfficientGenerator(
            encoder_channels=(8, 16, 32, 32, 32, 32, 32),
            decoder_channels=(32, 32, 32, 32, 32, 16, 8),
        ),
        (2, 1, 32, 32),
    ),
    "efficient-discriminator": (
        lambda: EfficientDiscriminator(base_channels=8),
        (2, 3, 32, 32),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_backward_gives_finite_nonzero_gradients(name: str) -> None:
    factory, shape = CASES[name]
    torch.manual_seed(0)
    module = factory().train()
    open_attention(module)
    out = module(torch.randn(shape))
    outs = out if isinstance(out, list) else [out]
    loss = sum((o.float() * torch.randn_like(o)).sum() for o in outs)
    assert isinstance(loss, Tensor)
    loss.backward()
    params = list(module.named_parameters())
    assert params, f"{name} has no parameters"
    for pname, p in params:
        assert p.grad is not None, f"{name}: {pname} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{name}: {pname} has a non-finite gradient"
        assert p.grad.abs().max() > 0, f"{name}: {pname} has an all-zero gradient"


def test_dsconv_is_depthwise_then_pointwise() -> None:
    conv = DSConv(6, 10, 3, stride=2)
    assert conv.depthwise.groups == 6 and conv.depthwise.stride == (2, 2)
    assert n_params(conv) == 6 * 9 + 6 * 10  # no biases: a norm follows
    assert conv(torch.randn(1, 6, 8, 8)).shape == (1, 10, 4, 4)
    assert DSConv(6, 10, 4)(torch.randn(1, 6, 7, 7)).shape == (1, 10, 7, 7)


def test_dsresblock_projects_only_when_the_shape_changes() -> None:
    same = DSResBlock(8, 8)
    assert isinstance(same.shortcut, nn.Identity)
    for block, shape in [
        (DSResBlock(8, 16), (1, 16, 6, 6)),
        (DSResBlock(8, 8, stride=2), (1, 8, 3, 3)),
        (DSResBlock(8, 8, upsample=True), (1, 8, 12, 12)),
    ]:
        assert isinstance(block.shortcut, nn.Conv2d) and block.shortcut.kernel_size == (1, 1)
        assert block(torch.randn(1, 8, 6, 6)).shape == shape
    with pytest.raises(ValueError, match="stride"):
        DSResBlock(8, 8, stride=2, upsample=True)


def naive_attention(att: SelfAttention, x: Tensor) -> Tensor:
    """Seed 000 eqs. 4.8-4.10 written out: beta_ji = softmax over i of f(x_i)^T g(x_j)."""
    b, _, h, w = x.shape
    f, g, hh = (conv(x).flatten(2) for conv in (att.f, att.g, att.h))  # (B, C/k, N)
    s = torch.einsum("bci,bcj->bij", f, g)  # s[b, i, j] = f(x_i)^T g(x_j)
    beta = torch.softmax(s, dim=1)  # normalised over i for every j
    mixed = torch.einsum("bci,bij->bcj", hh, beta).reshape(b, -1, h, w)
    return att.gamma * att.v(mixed) + x


def test_self_attention_is_the_identity_at_gamma_zero_and_matches_the_equations() -> None:
    torch.manual_seed(0)
    att = SelfAttention(32, k=8)
    assert att.f.out_channels == att.g.out_channels == att.h.out_channels == 4
    assert (att.v.in_channels, att.v.out_channels) == (4, 32)
    assert att.gamma.item() == 0.0
    x = torch.randn(2, 32, 5, 7)
    assert torch.equal(att(x), x)
    with torch.no_grad():
        att.gamma.fill_(1.0)
    y = att(x)
    assert not torch.allclose(y, x)
    torch.testing.assert_close(y, naive_attention(att, x), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="multiple of k"):
        SelfAttention(30, k=8)


def test_spectral_norm_brings_the_top_singular_value_to_one() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(8, 16, 3), nn.ReLU(), nn.Conv2d(16, 4, 3))
    before = n_params(net)
    with torch.no_grad():
        net[0].weight.mul_(5.0)
    assert torch.linalg.matrix_norm(net[0].weight.reshape(16, -1), 2) > 2
    spectral_norm_all(net)
    assert n_params(net) == before
    net.train()
    for _ in range(30):  # one power iteration per training forward
        net(torch.randn(2, 8, 9, 9))
    for conv in (net[0], net[2]):
        assert parametrize.is_parametrized(conv, "weight")
        w = conv.weight.detach().reshape(conv.out_channels, -1)
        sigma = torch.linalg.matrix_norm(w, 2).item()
        assert abs(sigma - 1.0) < 0.02, sigma


def test_spectral_norm_all_covers_every_layer_once() -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ConvTranspose2d(4, 4, 2), nn.Linear(4, 2))
    spectral_norm_all(net)
    spectral_norm_all(net)  # idempotent: no second parametrisation
    for layer in net:
        assert parametrize.is_parametrized(layer, "weight")
        assert len(layer.parametrizations.weight) == 1
    gen = EfficientGenerator(spectral=True)
    convs = [m for m in gen.modules() if isinstance(m, nn.Conv2d)]
    assert convs and all(parametrize.is_parametrized(m, "weight") for m in convs)
    plain = EfficientGenerator(spectral=False)
    assert not any(parametrize.is_parametrized(m) for m in plain.modules())


def test_ibn_is_instance_norm_then_batch_norm_by_channel() -> None:
    torch.manual_seed(0)
    ibn = IBN(10, ratio=0.5).train()
    with torch.no_grad():
        for p in ibn.parameters():
            p.copy_(torch.randn_like(p))
    x = torch.randn(4, 10, 5, 6) * 3 + 1
    out = ibn(x)
    first = F.instance_norm(x[:, :5], weight=ibn.instance.weight, bias=ibn.instance.bias)
    second = F.batch_norm(
        x[:, 5:], None, None, weight=ibn.batch.weight, bias=ibn.batch.bias, training=True
    )
    torch.testing.assert_close(out[:, :5], first)
    torch.testing.assert_close(out[:, 5:], second)
    assert IBN(8, ratio=0.25).instance.num_features == 2
    with pytest.raises(ValueError, match="IBN"):
        IBN(4, ratio=0.1)


@pytest.mark.parametrize(("size", "n_layers"), [(256, 3), (32, 3), (128, 2), (64, 1)])
def test_patch_discriminator_grid_follows_the_receptive_field_arithmetic(
    size: int, n_layers: int
) -> None:
    expected = patch_grid(size, n_layers)
    if (size, n_layers) == (256, 3):
        assert expected == 30
        assert receptive_field(pix2pix_layers(3)) == 70  # the 70x70 PatchGAN
    disc = PatchDiscriminator(base_channels=4, n_layers=n_layers).eval()
    with torch.no_grad():
        out = disc(torch.randn(1, 3, size, size))
    assert out.shape == (1, 1, expected, expected)


def test_patch_discriminator_default_layout_is_c64_c128_c256_c512() -> None:
    disc = PatchDiscriminator()
    convs = [m for m in disc.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 1]
    assert [c.stride[0] for c in convs] == [2, 2, 2, 1, 1]
    assert all(c.kernel_size == (4, 4) for c in convs)
    assert not isinstance(disc.net[1], nn.BatchNorm2d)  # no norm on the first layer
    assert sum(isinstance(m, nn.BatchNorm2d) for m in disc.modules()) == 3
    slopes = {m.negative_slope for m in disc.modules() if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.2}
    with_ibn = PatchDiscriminator(ibn_layers=1)
    assert sum(isinstance(m, IBN) for m in with_ibn.modules()) == 1


def test_multiscale_discriminator_gives_one_map_per_halved_scale() -> None:
    size, n_scales = 128, 3
    disc = MultiScaleDiscriminator(n_scales, base_channels=4, n_layers=3).eval()
    with torch.no_grad():
        maps = disc(torch.randn(2, 3, size, size))
    assert len(maps) == n_scales
    for i, patch_map in enumerate(maps):
        grid = patch_grid(size // 2**i, 3)
        assert patch_map.shape == (2, 1, grid, grid)
    assert [m.shape[-1] for m in maps] == [14, 6, 2]


def test_unet_generator_follows_pix2pix() -> None:
    gen = UNetGenerator()
    encoder_convs = [m for m in gen.encoder.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in encoder_convs] == [64, 128, 256, 512, 512, 512, 512, 512]
    dropout = [any(isinstance(m, nn.Dropout) for m in block) for block in gen.decoder]
    assert dropout == [True, True, True, False, False, False, False]
    assert all(m.p == 0.5 for m in gen.modules() if isinstance(m, nn.Dropout))
    small = UNetGenerator(base_channels=4, depth=5, ibn_layers=2).eval()
    assert sum(isinstance(m, IBN) for m in small.modules()) == 2
    with torch.no_grad():
        out = small(torch.randn(1, 1, 32, 32))
    assert out.shape == (1, 2, 32, 32) and out.abs().max() <= 1
    with pytest.raises(ValueError, match="multiples of 32"):
        small(torch.randn(1, 1, 48, 40))


def test_efficient_gan_parameter_count_matches_seed_000() -> None:
    assert set(EFFICIENT_GAN_VARIANTS) == set(SEED_TOTALS)
    print("\nseed 000 table 4.1: G + D parameters (tinct vs seed)")
    totals = {}
    for variant, seed_total in SEED_TOTALS.items():
        gen, disc = efficient_gan(variant)
        totals[variant] = total = n_params(gen, disc)
        print(
            f"  {variant:20s} G {n_params(gen):>10,}  D {n_params(disc):>9,}  "
            f"total {total:>10,}  seed {seed_total:>10,}  ({total / seed_total - 1:+.4%})"
        )
    full = totals["cgan+att+dsconv+sn"]
    assert abs(full - 4_135_798) / 4_135_798 < 0.01
    assert full == totals["cgan+att+dsconv"]  # spectral norm adds no parameter
    # Standard convolutions cost more, attention a little; both within 10 % of the seed.
    for variant in ("cgan", "cgan+att"):
        assert abs(totals[variant] / SEED_TOTALS[variant] - 1) < 0.1
    assert totals["cgan"] < totals["cgan+att"]
    with pytest.raises(KeyError, match="known"):
        efficient_gan("cgan+sn")


def test_efficient_discriminator_gives_a_12x12_grid_at_the_seed_size() -> None:
    # Stem stride 2, two stride-2 res-blocks, "same"-size layers after: 96 / 8.
    assert SEED_SIZE // 2 // 2 // 2 == 12
    disc = EfficientDiscriminator().eval()
    with torch.no_grad():
        out = disc(torch.randn(1, 3, SEED_SIZE, SEED_SIZE))
    assert out.shape == (1, 1, 12, 12)


def test_efficient_generator_structure() -> None:
    gen = EfficientGenerator()
    assert len(gen.encoder) + len(gen.decoder) == 14
    widths = [
        [b.main[0].pointwise.out_channels for b in part] for part in (gen.encoder, gen.decoder)
    ]
    assert widths == [[64, 128, 256, 256, 256, 256, 256], [256, 256, 256, 256, 256, 128, 64]]
    # "i > 3": encoder blocks 4, 5, 6 (1-based) feed decoder blocks 3, 2, 1.
    assert gen.skip_of == {3: 3, 2: 4, 1: 5}
    assert isinstance(gen.attention, SelfAttention) and gen.attention.v.out_channels == 256
    with pytest.raises(ValueError, match="multiples of 8"):
        gen(torch.randn(1, 1, 36, 36))
    with pytest.raises(ValueError, match="different resolutions"):
        EfficientGenerator(skip_from=2)
    # Without down-sampling every pair has the same size: all six skips are allowed.
    assert len(EfficientGenerator(skip_from=1, down_blocks=0).skip_of) == 6


@pytest.mark.parametrize(
    ("dsconv", "attention", "spectral"), list(itertools.product((False, True), repeat=3))
)
def test_every_variant_builds_and_runs_at_32(dsconv: bool, attention: bool, spectral: bool) -> None:
    gen = EfficientGenerator(dsconv=dsconv, attention=attention, spectral=spectral)
    disc = EfficientDiscriminator(dsconv=dsconv, attention=attention, spectral=spectral)
    l_norm = torch.rand(2, 1, 32, 32) * 2 - 1
    ab_norm = gen(l_norm)
    assert ab_norm.shape == (2, 2, 32, 32) and ab_norm.abs().max() <= 1
    logits = disc(torch.cat([l_norm, ab_norm], dim=1))
    assert logits.shape == (2, 1, 4, 4) and torch.isfinite(logits).all()
    convs = [m for m in gen.modules() if isinstance(m, nn.Conv2d)]
    assert any(c.groups > 1 for c in convs) == dsconv
    assert any(isinstance(m, SelfAttention) for m in disc.modules()) == attention
    assert parametrize.is_parametrized(convs[0], "weight") == spectral
