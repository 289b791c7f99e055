"""Segmentation-guided colourisation (seed 004 section 4.3): the per-class chroma head, its
losses against naive loops, the training objective's phases, the corpus-derived VOC
stand-in, and (slow) both configs trained a few steps and used by ``tinct colourise``."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import write_photos
from tinct.cli import main
from tinct.color import denormalize_chroma
from tinct.data.base import DatasetError
from tinct.data.corpus import CorpusNotBuiltError, ManifestEntry, write_manifest
from tinct.data.registry import open_dataset
from tinct.data.sample import Sample
from tinct.data.voc import VOCSegmentation
from tinct.data.voc_standin import STANDIN_CLASSES, build_voc_standin, salient_object_mask
from tinct.losses import class_chroma_loss, segmentation_loss
from tinct.models import ModelOutput, SegGuidedColouriser, create_model, load_model
from tinct.nn.segguided import pick_class_chroma
from tinct.train import resolve_config, train
from tinct.train.module import ColourisationModule

VOID = 255
CONFIGS = Path(__file__).parents[1] / "configs" / "guided"


# -- the head ---------------------------------------------------------------------------------


def test_pick_class_chroma_takes_each_pixels_class_pair() -> None:
    # 3 classes; class k's pair is (10k + 1, 10k + 2) everywhere, so the picked value names
    # the class it came from.
    k, h, w = 3, 2, 3
    class_chroma = torch.zeros(1, 2 * k, h, w)
    for c in range(k):
        class_chroma[:, 2 * c] = 10 * c + 1
        class_chroma[:, 2 * c + 1] = 10 * c + 2
    classes = torch.tensor([[[0, 1, 2], [2, 2, 0]]])
    picked = pick_class_chroma(class_chroma, classes)
    assert picked.shape == (1, 2, h, w)
    torch.testing.assert_close(picked[0, 0], 10.0 * classes[0] + 1)
    torch.testing.assert_close(picked[0, 1], 10.0 * classes[0] + 2)
    with pytest.raises(ValueError, match="2 \\* n_classes"):
        pick_class_chroma(torch.zeros(1, 5, h, w), classes)
    with pytest.raises(ValueError, match="classes must be"):
        pick_class_chroma(class_chroma, classes[:, :1])


@pytest.mark.parametrize("name", ["seg-shared", "seg-separate"])
def test_decode_uses_the_predicted_segmentation(name: str) -> None:
    model = create_model(name, n_classes=3, depth=2, base_channels=4)
    assert isinstance(model, SegGuidedColouriser)
    out = model(torch.rand(2, 1, 8, 12) * 100)
    assert out.chroma_norm is None
    assert out.extras["class_chroma"].shape == (2, 6, 8, 12)
    assert out.extras["seg_logits"].shape == (2, 3, 8, 12)
    assert out.extras["class_chroma"].abs().max() <= 1  # tanh
    # A known output: logits choose class 2 on the left half, class 0 on the right.
    class_chroma = torch.rand(1, 6, 4, 4) * 2 - 1
    logits = torch.zeros(1, 3, 4, 4)
    logits[:, 2, :, :2] = 5.0
    logits[:, 0, :, 2:] = 5.0
    chroma = model.decode(ModelOutput(extras={"class_chroma": class_chroma, "seg_logits": logits}))
    want = torch.cat([class_chroma[:, 4:6, :, :2], class_chroma[:, 0:2, :, 2:]], dim=-1)
    torch.testing.assert_close(chroma, denormalize_chroma(want, "lab"))
    with pytest.raises(ValueError, match="class_chroma"):
        model.decode(ModelOutput(chroma_norm=torch.zeros(1, 2, 4, 4)))


def test_separate_decoders_share_only_the_encoder() -> None:
    model = create_model("seg-separate", n_classes=2, depth=3, base_channels=4)
    out = model(torch.rand(1, 1, 16, 16) * 100)
    out.extras["seg_logits"].sum().backward()
    net = model.net  # type: ignore[attr-defined]
    assert all(p.grad is None for p in net.unet.decoder.parameters())  # colour decoder
    assert all(p.grad is None for p in net.unet.head.parameters())
    assert all(p.grad is not None for p in net.unet.encoder.parameters())
    assert all(p.grad is not None for p in net.seg_decoder.parameters())


# -- the losses -------------------------------------------------------------------------------


def _random_case(
    seed: int, b: int = 2, k: int = 4, h: int = 5, w: int = 6
) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    class_chroma = torch.rand(b, 2 * k, h, w, generator=g) * 2 - 1
    truth = torch.rand(b, 2, h, w, generator=g) * 2 - 1
    # Only classes 0 and 2 occur (1 and 3 are absent), plus some void pixels.
    mask = torch.randint(0, 2, (b, h, w), generator=g) * 2
    mask[torch.rand(b, h, w, generator=g) < 0.2] = VOID
    return class_chroma, truth, mask


def test_present_classes_loss_ignores_absent_classes_but_all_classes_does_not() -> None:
    class_chroma, truth, mask = _random_case(0)
    changed = class_chroma.clone()
    changed[:, 2:4] += 0.7  # class 1's pair: no pixel of class 1 anywhere
    changed[:, 6:8] -= 0.3  # class 3's pair
    present = class_chroma_loss(class_chroma, truth, mask)
    assert class_chroma_loss(changed, truth, mask) == present
    everything = class_chroma_loss(class_chroma, truth, mask, all_classes=True)
    assert class_chroma_loss(changed, truth, mask, all_classes=True) != everything
    # Void pixels count in neither.
    moved = class_chroma.clone()
    moved[mask[:, None].expand_as(moved) == VOID] = 9.0
    assert class_chroma_loss(moved, truth, mask) == present
    assert class_chroma_loss(moved, truth, mask, all_classes=True) == everything


@pytest.mark.parametrize("all_classes", [False, True])
@pytest.mark.parametrize("kind", ["l1", "l2"])
def test_class_chroma_loss_equals_a_naive_loop(all_classes: bool, kind: str) -> None:
    class_chroma, truth, mask = _random_case(1)
    b, k2, h, w = class_chroma.shape
    total, count = 0.0, 0
    for i in range(b):
        classes = range(k2 // 2) if all_classes else sorted(set(mask[i].unique().tolist()) - {VOID})
        for c in classes:
            for y in range(h):
                for x in range(w):
                    label = int(mask[i, y, x])
                    if label == VOID or (not all_classes and label != c):
                        continue
                    for ch in range(2):
                        target = float(truth[i, ch, y, x]) if label == c else 0.0
                        diff = float(class_chroma[i, 2 * c + ch, y, x]) - target
                        total += abs(diff) if kind == "l1" else diff * diff
                        count += 1
    got = class_chroma_loss(class_chroma, truth, mask, all_classes=all_classes, kind=kind)
    assert got.item() == pytest.approx(total / count, rel=1e-5)


def test_losses_check_the_mask_and_survive_all_void() -> None:
    class_chroma, truth, mask = _random_case(2, k=2)
    mask = torch.where(mask == VOID, mask, mask // 2)  # classes 0 and 1
    mask[0, 0, 0] = 3  # a class the 2-class model does not have
    with pytest.raises(ValueError, match=r"classes \[3\].*n_classes"):
        class_chroma_loss(class_chroma, truth, mask)
    with pytest.raises(ValueError, match=r"classes \[3\]"):
        segmentation_loss(torch.zeros(2, 2, 5, 6), mask)
    void = torch.full_like(mask, VOID)
    logits = torch.zeros(2, 2, 5, 6, requires_grad=True)
    pred = class_chroma.clone().requires_grad_(True)
    for loss in (segmentation_loss(logits, void), class_chroma_loss(pred, truth, void)):
        assert loss.item() == 0.0
        loss.backward()
    # Cross-entropy ignores void pixels: the mean over labelled ones only.
    mask2 = torch.tensor([[[0, 1, VOID]]])
    logits2 = torch.tensor([[[[2.0, 0.0, 9.0]], [[0.0, 1.0, -9.0]]]])
    want = torch.nn.functional.cross_entropy(logits2[..., :2], mask2[..., :2])
    torch.testing.assert_close(segmentation_loss(logits2, mask2), want)


# -- the objective ----------------------------------------------------------------------------


def _batch(n: int = 2, size: int = 16) -> Sample:
    g = torch.Generator().manual_seed(0)
    mask = torch.randint(0, 2, (n, size, size), generator=g)
    mask[:, 0] = VOID
    return Sample(
        l=torch.rand(n, 1, size, size, generator=g) * 100,
        chroma=torch.rand(n, 2, size, size, generator=g) * 60 - 30,
        rgb=torch.rand(n, 3, size, size, generator=g),
        mask=mask,
    )


def test_objective_trains_segmentation_alone_first(tmp_path: Path) -> None:
    config = resolve_config(
        {
            "output_dir": str(tmp_path),
            "model": {
                "name": "seg-separate",
                "kwargs": {"n_classes": 2, "depth": 2, "base_channels": 4},
            },
            "data": {"kind": "dataset", "name": "voc-standin"},
            "segmentation": {"pretrain_steps": 3, "weight": 0.5},
        }
    )
    module = ColourisationModule(config)
    objective = module.objective
    assert type(objective).family == "segguided"
    batch = _batch()
    assert objective.pretraining  # type: ignore[attr-defined]
    loss, terms = objective.loss(module.model, batch)
    assert set(terms) == {"segmentation"} and loss == terms["segmentation"]
    loss.backward()
    net = module.model.net  # type: ignore[attr-defined]
    assert all(p.grad is None for p in net.unet.head.parameters())  # colour not trained
    objective.pretraining = False  # type: ignore[attr-defined]
    loss, terms = objective.loss(module.model, batch)
    assert set(terms) == {"colour", "segmentation"}
    torch.testing.assert_close(loss, terms["colour"] + 0.5 * terms["segmentation"])
    no_mask = Sample(l=batch.l, chroma=batch.chroma, rgb=batch.rgb)
    with pytest.raises(ValueError, match="needs samples with segmentation masks"):
        objective.loss(module.model, no_mask)


def test_configs_resolve_to_the_two_models() -> None:
    shared = resolve_config(CONFIGS / "seg-shared.yaml")
    separate = resolve_config(CONFIGS / "seg-separate.yaml")
    assert shared["model"]["name"] == "seg-shared" and separate["model"]["name"] == "seg-separate"
    for config in (shared, separate):
        assert config["data"]["name"] == "voc-standin"
        assert config["segmentation"]["all_classes"] is False
    assert shared["segmentation"]["pretrain_steps"] == 0
    assert separate["segmentation"]["pretrain_steps"] > 0


# -- the VOC stand-in -------------------------------------------------------------------------


def _fake_corpus(root: Path, n: int = 6, size: tuple[int, int] = (40, 52)) -> list[ManifestEntry]:
    """A corpus folder of ``n`` synthetic ``size`` photos: the last is test, the one before
    it val, the others train."""
    photos = write_photos(root / "images" / "p", n, size=size)
    entries = []
    for i, photo in enumerate(photos):
        sha = hashlib.sha256(photo.read_bytes()).hexdigest()
        split = "train" if i < n - 2 else ("val" if i == n - 2 else "test")
        entries.append(ManifestEntry(
            id=sha[:16], split=split, source="test:p", container="-", path=photo.name,
            file=photo.relative_to(root).as_posix(), licence="test", sha256=sha,
            width=size[1], height=size[0],
        ))  # fmt: skip
    write_manifest(root, entries)
    return entries


def test_salient_object_mask_finds_a_bright_square() -> None:
    rgb = np.full((48, 64, 3), 60, np.uint8)
    rgb[16:32, 24:40] = (230, 40, 40)
    mask, how = salient_object_mask(rgb, void_radius=1)
    assert how == "grabcut" and set(np.unique(mask)) <= {0, 1, VOID}
    assert mask[22:26, 30:34].tolist() == [[1] * 4] * 4 and mask[:4].max() == 0
    assert (mask == VOID).any()  # the outline
    flat, how = salient_object_mask(np.full((20, 20, 3), 90, np.uint8))
    assert how == "flat" and not flat.any()


def test_voc_standin_builder_writes_a_folder_the_voc_loader_reads(tmp_path: Path) -> None:
    entries = _fake_corpus(tmp_path / "corpus")
    out = tmp_path / "standin"
    report = build_voc_standin(tmp_path / "corpus", out, short_side=32, progress=False)
    assert report.counts == {"train": 4, "val": 1} and not report.skipped
    folder = out / "VOCdevkit" / "VOC2012"
    assert report.folder == folder
    by_split = {e.split: e.id for e in reversed(entries)}
    assert (folder / "ImageSets/Segmentation/val.txt").read_text() == f"{by_split['val']}\n"
    assert by_split["test"] not in (folder / "ImageSets/Segmentation/trainval.txt").read_text()
    with Image.open(folder / "SegmentationClass" / f"{by_split['val']}.png") as im:
        assert im.mode == "P"
    info = json.loads((folder / "standin.json").read_text())
    assert "stand-in" in info["what"] and info["classes"] == list(STANDIN_CLASSES)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left
    for dataset in (VOCSegmentation(out, "train"), open_dataset("voc-standin", out, "trainval")):
        assert dataset.classes == list(STANDIN_CLASSES)
        sample = dataset[0]
        assert sample is not None and sample.mask is not None
        assert min(sample.l.shape[-2:]) == 32
        assert set(sample.mask.unique().tolist()) <= {0, 1, VOID}
    assert len(open_dataset("voc-standin", out, "trainval")) == 5


def test_voc_standin_refuses_to_overwrite_and_names_a_missing_corpus(tmp_path: Path) -> None:
    with pytest.raises(CorpusNotBuiltError, match="build-corpus"):
        build_voc_standin(tmp_path / "nowhere", tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()
    _fake_corpus(tmp_path / "corpus", n=3)
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="--force"):
        build_voc_standin(tmp_path / "corpus", out, progress=False)
    assert (out / "mine.txt").read_text() == "keep"
    args = ["data", "build-voc-standin", str(tmp_path / "corpus"), str(out), "-q"]
    assert main(args) == 2
    assert main(["data", "build-voc-standin", str(tmp_path / "none"), str(tmp_path / "o2")]) == 2
    assert main([*args, "--force", "--short-side", "24"]) == 0
    assert not (out / "mine.txt").exists() and (out / "VOCdevkit/VOC2012/classes.txt").is_file()
    with pytest.raises(DatasetError, match="no VOC-format stand-in"):
        open_dataset("voc-standin", tmp_path / "corpus")


# -- end to end -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", ["seg-shared", "seg-separate"])
def test_each_config_trains_and_colourises_a_photo(
    name: str, tmp_path: Path, tiny_overrides: Callable[..., list[str]]
) -> None:
    _fake_corpus(tmp_path / "corpus", n=6, size=(80, 96))
    standin = tmp_path / "standin"
    build_voc_standin(tmp_path / "corpus", standin, short_side=72, progress=False)
    run = tmp_path / "run"
    overrides = tiny_overrides(run, steps=3, batch_size=2)
    overrides += [f"data.root={standin}", "data.max_val_images=2",
                  "model.kwargs.base_channels=8", "segmentation.pretrain_steps=1"]  # fmt: skip
    config = resolve_config(CONFIGS / f"{name}.yaml", overrides)
    model_path = train(config, progress=False)
    metrics = (run / "logs" / "version_0" / "metrics.csv").read_text()
    for key in ("train/segmentation", "train/colour", "val/seg_accuracy", "val/colour"):
        assert key in metrics, key
    model = load_model(model_path)
    assert isinstance(model, SegGuidedColouriser) and model.registry_name == name
    photo = write_photos(tmp_path / "in", 1, size=(80, 72))[0]
    out = tmp_path / "out"
    code = main(["colourise", str(photo), "-o", str(out), "-m", str(model_path), "-q",
                 "--allow-colour", "--threads", "1"])  # fmt: skip
    assert code == 0
    with Image.open(out / photo.name) as im:
        assert im.size == (72, 80) and im.mode == "RGB"
    lightness = torch.rand(1, 1, 64, 64) * 100
    with torch.no_grad():
        chroma = model.decode(model(lightness))
    assert chroma.shape == (1, 2, 64, 64) and math.isfinite(float(chroma.abs().sum()))
