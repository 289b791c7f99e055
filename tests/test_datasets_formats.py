"""CIFAR-10/100, STL-10 and PASCAL VOC loaders on miniature datasets in the real formats."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fake_datasets import (
    CIFAR10_CLASSES,
    CIFAR100_COARSE,
    CIFAR100_FINE,
    FAKE_FINE_TO_COARSE,
    STL10_CLASSES,
    FakeDataset,
    FakeVOC,
    voc_colour_map,
    write_cifar10,
    write_cifar100,
    write_stl10,
    write_voc,
)
from tinct.data.base import ColourDataset, DatasetError
from tinct.data.cifar import CIFAR10, CIFAR100, load_cifar_pickle
from tinct.data.sample import Sample, collate_samples
from tinct.data.stl10 import STL10, read_folds
from tinct.data.voc import VOC_CLASSES, VOC_PALETTE, VOCSegmentation, read_mask
from tinct.io import ImageReadError


def _get(ds: ColourDataset, index: int) -> Sample:
    sample = ds[index]
    assert sample is not None
    return sample


def _check_sample(sample: Sample | None, rgb: np.ndarray, space: str = "lab") -> Sample:
    """Shapes, stored pixels and the lightness/chroma round trip of one sample."""
    assert sample is not None
    h, w = rgb.shape[:2]
    assert sample.space == space
    assert tuple(sample.l.shape) == (1, h, w)
    assert tuple(sample.chroma.shape) == (2, h, w)
    assert tuple(sample.rgb.shape) == (3, h, w)
    stored = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)
    assert torch.equal((sample.rgb * 255).round().to(torch.uint8), stored)
    torch.testing.assert_close(sample.reconstruct_rgb(), sample.rgb, atol=1e-4, rtol=0)
    return sample


# -- CIFAR ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cifar10_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FakeDataset]:
    root = tmp_path_factory.mktemp("c10")
    return root, write_cifar10(root, n_per_batch=3, n_test=4, seed=1)


def test_cifar10_train_test(cifar10_dir: tuple[Path, FakeDataset]) -> None:
    root, fake = cifar10_dir
    train = CIFAR10(root)
    truth = fake.splits["train"]
    assert len(train) == 15
    assert train.classes == CIFAR10_CLASSES
    assert train.targets == truth.labels.tolist()
    assert train.data.dtype == np.uint8 and train.data.shape == (15, 32, 32, 3)
    np.testing.assert_array_equal(train.data, truth.images)
    assert train.class_filter is None
    for i in (0, 7, 14):
        sample = _check_sample(train[i], truth.images[i])
        assert sample.label == truth.labels[i]
        assert sample.mask is None
    test = CIFAR10(root, "test")
    assert len(test) == 4
    np.testing.assert_array_equal(test.data, fake.splits["test"].images)
    with pytest.raises(ValueError, match="split"):
        CIFAR10(root, "validation")


@pytest.mark.parametrize("space", ["lab", "yuv"])
def test_cifar10_spaces(cifar10_dir: tuple[Path, FakeDataset], space: str) -> None:
    root, fake = cifar10_dir
    ds = CIFAR10(root / "cifar-10-batches-py", "test", space=space)
    for i in range(len(ds)):
        _check_sample(ds[i], fake.splits["test"].images[i], space)


def test_cifar10_root_variants_and_py3_pickles(tmp_path: Path) -> None:
    fake = write_cifar10(tmp_path, n_per_batch=2, py2=False)  # bytes keys, Python 3 pickles
    assert isinstance(next(iter(pickle.loads((fake.folder / "test_batch").read_bytes()))), bytes)
    for root in (tmp_path, fake.folder, str(tmp_path)):
        ds = CIFAR10(root, "train")
        np.testing.assert_array_equal(ds.data, fake.splits["train"].images)
        assert ds.folder == fake.folder


def test_cifar_pickles_load_like_the_originals(cifar10_dir: tuple[Path, FakeDataset]) -> None:
    _, fake = cifar10_dir
    path = fake.files["data_batch_1"]
    raw = path.read_bytes()
    assert raw[:2] == b"\x80\x02"  # protocol 2
    as_bytes = pickle.loads(raw, encoding="bytes")
    assert set(as_bytes) == {b"batch_label", b"labels", b"data", b"filenames"}
    assert as_bytes[b"batch_label"] == b"training batch 1 of 5"
    batch = load_cifar_pickle(path)
    assert set(batch) == {"batch_label", "labels", "data", "filenames"}
    assert batch["data"].dtype == np.uint8 and batch["data"].shape == (3, 3072)
    # channel-planar rows: the first 1024 values are the red channel, row by row
    first = fake.splits["train"].images[0]
    np.testing.assert_array_equal(batch["data"][0, :1024].reshape(32, 32), first[..., 0])
    np.testing.assert_array_equal(batch["data"][0, 2048:].reshape(32, 32), first[..., 2])


def test_cifar10_class_filter(cifar10_dir: tuple[Path, FakeDataset]) -> None:
    root, fake = cifar10_dir
    truth = fake.splits["train"]
    wanted = sorted({int(truth.labels[0]), int(truth.labels[1])})
    ds = CIFAR10(root, classes=[CIFAR10_CLASSES[wanted[0]], wanted[-1]])
    keep = np.isin(truth.labels, wanted)
    assert ds.class_filter == tuple(wanted)
    assert ds.classes == CIFAR10_CLASSES  # labels keep their original indices
    assert ds.targets == truth.labels[keep].tolist()
    np.testing.assert_array_equal(ds.data, truth.images[keep])
    assert _get(ds, 0).label == truth.labels[keep][0]
    with pytest.raises(ValueError, match=r"unknown class 'unicorn'.*airplane, automobile"):
        CIFAR10(root, classes=["unicorn"])
    with pytest.raises(ValueError, match="out of range"):
        CIFAR10(root, classes=[10])


def test_cifar100_fine_and_coarse(tmp_path: Path) -> None:
    fake = write_cifar100(tmp_path, n_train=6, n_test=3, seed=2)
    truth, test_truth = fake.splits["train"], fake.splits["test"]
    assert truth.coarse is not None and test_truth.coarse is not None
    fine = CIFAR100(tmp_path)
    assert len(fine) == 6 and fine.classes == CIFAR100_FINE and len(fine.classes) == 100
    assert fine.targets == truth.labels.tolist()
    _check_sample(fine[0], truth.images[0])
    assert _get(fine, 0).label == truth.labels[0]
    coarse = CIFAR100(fake.folder, "test", label_type="coarse")
    assert coarse.classes == CIFAR100_COARSE
    assert coarse.targets == test_truth.coarse.tolist()
    name = CIFAR100_COARSE[int(truth.coarse[0])]
    filtered = CIFAR100(tmp_path, label_type="coarse", classes=[name])
    assert set(filtered.targets or ()) == {int(truth.coarse[0])}
    assert len(filtered) == int((FAKE_FINE_TO_COARSE[truth.labels] == truth.coarse[0]).sum())
    with pytest.raises(ValueError, match="label_type"):
        CIFAR100(tmp_path, label_type="medium")
    with pytest.raises(ValueError, match="valid classes: apple"):
        CIFAR100(tmp_path, classes=["airplane"])


def test_cifar_corrupt_batch_strict_and_lenient(tmp_path: Path) -> None:
    fake = write_cifar10(tmp_path, n_per_batch=2)
    bad = fake.files["data_batch_3"]
    original = bad.read_bytes()
    bad.write_bytes(original[:1000])  # truncated
    with pytest.raises(DatasetError, match="data_batch_3") as info:
        CIFAR10(tmp_path)
    assert info.value.path == bad and "truncated" in info.value.reason
    ds = CIFAR10(tmp_path, strict=False)
    assert len(ds) == 8
    assert ds.skipped == [(bad, info.value.reason)]
    keep = np.r_[0:4, 6:10]
    np.testing.assert_array_equal(ds.data, fake.splits["train"].images[keep])
    assert ds.targets == fake.splits["train"].labels[keep].tolist()

    fake.files["data_batch_5"].unlink()
    assert len(CIFAR10(tmp_path, strict=False).skipped) == 2
    bad.write_bytes(original)
    with pytest.raises(DatasetError, match=r"data_batch_5.*missing"):
        CIFAR10(tmp_path)


def test_cifar_malformed_batches(tmp_path: Path) -> None:
    fake = write_cifar10(tmp_path, n_per_batch=2)
    path = fake.files["test_batch"]

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("pwned",))

    path.write_bytes(pickle.dumps({"data": Evil(), "labels": []}, protocol=2))
    with pytest.raises(DatasetError, match=r"test_batch: not a CIFAR pickle.*print"):
        CIFAR10(tmp_path, "test")
    path.write_bytes(pickle.dumps({"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]}))
    with pytest.raises(DatasetError, match="3072"):
        CIFAR10(tmp_path, "test")
    path.write_bytes(pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [0]}))
    with pytest.raises(DatasetError, match="must match"):
        CIFAR10(tmp_path, "test")
    path.write_bytes(pickle.dumps({"data": np.zeros((1, 3072), np.uint8), "labels": [10]}))
    with pytest.raises(DatasetError, match=r"outside 0..9"):
        CIFAR10(tmp_path, "test")


def test_missing_datasets_explain_download(tmp_path: Path) -> None:
    cases: list[tuple[Callable[[Path], ColourDataset], str, Path]] = [
        (CIFAR10, "cifar10", tmp_path / "cifar-10-batches-py"),
        (CIFAR100, "cifar100", tmp_path / "cifar-100-python"),
        (STL10, "stl10", tmp_path / "stl10_binary"),
        (VOCSegmentation, "voc2012", tmp_path / "VOCdevkit" / "VOC2012"),
    ]
    for cls, name, folder in cases:
        with pytest.raises(DatasetError) as info:
            cls(tmp_path)
        message = str(info.value)
        assert info.value.path == folder
        assert str(folder) in message
        assert "download=True" in message
        assert f"tinct data download {name}" in message
        assert "root" in message


def test_collate_cifar(cifar10_dir: tuple[Path, FakeDataset]) -> None:
    root, fake = cifar10_dir
    ds = CIFAR10(root, "test")
    batch = collate_samples([ds[i] for i in range(3)])
    assert tuple(batch.l.shape) == (3, 1, 32, 32)
    assert tuple(batch.chroma.shape) == (3, 2, 32, 32)
    assert isinstance(batch.label, torch.Tensor)
    assert batch.label.tolist() == fake.splits["test"].labels[:3].tolist()
    assert batch.skipped == 0


# -- STL-10 ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stl_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FakeDataset]:
    root = tmp_path_factory.mktemp("stl")
    return root, write_stl10(root, n_train=8, n_test=3, n_unlabeled=5, fold_size=3, seed=3)


def test_stl10_train_and_test(stl_dir: tuple[Path, FakeDataset]) -> None:
    root, fake = stl_dir
    splits = fake.splits
    train = STL10(root)
    assert len(train) == 8
    assert train.classes == STL10_CLASSES
    assert train.targets == splits["train"].labels.tolist()
    assert train.arrays and all(isinstance(a, np.memmap) for a in train.arrays)
    for i in (0, 7):
        sample = _check_sample(train[i], splits["train"].images[i])
        assert sample.label == splits["train"].labels[i]
    test = STL10(root / "stl10_binary", "test")
    assert len(test) == 3
    assert test.targets == splits["test"].labels.tolist()
    _check_sample(test[2], splits["test"].images[2])
    assert test.class_counts() == {
        n: int((splits["test"].labels == k).sum()) for k, n in enumerate(STL10_CLASSES)
    }


@pytest.mark.parametrize("space", ["lab", "yuv"])
def test_stl10_unlabeled(stl_dir: tuple[Path, FakeDataset], space: str) -> None:
    root, fake = stl_dir
    splits = fake.splits
    ds = STL10(root, "unlabeled", space=space)
    assert len(ds) == 5 and ds.targets is None
    assert isinstance(ds.arrays[0], np.memmap)
    for i in range(5):
        assert _check_sample(ds[i], splits["unlabeled"].images[i], space).label is None
    both = STL10(root, "train+unlabeled", space=space)
    assert len(both) == 13
    assert both.targets == splits["train"].labels.tolist() + [-1] * 5
    assert _get(both, 7).label == splits["train"].labels[7]
    _check_sample(both[8], splits["unlabeled"].images[0], space)
    assert _get(both, 12).label is None
    assert sum(both.class_counts().values()) == 8
    batch = collate_samples([both[0], both[1]])
    assert batch.label is not None and tuple(batch.rgb.shape) == (2, 3, 96, 96)


def test_stl10_folds(stl_dir: tuple[Path, FakeDataset]) -> None:
    root, fake = stl_dir
    splits = fake.splits
    folds = read_folds(fake.files["fold_indices.txt"])
    assert len(folds) == 10 and all(f.dtype == np.int64 and len(f) == 3 for f in folds)
    for k in (0, 9):
        ds = STL10(root, folds=k)
        assert len(ds) == 3
        assert ds.targets == splits[f"fold{k}"].labels.tolist()
        for i in range(3):
            _check_sample(ds[i], splits[f"fold{k}"].images[i])
    with_unlabeled = STL10(root, "train+unlabeled", folds=4)
    assert len(with_unlabeled) == 3 + 5
    with pytest.raises(ValueError, match=r"0..9"):
        STL10(root, folds=10)
    with pytest.raises(ValueError, match="folds"):
        STL10(root, "test", folds=0)


def test_stl10_memmap_is_not_pickled(stl_dir: tuple[Path, FakeDataset]) -> None:
    root, fake = stl_dir
    ds = STL10(root, "train+unlabeled")
    ds[0]
    payload = pickle.dumps(ds)
    assert len(payload) < 27648  # less than one image: the maps are not in it
    clone = pickle.loads(payload)
    _check_sample(clone[9], fake.splits["unlabeled"].images[1])


def test_stl10_bad_files(tmp_path: Path) -> None:
    fake = write_stl10(tmp_path, n_train=4, n_test=2, n_unlabeled=3)
    unlabeled = fake.files["unlabeled_X.bin"]
    unlabeled.write_bytes(unlabeled.read_bytes()[:-100])
    with pytest.raises(DatasetError, match=r"unlabeled_X\.bin.*multiple of 27648"):
        STL10(tmp_path, "unlabeled")
    ds = STL10(tmp_path, "train+unlabeled", strict=False)
    assert len(ds) == 4 and ds.targets == fake.splits["train"].labels.tolist()
    assert [p for p, _ in ds.skipped] == [unlabeled]

    labels = fake.files["test_y.bin"]
    labels.write_bytes(labels.read_bytes()[:1])
    with pytest.raises(DatasetError, match=r"test_y\.bin.*1 labels for 2 images"):
        STL10(tmp_path, "test")
    labels.write_bytes(b"\x00\x03")
    with pytest.raises(DatasetError, match=r"test_y\.bin.*1\.\.10"):
        STL10(tmp_path, "test")
    (tmp_path / "stl10_binary" / "fold_indices.txt").write_text("0 1 x\n")
    with pytest.raises(DatasetError, match=r"fold_indices\.txt.*'x'"):
        STL10(tmp_path, folds=0)
    (tmp_path / "stl10_binary" / "fold_indices.txt").write_text("0 7\n")
    with pytest.raises(DatasetError, match=r"fold_indices\.txt.*image 7"):
        STL10(tmp_path, folds=0)


# -- PASCAL VOC -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def voc_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FakeVOC]:
    root = tmp_path_factory.mktemp("voc")
    return root, write_voc(root, n=5, seed=4)


def test_voc_palette() -> None:
    np.testing.assert_array_equal(VOC_PALETTE, voc_colour_map())
    assert VOC_PALETTE[1].tolist() == [128, 0, 0]
    assert VOC_PALETTE[15].tolist() == [192, 128, 128]  # person
    assert VOC_PALETTE[255].tolist() == [224, 224, 192]  # void


@pytest.mark.parametrize("space", ["lab", "yuv"])
def test_voc_items(voc_dir: tuple[Path, FakeVOC], space: str) -> None:
    root, fake = voc_dir
    ds = VOCSegmentation(root, "trainval", space=space)
    assert ds.classes == list(VOC_CLASSES) and len(ds.classes) == 21
    assert ds.targets is None
    assert ds.ids == fake.ids
    seen: set[int] = set()
    for i, image_id in enumerate(ds.ids):
        sample = _check_sample(ds[i], fake.images[image_id], space)
        assert sample.label is None
        assert sample.mask is not None and sample.mask.dtype == torch.int64
        assert tuple(sample.mask.shape) == tuple(sample.l.shape[1:])
        np.testing.assert_array_equal(sample.mask.numpy(), fake.masks[image_id])
        seen |= set(sample.mask.unique().tolist())
    assert 0 in seen and 255 in seen
    assert seen <= set(range(21)) | {255}
    assert len(seen - {0, 255}) >= 1


def test_voc_splits_and_roots(voc_dir: tuple[Path, FakeVOC]) -> None:
    root, fake = voc_dir
    splits = fake.splits
    for variant in (root, root / "VOCdevkit", root / "VOCdevkit" / "VOC2012"):
        assert VOCSegmentation(variant, "train").ids == splits["train"]
    assert len(VOCSegmentation(root, "val")) == len(splits["val"]) == 3
    with pytest.raises(ValueError, match="split"):
        VOCSegmentation(root, "test")


def test_voc_masks_are_palette_pngs(voc_dir: tuple[Path, FakeVOC]) -> None:
    _, fake = voc_dir
    png = fake.folder / "SegmentationClass" / f"{fake.ids[0]}.png"
    with Image.open(png) as im:
        assert im.mode == "P"
        palette = np.array(im.getpalette() or [], dtype=np.uint8)[: 256 * 3].reshape(256, 3)
    np.testing.assert_array_equal(palette, VOC_PALETTE)
    np.testing.assert_array_equal(read_mask(png), fake.masks[fake.ids[0]])


def test_voc_bad_masks(tmp_path: Path) -> None:
    fake = write_voc(tmp_path, n=4)
    ds = VOCSegmentation(tmp_path, "trainval")
    png0 = ds.mask_path(0)
    Image.open(png0).convert("RGB").save(png0)
    with pytest.raises(DatasetError, match=r"2007_000000\.png.*mode 'RGB'"):
        ds[0]
    png1 = ds.mask_path(1)
    Image.frombytes("P", (7, 5), bytes(35)).save(png1)
    with pytest.raises(DatasetError, match=r"2007_000001\.png.*7x5.*2007_000001\.jpg"):
        ds[1]
    png2 = ds.mask_path(2)
    Image.fromarray(np.full((36, 48), 42, np.uint8)).save(png2)
    with pytest.raises(DatasetError, match=r"2007_000002\.png.*\[42\]"):
        ds[2]
    ds.mask_path(3).unlink()
    with pytest.raises(DatasetError, match=r"2007_000003\.png.*missing"):
        ds[3]
    lenient = VOCSegmentation(tmp_path, "trainval", strict=False)
    assert [lenient[i] for i in range(4)] == [None] * 4
    assert [p for p, _ in lenient.skipped] == [ds.mask_path(i) for i in range(4)]
    assert fake.ids == ds.ids


def test_voc_unreadable_jpeg_strict_and_lenient(tmp_path: Path) -> None:
    fake = write_voc(tmp_path, n=4, sizes=((36, 48),))
    jpeg = fake.folder / "JPEGImages" / f"{fake.ids[1]}.jpg"
    jpeg.write_bytes(jpeg.read_bytes()[:200])
    with pytest.raises(ImageReadError, match=r"2007_000001\.jpg"):
        VOCSegmentation(tmp_path, "trainval")[1]
    ds = VOCSegmentation(tmp_path, "trainval", strict=False)
    items = [ds[i] for i in range(4)]
    assert items[1] is None
    assert ds.skipped[0][0] == jpeg
    batch = collate_samples(items)
    assert len(batch) == 3 and batch.skipped == 1
    assert batch.mask is not None and tuple(batch.mask.shape) == (3, 36, 48)
    assert batch.label is None


def test_voc_missing_split_list(tmp_path: Path) -> None:
    fake = write_voc(tmp_path, n=2)
    (fake.folder / "ImageSets" / "Segmentation" / "val.txt").unlink()
    with pytest.raises(DatasetError, match=r"val\.txt"):
        VOCSegmentation(tmp_path, "val")
