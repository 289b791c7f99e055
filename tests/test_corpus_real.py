"""The corpus builder against the real Debian archive (one small package)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from tinct.cli import main
from tinct.data.corpus import load_manifest, read_photo_list


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs Debian's apt-get")
def test_build_corpus_from_the_real_palapeli_package(tmp_path: Path) -> None:
    rows = [
        line
        for line in (Path(__file__).parents[1] / "src/tinct/data/photo-corpus.tsv")
        .read_text()
        .splitlines()
        if line.startswith(("source\t", "debian:palapeli-data\t"))
    ]
    assert len(rows) == 6  # header + the 5 palapeli photos of the corpus list
    tsv = tmp_path / "list.tsv"
    tsv.write_text("\n".join(rows) + "\n")
    probe = subprocess.run(["apt-cache", "show", "palapeli-data"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("apt lists are missing: run apt-get update")
    from tinct.data.corpus import build_corpus

    out = tmp_path / "corpus"
    entries = build_corpus(out, tsv=tsv, cache_dir=tmp_path / "cache", progress=False)
    assert len(entries) == 5 == len(read_photo_list(tsv))
    manifest = load_manifest(out)
    assert {e.sha256 for e in manifest} == {e.sha256 for e in entries}
    for entry in manifest:
        with Image.open(out / entry.file) as im:
            assert im.size == (entry.width, entry.height)
        assert entry.licence and entry.split in ("train", "val", "test")
    # Re-running through the CLI is idempotent: same manifest, files untouched.
    before = (out / "manifest.tsv").read_bytes()
    args = [
        "data",
        "build-corpus",
        str(out),
        "--tsv",
        str(tsv),
        "--cache-dir",
        str(tmp_path / "cache"),
    ]
    assert main(args) == 0
    assert (out / "manifest.tsv").read_bytes() == before
