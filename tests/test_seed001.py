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
from tinct.models import load_model
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
