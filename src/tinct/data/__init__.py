"""Data: datasets that yield :class:`Sample` records, transforms, guidance maps.

* :mod:`~tinct.data.sample` -- the :class:`Sample` record and :func:`collate_samples`.
* :mod:`~tinct.data.base` -- :class:`ColourDataset`, the base of every dataset.
* :mod:`~tinct.data.registry` -- datasets by name: :func:`open_dataset`,
  :func:`download_dataset` (``tinct data list`` / ``download``).
* loaders: :mod:`~tinct.data.cifar`, :mod:`~tinct.data.stl10`, :mod:`~tinct.data.voc`,
  :mod:`~tinct.data.folders` (any folder, Imagenette, faces, Flickr30k),
  :mod:`~tinct.data.photos` (the offline corpus), :mod:`~tinct.data.shapes` (Shape Set).
* :mod:`~tinct.data.transforms` (augmentations, crops), :mod:`~tinct.data.guidance`
  (Canny edges, spectral-residual saliency), :mod:`~tinct.data.inspect`.
* :mod:`~tinct.data.corpus` builds the offline photo corpus from the packages that
  :mod:`~tinct.data.corpus_fetch` fetches; :mod:`~tinct.data.qrc` reads Qt resource archives.

Names are imported lazily, so ``import tinct.data`` does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from tinct.data.corpus import (
    CorpusNotBuiltError,
    ManifestEntry,
    build_corpus,
    corpus_files,
    load_manifest,
)
from tinct.data.corpus_fetch import CorpusError

_LAZY = {
    "Sample": "tinct.data.sample",
    "collate_samples": "tinct.data.sample",
    "make_sample": "tinct.data.sample",
    "ColourDataset": "tinct.data.base",
    "DatasetError": "tinct.data.base",
    "RawItem": "tinct.data.base",
    "open_dataset": "tinct.data.registry",
    "download_dataset": "tinct.data.registry",
    "DATASETS": "tinct.data.registry",
    "ImageFolder": "tinct.data.folders",
    "ShapeSet": "tinct.data.shapes",
    "CorpusPhotos": "tinct.data.photos",
}

__all__ = [
    "CorpusError",
    "CorpusNotBuiltError",
    "ManifestEntry",
    "build_corpus",
    "corpus_files",
    "load_manifest",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tinct.data' has no attribute {name!r}")
