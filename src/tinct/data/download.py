"""Downloading and unpacking the public datasets (CIFAR, STL-10, PASCAL VOC).

* :class:`Resource` -- one file to fetch: URL, file name, checksums, size.
* :func:`download` -- resumable HTTP(S) download with a progress bar. The data goes to
  ``<filename>.part``; an interrupted download is resumed from where it stopped (an HTTP
  ``Range`` request; if the server ignores it, the download restarts from zero). The file is
  renamed to its final name only once its checksum is verified, so a file under the final
  name is always complete.
* :func:`extract` -- ``.tar``, ``.tar.gz``/``.tgz`` and ``.zip`` archives, refusing members
  that would land outside the destination. Members are unpacked into a temporary folder
  inside the destination and moved into place only when the whole archive is unpacked, so
  an interrupted extraction leaves no half-written dataset folder.
* :func:`ensure_dataset` -- what the dataset classes call: the dataset folder if it exists,
  else download and unpack it (``download=True``) or explain how to get it.

Only :mod:`urllib.request` is used (no extra dependency). Machines without internet access
get a :class:`DownloadError` that names the URL and the exact path where the file can be
put by hand.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from tinct.data.base import DatasetError

__all__ = [
    "DownloadError",
    "Resource",
    "download",
    "download_command",
    "ensure_dataset",
    "extract",
    "file_checksum",
]

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
_USER_AGENT = "tinct (https://pypi.org/project/tinct/)"


@dataclass(frozen=True)
class Resource:
    """One file to download.

    Attributes:
        url: where it is published.
        filename: the name it is saved under (in the download folder).
        md5: expected MD5 hex digest, or ``None``.
        sha256: expected SHA-256 hex digest, or ``None``.
        size: size in bytes if known (progress bar, messages); not checked.
    """

    url: str
    filename: str
    md5: str | None
    sha256: str | None = None
    size: int | None = None


class DownloadError(RuntimeError):
    """A file could not be downloaded (no network, HTTP error, checksum mismatch...).

    Attributes:
        url: the URL concerned.
        reason: what went wrong, in words.
    """

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"cannot download {url}: {reason}")

    def __reduce__(self) -> tuple[type[DownloadError], tuple[str, str]]:
        return (type(self), (self.url, self.reason))


def download_command(name: str, root: str | os.PathLike[str]) -> str:
    """The shell command that downloads dataset ``name`` into ``root``."""
    return f"tinct data download {name} --root {os.fspath(root)}"


def _human_size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"  # pragma: no cover


def file_checksum(path: str | os.PathLike[str], algorithm: str = "md5") -> str:
    """Hex digest of a file's content (``"md5"``, ``"sha256"``, ...), read in 1 MiB blocks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _checksum_problem(path: Path, resource: Resource) -> str | None:
    """``None`` if ``path`` has the resource's checksums, else what differs."""
    for algorithm, expected in (("md5", resource.md5), ("sha256", resource.sha256)):
        if expected is None:
            continue
        actual = file_checksum(path, algorithm)
        if actual.lower() != expected.lower():
            return f"{algorithm} checksum mismatch: expected {expected}, got {actual}"
    return None


def _manual_hint(resource: Resource, final: Path) -> str:
    return (
        f"You can download the file yourself from {resource.url} and put it at {final} "
        "(it is then used without downloading), or pass as root a folder that already holds "
        "the extracted dataset."
    )


class _Interrupted(Exception):
    """The transfer stopped part-way (the ``.part`` file is kept for resuming)."""


class _Unreachable(Exception):
    """The server could not be contacted (no network, DNS failure, timeout...)."""


def _header(response: Any, name: str) -> str | None:
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    value = headers.get(name)
    return None if value is None else str(value)


def _content_range_start(value: str | None) -> int | None:
    """First byte of a ``Content-Range: bytes START-END/TOTAL`` header, or ``None``."""
    if not value:
        return None
    unit, _, rest = value.strip().partition(" ")
    if unit.lower() != "bytes":
        return None
    start = rest.partition("-")[0].strip()
    return int(start) if start.isdigit() else None


def _fetch(resource: Resource, part: Path, *, progress: bool, timeout: float) -> None:
    """Fill ``part`` with the whole file, resuming from its current size where possible.

    Raises :class:`_Interrupted` when the transfer broke off, ``urllib.error.HTTPError`` for
    an HTTP error status and :class:`_Unreachable` when the server cannot be reached. Errors
    writing the part file (a full disk...) propagate as they are.
    """
    from tqdm import tqdm

    offset = part.stat().st_size if part.exists() else 0
    if resource.size is not None and offset > resource.size:
        log.warning("%s is larger than the expected file: starting again", part)
        offset = 0
    headers = {"User-Agent": _USER_AGENT}
    if offset > 0:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(resource.url, headers=headers)
    try:
        response_cm = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset > 0 and _checksum_problem(part, resource) is None:
            return  # the part file is already the complete file
        raise
    except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
        raise _Unreachable(err.reason if isinstance(err, urllib.error.URLError) else err) from err
    with response_cm as response:
        status = getattr(response, "status", None) or 200
        if offset > 0 and status == 206:
            start = _content_range_start(_header(response, "Content-Range"))
            if start is not None and start != offset:
                part.unlink()
                raise _Interrupted(
                    f"the server resumed at byte {start} instead of {offset}, so the partial "
                    "download was discarded"
                )
            mode = "ab"
        else:
            if offset > 0:
                log.info("%s does not support resuming: downloading from the start", resource.url)
            offset = 0
            mode = "wb"
        length = _header(response, "Content-Length")
        expected: int | None = offset + int(length) if length and length.isdigit() else None
        total = expected if expected is not None else resource.size
        received = offset
        bar = tqdm(
            total=total,
            initial=offset,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=resource.filename,
            disable=not progress,
        )
        try:
            with open(part, mode) as f:
                while True:
                    try:
                        block = response.read(_CHUNK)
                    except (OSError, http.client.HTTPException) as err:
                        raise _Interrupted(
                            f"the transfer broke off after {received} bytes ({err!r})"
                        ) from err
                    if not block:
                        break
                    f.write(block)
                    received += len(block)
                    bar.update(len(block))
        finally:
            bar.close()
        if expected is not None and received < expected:
            raise _Interrupted(f"the connection closed after {received} of {expected} bytes")


def download(
    resource: Resource,
    dest_dir: str | os.PathLike[str],
    *,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Download ``resource`` into ``dest_dir`` (created if needed); return the file's path.

    A file already there with the expected checksum is not downloaded again. Data is written
    to ``<filename>.part`` and resumed from its size on the next call if the transfer breaks
    off. After the download the checksums are verified (on a mismatch the part file is
    deleted) and the file is renamed to its final name. Two processes must not download the
    same file into the same folder at once.

    Raises:
        DownloadError: the server cannot be reached, answers with an HTTP error, the
            transfer breaks off, or the checksum does not match. The message names the URL
            and, where useful, how to put the file in place by hand.
    """
    dest = Path(dest_dir)
    final = dest / resource.filename
    if final.is_file():
        problem = _checksum_problem(final, resource)
        if problem is None:
            log.debug("%s already downloaded", final)
            return final
        log.warning("%s exists but does not match (%s): downloading it again", final, problem)
    dest.mkdir(parents=True, exist_ok=True)
    part = final.with_name(final.name + ".part")
    log.info("downloading %s to %s", resource.url, final)
    for attempt in range(2):
        try:
            _fetch(resource, part, progress=progress, timeout=timeout)
        except _Interrupted as err:
            raise DownloadError(
                resource.url, f"{err}. Run again to resume the download into {part}."
            ) from err
        except urllib.error.HTTPError as err:
            if err.code == 416 and attempt == 0 and part.exists():
                # Range not satisfiable: the part file is not a prefix of the file.
                part.unlink()
                continue
            raise DownloadError(
                resource.url,
                f"the server answered HTTP {err.code} {err.reason}. "
                + _manual_hint(resource, final),
            ) from err
        except _Unreachable as err:
            raise DownloadError(
                resource.url,
                f"this machine cannot reach it ({err}). " + _manual_hint(resource, final),
            ) from err
        break
    problem = _checksum_problem(part, resource)
    if problem is not None:
        part.unlink(missing_ok=True)
        raise DownloadError(
            resource.url,
            f"the downloaded file is corrupt ({problem}); it was deleted, run again to "
            "download it afresh",
        )
    os.replace(part, final)
    return final


_download = download  # ensure_dataset's ``download`` argument shadows the function


# -- extraction ---------------------------------------------------------------------------


def _unsafe_name(name: str) -> str | None:
    """Why archive member ``name`` may not be extracted, or ``None`` if it is safe."""
    posix = name.replace("\\", "/")
    path = PurePosixPath(posix)
    if path.is_absolute() or (len(posix) > 1 and posix[1] == ":"):
        return "it has an absolute path"
    if ".." in path.parts:
        return "it escapes the destination with '..'"
    return None


def _tar_filter(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
    problem = _unsafe_name(member.name)
    if problem is not None:
        raise tarfile.FilterError(f"member {member.name!r} refused: {problem}")
    return tarfile.data_filter(member, dest)


def _merge_move(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst``; folders that exist on both sides are merged."""
    if dst.is_dir() and not dst.is_symlink() and src.is_dir() and not src.is_symlink():
        for child in src.iterdir():
            _merge_move(child, dst / child.name)
        src.rmdir()
    else:
        if dst.is_dir() and not dst.is_symlink():
            shutil.rmtree(dst)
        os.replace(src, dst)


def _archive_kind(archive: Path) -> str:
    name = archive.name.lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")):
        return "tar"
    if zipfile.is_zipfile(archive):
        return "zip"
    if tarfile.is_tarfile(archive):
        return "tar"
    raise DatasetError(archive, "not a .tar, .tar.gz, .tgz or .zip archive")


def extract(archive: str | os.PathLike[str], dest_dir: str | os.PathLike[str]) -> list[Path]:
    """Unpack ``archive`` (tar, tar.gz/tgz, zip) into ``dest_dir``; return the top-level paths.

    Members with absolute paths or ``..`` components are refused, and so (through
    ``tarfile``'s ``"data"`` filter) are links pointing outside the destination, device files
    and the like. The archive is unpacked into a temporary folder inside ``dest_dir`` and
    its top-level entries are moved into place at the end (folders that already exist are
    merged), so an interrupted or refused extraction leaves nothing behind.

    Raises:
        DatasetError: naming the archive, if it is corrupt or holds an unsafe member.
    """
    archive = Path(archive)
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    kind = _archive_kind(archive)
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest))
    try:
        if kind == "tar":
            try:
                with tarfile.open(archive, "r:*") as tf:
                    tf.extractall(tmp, filter=_tar_filter)
            except tarfile.FilterError as err:
                raise DatasetError(archive, f"unsafe archive: {err}") from err
            except (tarfile.TarError, EOFError, OSError) as err:
                raise DatasetError(archive, f"corrupt or truncated tar archive ({err})") from err
        else:
            try:
                with zipfile.ZipFile(archive) as zf:
                    for info in zf.infolist():
                        problem = _unsafe_name(info.filename)
                        if problem is not None:
                            raise DatasetError(
                                archive,
                                f"unsafe archive: member {info.filename!r} refused: {problem}",
                            )
                    zf.extractall(tmp)
            except (zipfile.BadZipFile, EOFError, OSError) as err:
                raise DatasetError(archive, f"corrupt or truncated zip archive ({err})") from err
        placed = []
        for entry in sorted(tmp.iterdir()):
            target = dest / entry.name
            _merge_move(entry, target)
            placed.append(target)
        return placed
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# -- datasets -----------------------------------------------------------------------------


def ensure_dataset(
    folder: str | os.PathLike[str],
    resources: Sequence[Resource],
    root: str | os.PathLike[str],
    *,
    download: bool,
    progress: bool = True,
    name: str,
    keep_archive: bool = True,
) -> Path:
    """The dataset folder ``folder``, downloading and unpacking it into ``root`` if asked.

    If ``folder`` exists it is returned as is (its content is checked by the dataset class).
    Otherwise, with ``download=True`` every resource is downloaded into ``root`` and
    unpacked there, which must create ``folder``; the archives are kept unless
    ``keep_archive`` is false. ``name`` is the dataset's name in the messages and in the
    ``tinct data download`` command they suggest.

    Raises:
        DatasetError: the folder is missing and ``download`` is false, or the archives did
            not contain it.
        DownloadError: a download failed.
    """
    folder = Path(folder)
    root = Path(root)
    if folder.is_dir():
        return folder
    if not download:
        sizes = [r.size for r in resources if r.size is not None]
        size = f", {_human_size(sum(sizes))}" if len(sizes) == len(resources) and sizes else ""
        raise DatasetError(
            folder,
            f"the {name} dataset is not there. Pass download=True (or run "
            f"`{download_command(name, root)}`) to download it into {root}{size}, or point "
            "root at a folder that already holds it",
        )
    for resource in resources:
        archive = _download(resource, root, progress=progress)
        log.info("extracting %s", archive)
        extract(archive, root)
        if not keep_archive:
            archive.unlink(missing_ok=True)
    if not folder.is_dir():
        names = ", ".join(r.filename for r in resources)
        raise DatasetError(folder, f"the downloaded {name} archive ({names}) did not create it")
    return folder
