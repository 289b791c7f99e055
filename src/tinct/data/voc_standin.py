"""A Pascal VOC-format *stand-in* made from the offline photo corpus, for offline runs of
seed 004's segmentation-guided colourisation (the seed trains on Pascal VOC 2012, section
5.2.1; the real VOC is a 2 GB download, ``tinct data download voc2012``).

It is a stand-in, not VOC: the corpus photos (train and val splits; test is left out, so
the corpus' test photos stay unseen) with masks of **two classes, background (0) and
foreground (1)**, made without labels or weights by :func:`salient_object_mask`:

1. the spectral-residual saliency of the photo (Hou & Zhang 2007,
   :func:`tinct.data.guidance.spectral_residual_saliency`);
2. OpenCV's GrabCut (Rother et al. 2004), initialised from it: pixels above three times
   the mean saliency (Hou & Zhang's object-map rule; at least the top 10 %) are probable
   foreground, the top 1 % sure foreground, a non-salient frame along the border
   (3 % of the short side) sure background and the rest probable background;
3. a void (255) band of ``void_radius`` pixels on either side of the foreground's outline,
   as VOC marks object borders, so neither loss trusts the pixels GrabCut is least sure of.

If GrabCut fails on a photo (OpenCV error) its mask is the saliency threshold itself; a
photo without any salient structure (flat) is all background. The masks are foreground
vs. background of one heuristic, not semantic classes, and are often wrong on cluttered
photos: they exercise the method, they do not reproduce the seed's numbers.

Layout (what :class:`tinct.data.voc.VOCSegmentation` reads): ``OUT/VOCdevkit/VOC2012/``
with ``JPEGImages/<id>.jpg`` (short side ``short_side`` pixels at most), palette PNG masks
``SegmentationClass/<id>.png`` (VOC's palette), ``ImageSets/Segmentation/{train,val,
trainval}.txt``, ``classes.txt`` (the two names) and ``standin.json`` (method, parameters,
counts, source corpus). Ids are the corpus manifest's.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from tinct.data.corpus import ManifestEntry, load_manifest
from tinct.data.guidance import spectral_residual_saliency
from tinct.data.voc import CLASS_NAMES_FILE, VOC_PALETTE, VOID
from tinct.io import ImageReadError, read_image_numpy, write_image, write_palette_png
from tinct.io.files import write_text_atomic
from tinct.io.resize import resize_short_side

__all__ = [
    "STANDIN_CLASSES",
    "STANDIN_INFO",
    "StandinReport",
    "build_voc_standin",
    "salient_object_mask",
]

#: Classes of the stand-in's masks (index = mask value).
STANDIN_CLASSES = ("background", "foreground")
#: The stand-in's description file, beside ``JPEGImages/``.
STANDIN_INFO = "standin.json"
#: Corpus splits copied, and the VOC split each becomes.
SPLITS = ("train", "val")


def salient_object_mask(
    rgb: np.ndarray, *, iterations: int = 5, void_radius: int = 1
) -> tuple[np.ndarray, str]:
    """Foreground (1) vs. background (0) mask of a photo, 255 = void border (see the module).

    Args:
        rgb: ``(H, W, 3)`` uint8 photo.
        iterations: GrabCut iterations.
        void_radius: pixels on either side of the foreground outline marked void (0: none).

    Returns:
        ``(mask, how)``: the ``(H, W)`` uint8 mask, and ``"grabcut"``, ``"saliency"``
        (GrabCut failed, the saliency threshold is used) or ``"flat"`` (no salient
        structure: all background).
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {rgb.shape} {rgb.dtype}")
    if iterations < 1 or void_radius < 0:
        raise ValueError(
            f"need iterations >= 1 and void_radius >= 0, got {iterations}, {void_radius}"
        )
    h, w = rgb.shape[:2]
    saliency = spectral_residual_saliency(torch.from_numpy(rgb).permute(2, 0, 1))[0].numpy()
    if float(saliency.max()) <= 0.0:
        return np.zeros((h, w), np.uint8), "flat"
    threshold = min(3.0 * float(saliency.mean()), float(np.quantile(saliency, 0.9)))
    salient = saliency >= threshold
    seeds = np.where(salient, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    seeds[saliency >= np.quantile(saliency, 0.99)] = cv2.GC_FGD
    frame = np.zeros((h, w), bool)
    b = max(1, round(0.03 * min(h, w)))
    frame[:b], frame[-b:], frame[:, :b], frame[:, -b:] = True, True, True, True
    seeds[frame & ~salient] = cv2.GC_BGD
    how = "grabcut"
    try:
        cv2.setRNGSeed(0)  # GrabCut's k-means initialisation draws from OpenCV's RNG
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        cv2.grabCut(bgr, seeds, (0, 0, 0, 0), bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
        foreground = (seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)
    except cv2.error:
        foreground, how = salient, "saliency"
    mask = foreground.astype(np.uint8)
    if void_radius and 0 < int(mask.sum()) < mask.size:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * void_radius + 1,) * 2)
        band = cv2.dilate(mask, kernel) != cv2.erode(mask, kernel)
        mask[band] = VOID
    return mask, how


@dataclass
class StandinReport:
    """What :func:`build_voc_standin` wrote.

    Attributes:
        out: the output folder (holding ``VOCdevkit/``).
        folder: the VOC2012 folder inside it.
        counts: photos per split.
        foreground_share: mean share of labelled pixels that are foreground.
        void_share: mean share of pixels that are void.
        methods: photos per mask method (``grabcut``, ``saliency``, ``flat``).
        skipped: ``(corpus file, reason)`` of unreadable photos.
    """

    out: Path
    folder: Path
    counts: dict[str, int]
    foreground_share: float
    void_share: float
    methods: dict[str, int]
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        counts = ", ".join(f"{n} {split}" for split, n in self.counts.items())
        methods = ", ".join(f"{n} {m}" for m, n in sorted(self.methods.items()))
        return (
            f"VOC-format stand-in (not Pascal VOC) at {self.folder}: {counts} photos; "
            f"masks: {methods}; foreground {100 * self.foreground_share:.0f} % of labelled "
            f"pixels, void {100 * self.void_share:.1f} %"
        )


def _check_out(out: Path, force: bool) -> None:
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise FileExistsError(f"{out} exists and is not a folder; choose another output")
        if any(out.iterdir()) and not force:
            raise FileExistsError(
                f"{out} already exists and is not empty; pass --force to replace it "
                "(force=True in Python)"
            )


def build_voc_standin(
    corpus: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    short_side: int = 192,
    iterations: int = 5,
    void_radius: int = 1,
    force: bool = False,
    progress: bool = True,
) -> StandinReport:
    """Write the VOC-format stand-in of the corpus at ``corpus`` into ``out`` (see the module).

    The folder is built under a temporary name beside ``out`` and renamed into place at the
    end, so ``out`` is never half-written; an existing non-empty ``out`` is replaced only
    with ``force`` (after the new one is complete).

    Args:
        corpus: a corpus folder built by ``tinct data build-corpus``.
        out: the output folder.
        short_side: photos larger than this on their short side are shrunk to it (pixels).
        iterations, void_radius: see :func:`salient_object_mask`.
        force: replace an existing, non-empty ``out``.
        progress: show a progress bar.

    Raises:
        CorpusNotBuiltError: no (complete) corpus at ``corpus``.
        FileExistsError: ``out`` exists (not empty) and ``force`` is false, or is a file.
        ValueError: bad parameters, or no photo of the corpus could be read.
    """
    if short_side < 16:
        raise ValueError(f"short_side must be at least 16 pixels, got {short_side}")
    corpus, out = Path(corpus), Path(out)
    entries = [e for e in load_manifest(corpus) if e.split in SPLITS]
    _check_out(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        report = _write(entries, corpus, tmp, short_side, iterations, void_radius, progress)
        if not sum(report.counts.values()):
            raise ValueError(f"no photo of the corpus at {corpus} could be read")
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    report.out = out
    report.folder = out / report.folder.relative_to(tmp)
    return report


def _write(
    entries: list[ManifestEntry],
    corpus: Path,
    tmp: Path,
    short_side: int,
    iterations: int,
    void_radius: int,
    progress: bool,
) -> StandinReport:
    folder = tmp / "VOCdevkit" / "VOC2012"
    ids: dict[str, list[str]] = {split: [] for split in SPLITS}
    methods: dict[str, int] = {}
    skipped: list[tuple[str, str]] = []
    fg_shares: list[float] = []
    void_shares: list[float] = []
    for entry in tqdm(entries, desc="VOC stand-in", unit="photo", disable=not progress):
        try:
            rgb = read_image_numpy(corpus / entry.file)
        except ImageReadError as err:
            skipped.append((entry.file, err.reason))
            continue
        rgb = resize_short_side(rgb, short_side)
        mask, how = salient_object_mask(rgb, iterations=iterations, void_radius=void_radius)
        write_image(folder / "JPEGImages" / f"{entry.id}.jpg", rgb, quality=95,
                    subsampling="4:4:4")  # fmt: skip
        write_palette_png(folder / "SegmentationClass" / f"{entry.id}.png", mask, VOC_PALETTE)
        ids[entry.split].append(entry.id)
        methods[how] = methods.get(how, 0) + 1
        labelled = mask != VOID
        fg_shares.append(float((mask == 1).sum()) / max(1, int(labelled.sum())))
        void_shares.append(1.0 - float(labelled.mean()))
    lists = folder / "ImageSets" / "Segmentation"
    for split, members in {**ids, "trainval": [i for s in SPLITS for i in ids[s]]}.items():
        write_text_atomic(lists / f"{split}.txt", "".join(f"{m}\n" for m in members))
    write_text_atomic(folder / CLASS_NAMES_FILE, "".join(f"{c}\n" for c in STANDIN_CLASSES))
    report = StandinReport(
        out=tmp,
        folder=folder,
        counts={split: len(members) for split, members in ids.items()},
        foreground_share=float(np.mean(fg_shares)) if fg_shares else 0.0,
        void_share=float(np.mean(void_shares)) if void_shares else 0.0,
        methods=methods,
        skipped=skipped,
    )
    info = {
        "what": "a Pascal VOC-format stand-in made from the tinct photo corpus; not Pascal VOC",
        "classes": list(STANDIN_CLASSES),
        "void": VOID,
        "mask_method": "GrabCut (OpenCV) initialised from spectral-residual saliency "
        "(Hou & Zhang 2007); void band along the foreground outline",
        "parameters": {
            "short_side": short_side,
            "iterations": iterations,
            "void_radius": void_radius,
        },
        "corpus": str(corpus.resolve()),
        "corpus_splits": {"train": "train", "val": "val", "test": "left out"},
        **{k: v for k, v in asdict(report).items() if k not in ("out", "folder")},
    }
    write_text_atomic(folder / STANDIN_INFO, json.dumps(info, indent=2) + "\n")
    return report


def _replace_dir(new: Path, out: Path) -> None:
    """Rename the finished folder ``new`` to ``out``; an existing ``out`` is moved aside
    first and deleted only after the rename."""
    if not out.exists():
        os.replace(new, out)
        return
    old = out.with_name(f".{out.name}.old-{secrets.token_hex(4)}")
    os.replace(out, old)
    try:
        os.replace(new, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
