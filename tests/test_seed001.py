"""Seed 001 offline data (CIFAR-10 format writer) and the Shape Set shape -> colour run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from tinct.color import lightness_chroma_to_rgb, rgb_to_lightness_chroma
from tinct.data.cifar import CIFAR10, random_crops_32, write_cifar10_format
from tinct.data.shapes import SHAPES, ShapeSet, render_shapes
from tinct.eval import shape_colour_assignment
from tinct.models import create_model, load_model, save_model
from tinct.pipeline import colourise
from tinct.train import resolve_config, train


def test_cifar10_format_round_trip_with_class_filter(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    train_images = rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    train_labels = np.arange(12) % 3
    test_images = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    folder = write_cifar10_format(
        tmp_path / "cifar-10-batches-py",
        {"train": (train_images, train_labels), "test": (test_images, np.array([0, 1, 2, 0]))},
        ["circle", "square", "triangle"],
    )
    train_set = CIFAR10(folder.parent, "train", progress=False)
    assert train_set.classes == ["circle", "square", "triangle"]
    np.testing.assert_array_equal(train_set.data, train_images)
    assert train_set.targets == train_labels.tolist()
    squares = CIFAR10(folder.parent, "train", classes=["square"], progress=False)
    np.testing.assert_array_equal(squares.data, train_images[train_labels == 1])
    assert len(CIFAR10(folder, "test", progress=False)) == 4
    with pytest.raises(ValueError, match="'test'"):
        write_cifar10_format(tmp_path / "x", {"train": (train_images, train_labels)}, SHAPES)
    with pytest.raises(ValueError, match=r"\(N, 32, 32, 3\) uint8"):
        write_cifar10_format(
            tmp_path / "x",
            {"train": (train_images[:, :16], train_labels), "test": (test_images, [0] * 4)},
            SHAPES,
        )
    with pytest.raises(ValueError, match="labels"):
        write_cifar10_format(
            tmp_path / "x",
            {"train": (train_images, train_labels + 5), "test": (test_images, [0] * 4)},
            SHAPES,
        )


def test_random_crops_of_a_labelled_dataset() -> None:
    shapes = ShapeSet(n=3, size=64, seed=4)
    images, labels = random_crops_32(shapes, 2, seed=0)
    assert images.shape == (6, 32, 32, 3) and images.dtype == np.uint8
    assert labels.tolist() == [label for label in shapes.targets for _ in range(2)]
    again, _ = random_crops_32(shapes, 2, seed=0)
    np.testing.assert_array_equal(images, again)
    with pytest.raises(ValueError, match="crops_per_image"):
        random_crops_32(shapes, 0)


@pytest.mark.slow
def test_the_yuv_cnn_learns_shape_to_colour_on_shape_set(
    tmp_path: Path, tiny_overrides: Callable[..., list[str]]
) -> None:
    """Seed 001 section 5.2, measured: after a short Shape Set run the colours inside
    each shape's mask are assigned to that shape's own hue far above chance (1/3)."""
    torch.manual_seed(0)
    config = resolve_config(
        Path(__file__).parents[1] / "configs" / "yuv-cnn.yaml",
        [
            "data.name=shapes",
            "data.classes=null",
            "data.augment.seed001=[]",
            "data.max_val_images=8",
            "model.kwargs.dropout=0.0",
            *tiny_overrides(
                tmp_path / "run",
                steps=STEPS,
                batch_size=32,
                log_every=None,
                num_sample_images=None,
            ),
        ],
    )
    model = load_model(train(config, progress=False)).eval()
    items = [render_shapes((2, i), 64) for i in range(150)]  # test split, as trained (64 px)
    rgb = torch.from_numpy(np.stack([r for r, _, _ in items])).permute(0, 3, 1, 2).float() / 255
    rgb = torch.nn.functional.interpolate(rgb, size=32, mode="bilinear", antialias=True)
    masks = torch.from_numpy(np.stack([m for _, m, _ in items]))[:, None].float()
    masks = torch.nn.functional.interpolate(masks, size=32, mode="nearest")[:, 0].long()
    with torch.no_grad():
        y, _ = rgb_to_lightness_chroma(rgb, "yuv")
        pred = lightness_chroma_to_rgb(y, model.decode(model(y)), "yuv").clamp(0, 1)
    stats = shape_colour_assignment(pred, masks)
    assigned = [s.assigned for s in stats]
    assert min(s.coloured for s in stats) > 0.2, stats
    assert sum(assigned) / 3 > 0.6, stats


STEPS = 400


# ---------------------------------------------------------------- the networks as drawn

#: Seed 001 figure 4.10's parameter counts: training encoder, conditional encoder, decoder.
FIGURE_4_10 = {"posterior": 478_512, "prior": 478_368, "decoder": 298_405}


def n_params(module: torch.nn.Module, prefix: str = "") -> int:
    return sum(p.numel() for name, p in module.named_parameters() if name.startswith(prefix))


def test_the_cvae_has_figure_4_10s_parameters() -> None:
    model = create_model("cvae")
    total = n_params(model)
    assert abs(total - 1_255_285) <= 0.01 * 1_255_285
    assert total == sum(FIGURE_4_10.values()) == 1_255_285
    assert n_params(model, "posterior_") == FIGURE_4_10["posterior"]
    assert n_params(model, "prior_") == FIGURE_4_10["prior"]
    decoder = n_params(model, "decoder_") + n_params(model, "refine.")
    assert decoder == FIGURE_4_10["decoder"]
    assert model.init_kwargs == {"layout": "figure"}  # saved files name the layout


def test_the_older_cvae_layout_keeps_its_parameters() -> None:
    model = create_model("cvae", layout="thesis-text")
    assert n_params(model) == 3_552_556  # latent 1024, UV-only decoder: as before
    assert model.latent_dim == 1024


def test_model_files_without_the_new_arguments_load_as_their_old_layout(tmp_path: Path) -> None:
    """Files written before ``layout`` / ``first_padding`` existed keep their network."""
    for name, kwargs, key, old in (
        ("cvae", {"layout": "thesis-text", "latent_dim": 16}, "layout", "thesis-text"),
        ("yuv-cnn", {"first_padding": "same"}, "first_padding", "same"),
    ):
        torch.manual_seed(0)
        model = create_model(name, **kwargs).eval()
        path = save_model(model, tmp_path / f"{name}.pt", half=False)
        payload = torch.load(path, weights_only=True)
        del payload["kwargs"][key]  # as an old file
        torch.save(payload, path)
        loaded = load_model(path)
        assert loaded.init_kwargs[key] == old
        y = torch.rand(1, 1, 32, 32)
        g = torch.Generator()
        with torch.no_grad():
            torch.testing.assert_close(
                loaded.sample(y, generator=g.manual_seed(0)).chroma_norm
                if loaded.supports_sampling
                else loaded(y).chroma_norm,
                model.sample(y, generator=g.manual_seed(0)).chroma_norm
                if model.supports_sampling
                else model(y).chroma_norm,
            )


def test_the_bundled_cvae_still_loads_and_colourises() -> None:
    model = load_model("cvae")
    assert model.init_kwargs["layout"] == "thesis-text"  # not in the file: the old layout
    rgb = render_shapes((2, 0), 48)[0]
    out = colourise(rgb, model=model, seed=0)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    hsv_sat = out.max(-1).astype(int) - out.min(-1).astype(int)
    assert hsv_sat.mean() > 1  # some colour, not the grey input back


def test_the_yuv_cnn_first_convolution_is_valid_as_in_the_seed() -> None:
    model = create_model("yuv-cnn", dropout=0.0).eval()
    first = model.net[0]
    assert isinstance(first, torch.nn.Conv2d)
    assert (first.in_channels, first.out_channels) == (1, 8)
    assert first.kernel_size == (3, 3) and first.padding == (0, 0) and first.stride == (1, 1)
    sizes = []
    for layer in model.net:
        if isinstance(layer, torch.nn.Conv2d):
            layer.register_forward_hook(lambda m, i, o: sizes.append(o.shape[-1]))
    with torch.no_grad():
        out = model(torch.rand(1, 1, 32, 32))
    assert out.chroma_norm is not None and out.chroma_norm.shape == (1, 2, 32, 32)
    assert sizes == [30, 15, 8, 4, 8, 16, 16, 32]  # figure 4.9b's generator without BN
    same = create_model("yuv-cnn", first_padding="same")
    assert same.net[0].padding == (1, 1)
    assert n_params(same) == n_params(model) == 232_274
