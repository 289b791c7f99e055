"""The Sample record, transforms, guidance maps, Shape Set and folder datasets."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import synthetic_photo, write_photos
from tinct.data.base import DatasetError
from tinct.data.corpus import ManifestEntry, write_manifest
from tinct.data.folders import Faces, Flickr30k, ImageFolder, Imagenette
from tinct.data.guidance import canny_edges, spectral_residual_saliency
from tinct.data.photos import CorpusPhotos, photo_category
from tinct.data.sample import Sample, collate_samples, make_sample
from tinct.data.shapes import SHAPES, ShapeSet, render_shapes, write_shapes
from tinct.data.splits import split_indices
from tinct.data.transforms import (
    CenterCrop,
    Compose,
    RandomAffine,
    RandomBrightness,
    RandomCrop,
    RandomHorizontalFlip,
    RandomResizedCrop,
    Resize,
    affine,
    seed001_augmentation,
)
from tinct.io import ImageReadError

# -- Sample ---------------------------------------------------------------------------


@pytest.mark.parametrize("space", ["lab", "yuv", "luv", "ycbcr"])
def test_make_sample_round_trip(space: str) -> None:
    rgb = torch.from_numpy(synthetic_photo(12, 16, 0).copy()).permute(2, 0, 1)
    s = make_sample(rgb, space, label=2)
    assert s.l.shape == (1, 12, 16) and s.chroma.shape == (2, 12, 16)
    assert torch.equal(s.rgb, rgb.float() / 255)
    assert torch.allclose(s.reconstruct_rgb(), s.rgb, atol=1e-4)
    assert s.label == 2 and not s.is_batched


def test_make_sample_validates() -> None:
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        make_sample(torch.zeros(4, 5, 5))
    with pytest.raises(ValueError, match="mask shape"):
        make_sample(torch.zeros(3, 5, 5), mask=torch.zeros(4, 5))
    with pytest.raises(ValueError, match="unknown guidance"):
        make_sample(torch.zeros(3, 5, 5), guidance=["depth"])


def test_collate_stacks_and_counts_skipped() -> None:
    a = make_sample(torch.rand(3, 8, 8), label=1, mask=torch.zeros(8, 8), index=0)
    b = make_sample(torch.rand(3, 8, 8), label=4, mask=torch.ones(8, 8), index=5)
    batch = collate_samples([a, None, b])
    assert batch.is_batched and len(batch) == 2
    assert batch.l.shape == (2, 1, 8, 8) and batch.mask is not None
    assert batch.mask.shape == (2, 8, 8)
    assert torch.equal(torch.as_tensor(batch.label), torch.tensor([1, 4]))
    assert torch.equal(torch.as_tensor(batch.index), torch.tensor([0, 5]))
    assert batch.skipped == 1
    assert batch.to("cpu").l is not None


def test_collate_errors() -> None:
    a = make_sample(torch.rand(3, 8, 8), label=1)
    with pytest.raises(ValueError, match="unreadable"):
        collate_samples([None, None])
    with pytest.raises(ValueError, match="only some have 'label'"):
        collate_samples([a, make_sample(torch.rand(3, 8, 8))])
    with pytest.raises(ValueError, match="different sizes"):
        collate_samples([a, make_sample(torch.rand(3, 8, 9), label=0)])
    with pytest.raises(ValueError, match="colour spaces"):
        collate_samples([a, make_sample(torch.rand(3, 8, 8), "yuv", label=0)])


# -- transforms -----------------------------------------------------------------------


def test_affine_rotation_matches_rot90_and_moves_mask() -> None:
    x = torch.rand(3, 7, 7)
    m = torch.arange(49).reshape(7, 7)
    y, ym = affine(x, m, angle=90.0)
    assert torch.allclose(
        y, torch.from_numpy(np.rot90(x.numpy(), 1, axes=(1, 2)).copy()), atol=1e-5
    )
    assert ym is not None and torch.equal(ym, torch.from_numpy(np.rot90(m.numpy(), 1).copy()))
    # Matches Pillow's rotate (counter-clockwise) on a non-square image at 180 degrees.
    x = torch.rand(3, 6, 10)
    y, _ = affine(x, None, angle=180.0)
    assert torch.allclose(y, x.flip(1).flip(2), atol=1e-5)


def test_affine_shift_and_zoom() -> None:
    x = torch.rand(3, 8, 10)
    m = torch.arange(80).reshape(8, 10)
    y, ym = affine(x, m, shift=(0.2, 0.0), fill="constant")
    assert torch.allclose(y[:, :, 2:], x[:, :, :-2], atol=1e-5)
    assert y[:, :, :2].abs().max() < 1e-6
    assert ym is not None and (ym[:, :2] == 255).all() and torch.equal(ym[:, 2:], m[:, :-2])
    # Zoom 2 about the centre: the centre 4x5 block fills the output.
    _, zm = affine(x, m, zoom=2.0)
    assert zm is not None and set(zm.unique().tolist()) <= set(m[2:6, 2:8].flatten().tolist())
    # Zoom 0.5: the image shrinks, the border is filled with edge pixels (RGB), void (mask).
    y, zm = affine(x, m, zoom=0.5)
    assert zm is not None and (zm[0] == 255).all() and (zm[4, 3:7] != 255).all()


def test_random_transforms_reproducible_and_consistent() -> None:
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    x = torch.rand(3, 20, 24)
    m = torch.randint(0, 5, (20, 24))
    t1 = seed001_augmentation(generator=g1)
    t2 = seed001_augmentation(generator=g2)
    a, am = t1(x, m)
    b, bm = t2(x, m)
    assert torch.equal(a, b) and am is not None and bm is not None and torch.equal(am, bm)
    assert a.shape == x.shape and a.min() >= 0 and a.max() <= 1
    with pytest.raises(ValueError, match="unknown augmentations"):
        seed001_augmentation(["cutout"])


def test_flip_brightness_crops() -> None:
    x = torch.rand(3, 10, 12)
    m = torch.arange(120).reshape(10, 12)
    y, ym = RandomHorizontalFlip(p=1.0)(x, m)
    assert torch.equal(y, x.flip(-1)) and ym is not None and torch.equal(ym, m.flip(-1))
    y, _ = RandomBrightness((2.0, 2.0))(x * 0.4)
    assert torch.allclose(y, x * 0.8)
    y, ym = CenterCrop(4)(x, m)
    assert torch.equal(y, x[:, 3:7, 4:8]) and ym is not None and torch.equal(ym, m[3:7, 4:8])
    y, ym = RandomCrop(10, padding=4)(x, m)
    assert y.shape == (3, 10, 10) and ym is not None and ym.shape == (10, 10)
    y, _ = RandomCrop((10, 12), padding=0)(x)
    assert torch.equal(y, x)
    y, ym = RandomResizedCrop(6)(x, m)
    assert y.shape == (3, 6, 6) and ym is not None and ym.shape == (6, 6)
    y, ym = Resize(5)(x, m)
    assert y.shape == (3, 5, 6) and ym is not None and ym.shape == (5, 6)
    y, _ = Compose([Resize((4, 4)), RandomHorizontalFlip(p=0.0)])(x)
    assert y.shape == (3, 4, 4)
    with pytest.raises(ValueError):
        RandomAffine(zoom=(0.0, 1.0))
    with pytest.raises(ValueError):
        RandomCrop(4, pad_mode="wrap")


# -- guidance maps --------------------------------------------------------------------


def _square_on_grey() -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    x = torch.full((3, 96, 128), 0.55) + 0.02 * torch.randn(1, 96, 128, generator=gen)
    x[:, 30:60, 70:100] = torch.tensor([0.9, 0.15, 0.1])[:, None, None]
    return x.clamp(0, 1)


def test_canny_edges_on_a_square() -> None:
    x = _square_on_grey()
    e = canny_edges(x)
    assert e.shape == (1, 96, 128) and set(e.unique().tolist()) <= {0.0, 1.0}
    # Edges lie on the square's outline and nowhere else.
    outline = torch.zeros(96, 128, dtype=torch.bool)
    outline[28:62, 68:102] = True
    outline[32:58, 72:98] = False
    assert e[0][outline].sum() > 80 and e[0][~outline].sum() == 0
    assert canny_edges(torch.full((3, 20, 20), 128, dtype=torch.uint8)).sum() == 0
    with pytest.raises(ValueError, match="thresholds"):
        canny_edges(x, thresholds=(200, 100))


def test_spectral_residual_saliency() -> None:
    s = spectral_residual_saliency(_square_on_grey())
    assert s.shape == (1, 96, 128) and s.min() >= 0 and s.max() <= 1
    assert s[0, 30:60, 70:100].mean() > 3 * s[0, :, :40].mean()
    assert spectral_residual_saliency(torch.full((3, 16, 16), 0.5)).max() == 0


def test_guidance_in_sample() -> None:
    s = make_sample(_square_on_grey(), guidance=("edges", "saliency"))
    assert s.edges is not None and s.saliency is not None
    assert s.edges.shape == s.saliency.shape == (1, 96, 128)


# -- Shape Set --------------------------------------------------------------------------


def test_shape_colours_follow_shapes() -> None:
    for i in range(20):
        rgb, mask, label = render_shapes((1, i), 48)
        assert rgb.shape == (48, 48, 3) and mask.shape == (48, 48)
        # Pixels well inside each shape class have the class's dominant channel.
        for cls, channel in ((1, 2), (2, 0), (3, 1)):  # circle blue, square red, triangle green
            inner = mask == cls
            if inner.sum() < 30:
                continue
            px = rgb[inner].astype(int)
            dominant = (px.argmax(axis=1) == channel).mean()
            assert dominant > 0.9, (i, cls, dominant)
        # Background is neutral grey.
        bg = rgb[mask == 0].astype(int)
        if len(bg):
            assert np.median(np.abs(bg[:, 0] - bg[:, 2])) <= 1
        areas = [(mask == c + 1).sum() for c in range(3)]
        assert label == int(np.argmax(areas))


def test_shape_set_deterministic_and_balanced(tmp_path: Path) -> None:
    a, b = ShapeSet(60, 32, seed=4), ShapeSet(60, 32, seed=4)
    assert torch.equal(a[7].rgb, b[7].rgb) and a[7].label == b[7].label
    assert not torch.equal(a[7].rgb, ShapeSet(60, 32, seed=5)[7].rgb)
    counts = ShapeSet(300, 32).class_counts()
    assert set(counts) == set(SHAPES) and min(counts.values()) > 60
    s = a[3]
    assert s.mask is not None and s.mask.shape == (32, 32) and s.label in (0, 1, 2)
    out = write_shapes(12, tmp_path / "shapes", size=32, progress=False)
    rows = list(csv.DictReader((out / "labels.csv").open()))
    assert len(rows) == 12
    folder = ImageFolder(out)
    assert folder.classes == sorted({r["class"] for r in rows})
    index = next(i for i, f in enumerate(folder.files) if f.name == "shape_000005.png")
    item = folder[index]
    assert (
        item is not None
        and folder.classes[int(item.label or 0)] == SHAPES[ShapeSet(12, 32)[5].label or 0]
    )
    assert torch.allclose(item.rgb, ShapeSet(12, 32)[5].rgb)


# -- folders --------------------------------------------------------------------------


def _class_folders(root: Path, counts: dict[str, int]) -> None:
    for cls, n in counts.items():
        write_photos(root / cls, n, size=(20, 24))


def test_split_indices() -> None:
    parts = split_indices(50, seed=1, key="cat")
    assert [len(parts[s]) for s in ("train", "val", "test")] == [40, 5, 5]
    union = np.concatenate(list(parts.values()))
    assert sorted(union.tolist()) == list(range(50))
    assert np.array_equal(parts["val"], split_indices(50, seed=1, key="cat")["val"])
    assert not np.array_equal(parts["val"], split_indices(50, seed=2, key="cat")["val"])
    with pytest.raises(ValueError, match="fractions"):
        split_indices(5, (0.5, 0.5, 0.5))


def test_image_folder_labels_splits_and_filtering(tmp_path: Path) -> None:
    _class_folders(tmp_path, {"cat": 10, "dog": 20, "eel": 10})
    everything = ImageFolder(tmp_path)
    assert everything.classes == ["cat", "dog", "eel"] and len(everything) == 40
    assert everything.class_counts() == {"cat": 10, "dog": 20, "eel": 10}
    splits = {s: ImageFolder(tmp_path, split=s, split_seed=3) for s in ("train", "val", "test")}
    assert [len(d) for d in splits.values()] == [32, 4, 4]
    seen = [f for d in splits.values() for f in d.files]
    assert len(set(seen)) == 40
    # Filtering classes does not move any file between splits; labels keep their index.
    dogs = ImageFolder(tmp_path, split="val", split_seed=3, classes=["dog"])
    assert dogs.files == [f for f in splits["val"].files if f.parent.name == "dog"]
    assert dogs.targets == [1, 1]
    sample = dogs[0]
    assert sample is not None and sample.label == 1 and sample.l.shape == (1, 20, 24)
    assert torch.allclose(sample.reconstruct_rgb(), sample.rgb, atol=1e-4)
    with pytest.raises(ValueError, match="unknown class 'fox'"):
        ImageFolder(tmp_path, classes=["fox"])
    flat = ImageFolder(tmp_path, labelled=False)
    assert flat.targets is None and flat[0] is not None and flat[0].label is None


def test_image_folder_strict_and_lenient(tmp_path: Path) -> None:
    write_photos(tmp_path, 3, size=(16, 16))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    strict = ImageFolder(tmp_path)
    bad = next(i for i, f in enumerate(strict.files) if f.name == "broken.png")
    with pytest.raises(ImageReadError, match=r"broken\.png"):
        strict[bad]
    lenient = ImageFolder(tmp_path, strict=False)
    assert lenient[bad] is None
    assert lenient.skipped and lenient.skipped[0][0] == tmp_path / "broken.png"
    batch = collate_samples([lenient[i] for i in range(len(lenient))])
    assert len(batch) == 3 and batch.skipped == 1
    loader = torch.utils.data.DataLoader(lenient, batch_size=4, collate_fn=collate_samples)
    (only,) = list(loader)
    assert isinstance(only, Sample) and only.skipped == 1


def test_image_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        ImageFolder(tmp_path / "nope")
    with pytest.raises(DatasetError, match="no image files"):
        ImageFolder(tmp_path)
    write_photos(tmp_path / "a", 2)
    write_photos(tmp_path, 1)
    with pytest.raises(DatasetError, match="outside any class"):
        ImageFolder(tmp_path, labelled=True)
    assert ImageFolder(tmp_path).targets is None  # mixed layout: unlabelled


def test_imagenette_layout(tmp_path: Path) -> None:
    root = tmp_path / "imagenette2-160"
    for split in ("train", "val"):
        for wnid in ("n01440764", "n03888257"):
            write_photos(root / split / wnid, 2, size=(40, 30), ext="jpg")
    (root / "noisy_imagenette.csv").write_text("path,noisy_labels_0\n")
    val = Imagenette(tmp_path, "val")
    assert val.classes == ["tench", "parachute"] and val.wnids == ["n01440764", "n03888257"]
    assert len(val) == 4 and val.targets == [0, 0, 1, 1]
    assert len(Imagenette(root, "train", classes=["parachute"])) == 2
    with pytest.raises(DatasetError, match="imagenette2-320"):
        Imagenette(tmp_path, size=320)
    with pytest.raises(ValueError, match="sizes"):
        Imagenette(tmp_path, size=200)


def test_faces_and_flickr(tmp_path: Path) -> None:
    write_photos(tmp_path / "flickr30k-images", 10, size=(16, 16), ext="jpg")
    assert len(Flickr30k(tmp_path)) == 10 and len(Flickr30k(tmp_path, split="train")) == 8
    with pytest.raises(DatasetError, match="request it"):
        Flickr30k(tmp_path / "missing")
    write_photos(tmp_path / "faces", 4, size=(16, 16))
    assert len(Faces(tmp_path / "faces")) == 4
    with pytest.raises(DatasetError, match="no public download"):
        Faces(tmp_path / "nofaces")


# -- corpus as a dataset ---------------------------------------------------------------


def test_photo_category() -> None:
    cat = "gcompris/src/activities/categorization/resource/images/fishes/fish1.webp"
    assert photo_category(cat) == "fishes"
    explore = "gcompris/src/activities/explore_{}/resource/{}/x.webp"
    assert photo_category(explore.format("farm_animals", "animals")) == "animals"
    assert photo_category(explore.format("monuments", "india")) == "monuments"
    assert photo_category("usr/share/scratch/Media/Backgrounds/Outdoors/beach.jpg") == "outdoors"
    assert photo_category("usr/share/backgrounds/mate/nature/Aqua.jpg") == "nature"
    assert photo_category("gcompris/src/activities/erase/resource/photo.jpg") is None
    assert photo_category("usr/share/wallpapers/Kite/contents/images/1.jpg") is None


def test_corpus_photos(tmp_path: Path) -> None:
    paths = [
        "gcompris/src/activities/categorization/resource/images/tools/a.png",
        "gcompris/src/activities/categorization/resource/images/fishes/b.png",
        "usr/share/scratch/Media/Backgrounds/Outdoors/c.png",
        "usr/share/wallpapers/Kite/contents/images/d.png",
    ]
    entries = []
    for i, p in enumerate(paths):
        file = f"images/x/{p}"
        Image.fromarray(synthetic_photo(600, 700, i)).save(_mk(tmp_path, file))
        sha = hashlib.sha256(p.encode()).hexdigest()
        split = "train" if i < 3 else "test"
        entries.append(ManifestEntry(sha[:16], split, "d:x", "-", p, file, "CC0", sha, 700, 600))
    write_manifest(tmp_path, entries)
    every = CorpusPhotos(tmp_path, "all")
    assert len(every) == 4 and every.targets is None
    first = every[0]
    assert first is not None and first.l.shape == (1, 512, 597)  # short side capped at 512
    labelled = CorpusPhotos(tmp_path, "all", labelled=True)
    assert labelled.classes == ["fishes", "outdoors", "tools"] and labelled.targets == [2, 0, 1]
    assert len(CorpusPhotos(tmp_path, "train", labelled=True, classes=["tools"])) == 1
    assert len(CorpusPhotos(tmp_path, "test")) == 1
    with pytest.raises(ValueError, match="labelled=True"):
        CorpusPhotos(tmp_path, classes=["tools"])
    full = CorpusPhotos(tmp_path, "test", short_side=None)[0]
    assert full is not None and full.rgb.shape == (3, 600, 700)


def _mk(root: Path, file: str) -> Path:
    path = root / file
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


# -- registry ---------------------------------------------------------------------------


def test_registry_opens_datasets_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fake_datasets import write_cifar10, write_voc
    from tinct.data.registry import (
        DATASETS,
        dataset_path,
        download_dataset,
        is_present,
        open_dataset,
    )

    monkeypatch.setenv("TINCT_DATA", str(tmp_path))
    assert not is_present("cifar10")
    write_cifar10(tmp_path, 2)
    write_voc(tmp_path, 4)
    assert is_present("cifar10") and is_present("voc2012") and is_present("shapes")
    assert dataset_path("cifar10") == tmp_path / "cifar-10-batches-py"
    test = open_dataset("cifar10", split="test", space="yuv")
    sample = test[0]
    assert sample is not None and sample.space == "yuv" and sample.l.shape == (1, 32, 32)
    assert len(open_dataset("cifar10", tmp_path / "cifar-10-batches-py")) == 10
    voc = open_dataset("voc2012", split="val")
    item = voc[0]
    assert item is not None and item.mask is not None
    shapes = open_dataset("shapes", split="test", n=5, size=32)
    assert len(shapes) == 5 and open_dataset("shapes", split="val").seed == 1  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="splits"):
        open_dataset("cifar10", split="val")
    with pytest.raises(ValueError, match="unknown dataset"):
        open_dataset("mnist")
    with pytest.raises(DatasetError, match="cannot be downloaded"):
        download_dataset("faces")
    assert all(info.splits for info in DATASETS.values())
