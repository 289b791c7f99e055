"""Finding image files (files, folders and glob patterns to a list of paths) and writing
any file atomically."""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

__all__ = ["IMAGE_EXTENSIONS", "atomic_path", "iter_image_files", "write_text_atomic"]

#: Lower-case file-name suffixes that :func:`iter_image_files` picks up in folders
#: and glob matches (compare with ``path.suffix.lower()``).
IMAGE_EXTENSIONS: Final[frozenset[str]] = frozenset(
    {
        ".apng",
        ".bmp",
        ".gif",
        ".jfif",
        ".jpe",
        ".jpeg",
        ".jpg",
        ".pbm",
        ".pgm",
        ".png",
        ".pnm",
        ".ppm",
        ".tga",
        ".tif",
        ".tiff",
        ".webp",
    }
)

_GLOB_CHARS: Final[frozenset[str]] = frozenset("*?[")


def _is_image_name(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def _scan_folder(folder: Path, recursive: bool) -> list[Path]:
    """Image files in ``folder`` sorted by name, depth first; hidden entries are skipped.

    Symbolic links to files are listed; symbolic links to folders are not followed.
    """
    found: list[Path] = []
    with os.scandir(folder) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            if recursive:
                found.extend(_scan_folder(folder / entry.name, recursive))
        elif _is_image_name(entry.name) and entry.is_file():
            found.append(folder / entry.name)
    return found


def _expand_pattern(pattern: str, recursive: bool) -> list[Path]:
    """Image files matching a glob pattern (``**`` spans folders if ``recursive``)."""
    found: list[Path] = []
    for match in sorted(glob.glob(pattern, recursive=recursive)):
        path = Path(match)
        if path.is_dir():
            found.extend(_scan_folder(path, recursive))
        elif _is_image_name(path.name) and path.is_file():
            found.append(path)
    return found


def iter_image_files(inputs: Iterable[str | Path], *, recursive: bool = True) -> list[Path]:
    """Expand files, folders and glob patterns into a list of image files.

    Args:
        inputs: each one is

            * an existing file: taken as it is, whatever its suffix;
            * an existing folder: its image files (suffix in
              :data:`IMAGE_EXTENSIONS`, any case), sorted by name, in sub-folders
              too if ``recursive``; hidden files and folders (``.name``) are skipped;
            * otherwise a glob pattern (``*``, ``?``, ``[...]``, and ``**`` for any
              depth of folders if ``recursive``): the image files it matches,
              sorted, plus the image files of any folders it matches.

            ``~`` is expanded.  A single ``str`` or ``Path`` is taken as one input.
        recursive: descend into sub-folders (and let ``**`` match across folders).

    Returns:
        The files in input order, each folder's or pattern's matches sorted,
        without duplicates (the first occurrence of a file is kept).  Paths keep
        the form they were given in (relative stays relative).

    Raises:
        FileNotFoundError: an input does not exist and is not a glob pattern, or a
            folder or pattern yields no image file.  The message names the input.
    """
    if isinstance(inputs, str | Path):
        inputs = [inputs]
    result: list[Path] = []
    seen: set[str] = set()
    for item in inputs:
        text = os.path.expanduser(os.fspath(item))
        path = Path(text)
        if path.is_dir():
            found = _scan_folder(path, recursive)
            if not found:
                raise FileNotFoundError(
                    f"no image files in folder {text!r}"
                    f"{'' if recursive else ' (not searching sub-folders)'}"
                )
        elif path.exists():
            found = [path]
        elif _GLOB_CHARS.intersection(text):
            found = _expand_pattern(text, recursive)
            if not found:
                raise FileNotFoundError(f"no image files match {text!r}")
        else:
            raise FileNotFoundError(f"no such file or folder: {text!r}")
        for file in found:
            key = os.path.normcase(os.path.abspath(file))
            if key not in seen:
                seen.add(key)
                result.append(file)
    return result


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix) to write to; it replaces ``path``
    when the block ends without error and is removed otherwise, so ``path`` is never
    left half-written. Parent folders are created; the file gets the usual permissions
    (0666 less the umask).

    Not thread-safe with respect to the umask (it is read by setting it).
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=f".tmp{final.suffix}",
                                dir=final.parent)  # fmt: skip
    os.close(fd)
    tmp = Path(name)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide the file from other users
        yield tmp
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
