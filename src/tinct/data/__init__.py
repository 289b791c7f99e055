"""Data: the offline photo corpus (``corpus``) and Qt resource archives (``qrc``).

Submodules import their heavy dependencies lazily; importing ``tinct.data`` is cheap.
"""

from __future__ import annotations

from tinct.data.corpus import (
    CorpusError,
    CorpusNotBuiltError,
    ManifestEntry,
    build_corpus,
    corpus_files,
    load_manifest,
)

__all__ = [
    "CorpusError",
    "CorpusNotBuiltError",
    "ManifestEntry",
    "build_corpus",
    "corpus_files",
    "load_manifest",
]
