#!/usr/bin/env python
"""Build the offline photo corpus: ``python scripts/build_corpus.py OUT_DIR [--cache-dir DIR]``.

Downloads the Debian packages listed in tinct's photo list (``apt-get download``; run
``apt-get update`` first on a fresh system), copies the 377 photos to OUT_DIR/images and
writes OUT_DIR/manifest.tsv. Re-running only redoes what is missing or changed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

try:
    from tinct.data.corpus import build_corpus
    from tinct.data.corpus_fetch import CorpusError
except ModuleNotFoundError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from tinct.data.corpus import build_corpus
    from tinct.data.corpus_fetch import CorpusError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="where to build the corpus")
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="download cache (default ~/.cache/tinct)"
    )
    parser.add_argument("--tsv", type=Path, default=None, help="photo list (default: tinct's)")
    parser.add_argument("--jobs", type=int, default=4, help="packages extracted at once")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    args = parser.parse_args(argv)
    try:
        entries = build_corpus(
            args.out_dir,
            tsv=args.tsv,
            cache_dir=args.cache_dir,
            progress=not args.quiet,
            jobs=args.jobs,
        )
    except CorpusError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{len(entries)} photos in {args.out_dir / 'manifest.tsv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
