"""Finding image files (files, folders and glob patterns to a list of paths) and writing
any file atomically.

Only **regular files** are ever returned: a FIFO, a device, a socket, a broken symbolic
link or a symbolic-link loop with an image-like name is reported as skipped (with the
reason) instead of being handed to a reader that would block on it or fail with a
traceback.  Folders are walked without following symbolic links to folders (each one is
reported as skipped; a link to a folder is followed only when named as an input), so no
loop of links can make a walk endless; ``**`` in patterns uses the same walk (Python's
:func:`glob.glob` follows such links and does not end on two of them).
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import logging
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageFiles",
    "atomic_path",
    "find_image_files",
    "iter_image_files",
    "not_regular_file_reason",
    "write_text_atomic",
]

log = logging.getLogger(__name__)

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

#: What a non-regular file is, by its ``st_mode`` test (all but regular files and folders).
_FILE_KINDS: Final[tuple[tuple[str, str], ...]] = (
    ("S_ISFIFO", "a FIFO (named pipe)"),
    ("S_ISCHR", "a character device"),
    ("S_ISBLK", "a block device"),
    ("S_ISSOCK", "a socket"),
    ("S_ISDOOR", "a door"),
    ("S_ISPORT", "an event port"),
    ("S_ISWHT", "a whiteout"),
)


@dataclass
class ImageFiles:
    """What :func:`find_image_files` found.

    Attributes:
        files: the image files to read, all regular files (or links to them), in input
            order, without duplicates; paths keep the form they were given in.
        skipped: ``(path, reason)`` for every entry that has an image-like name (or was
            named directly) but cannot be read as a file -- a FIFO, a device, a socket,
            a broken symbolic link, a symbolic-link loop, a file or folder that cannot be
            examined -- and for every symbolic link to a folder met while walking
            folders (not followed).  ``reason`` is in words, without the path.
    """

    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def _mode_reason(mode: int) -> str | None:
    """None for a regular file, else why a file of this ``st_mode`` is not read."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "it is a directory, not a file"
    for test_name, what in _FILE_KINDS:
        test = getattr(stat, test_name, None)
        if test is not None and test(mode):
            return f"not a regular file: {what}"
    return "not a regular file"


def _os_error_reason(path: str | os.PathLike[str], exc: OSError) -> str:
    """Why ``os.stat(path)`` (or listing ``path``) failed, in words."""
    if exc.errno == errno.ELOOP:
        return "symbolic link loop (too many levels of symbolic links)"
    if isinstance(exc, FileNotFoundError):
        if os.path.islink(path):
            return "broken symbolic link (its target does not exist)"
        return "no such file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or str(exc)


def not_regular_file_reason(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot be read as an image file, or ``None`` if it is a regular file
    (or a symbolic link to one).

    Looks with ``os.stat`` only: nothing is opened, so a FIFO or a device never blocks.
    Reasons are in words without the path, e.g. ``"not a regular file: a FIFO (named
    pipe)"``, ``"symbolic link loop (too many levels of symbolic links)"``, ``"broken
    symbolic link (its target does not exist)"``, ``"no such file"``, ``"it is a
    directory, not a file"``, ``"permission denied"``.
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        return _os_error_reason(path, exc)
    return _mode_reason(st.st_mode)


def _is_image_name(name: str, extensions: frozenset[str] = IMAGE_EXTENSIONS) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in extensions


def _list_dir(folder: Path, skipped: list[tuple[Path, str]]) -> list[os.DirEntry[str]] | None:
    """The entries of ``folder`` sorted by name; ``None`` (and a skipped entry) on error."""
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError as exc:
        skipped.append((folder, f"cannot list the folder: {_os_error_reason(folder, exc)}"))
        return None


def _scan_folder(
    folder: Path,
    recursive: bool,
    found: list[Path],
    skipped: list[tuple[Path, str]],
    extensions: frozenset[str] = IMAGE_EXTENSIONS,
) -> None:
    """Append the image files of ``folder`` to ``found``, sorted by name, depth first.

    Hidden entries (``.name``) are ignored.  Symbolic links to files are listed; symbolic
    links to folders are not followed (reported in ``skipped`` when ``recursive``), so
    the walk always ends.  Image-named entries that are not regular files, and
    sub-folders that cannot be listed, go to ``skipped`` with the reason.  Iterative, so
    deep trees cannot exhaust Python's recursion limit.
    """
    entries = _list_dir(folder, skipped)
    if entries is None:
        return
    stack: list[tuple[Path, Iterator[os.DirEntry[str]]]] = [(folder, iter(entries))]
    while stack:
        parent, it = stack[-1]
        entry = next(it, None)
        if entry is None:
            stack.pop()
            continue
        if entry.name.startswith("."):
            continue
        path = parent / entry.name
        try:
            is_link = entry.is_symlink()
            is_dir = entry.is_dir(follow_symlinks=False)
            is_plain_file = not is_link and entry.is_file(follow_symlinks=False)
        except OSError as exc:
            if _is_image_name(entry.name, extensions):
                skipped.append((path, _os_error_reason(path, exc)))
            continue
        if is_dir:
            if recursive:
                sub = _list_dir(path, skipped)
                if sub is not None:
                    stack.append((path, iter(sub)))
            continue
        if is_plain_file:
            if _is_image_name(entry.name, extensions):
                found.append(path)
            continue
        if is_link and os.path.isdir(path):  # isdir: False on any error (loops too)
            if recursive:
                skipped.append((path, "symbolic link to a folder (not followed)"))
            continue
        if _is_image_name(entry.name, extensions):
            reason = not_regular_file_reason(path)
            if reason is None:
                found.append(path)
            else:
                skipped.append((path, reason))


# --------------------------------------------------------------------------- #
# Glob patterns, matched component by component (finite on any tree)
# --------------------------------------------------------------------------- #


def _split_components(pattern: str) -> tuple[str, list[str]]:
    """``(base, rest)``: the leading components without wildcards joined as a path
    (``""`` for the current folder, ``"/"`` for the root) and the remaining components
    (empty ones, from ``//`` or a trailing ``/``, dropped)."""
    separators = "/" + (os.altsep or "") + (os.sep if os.sep != "/" else "")
    parts = [pattern]
    for sep in separators:
        parts = [piece for part in parts for piece in part.split(sep)]
    literal: list[str] = []
    index = 0
    while index < len(parts) and not _GLOB_CHARS.intersection(parts[index]):
        literal.append(parts[index])
        index += 1
    base = "/".join(literal)
    if literal and base == "":  # the pattern starts at the root
        base = "/"
    return base, [p for p in parts[index:] if p]


def _names(folder: str) -> list[str]:
    """Sorted entry names of ``folder`` (``""``: the current folder); [] on error."""
    try:
        return sorted(os.listdir(folder or "."))
    except OSError:
        return []


def _walk_folders(top: str, skipped: list[tuple[Path, str]]) -> Iterator[str]:
    """``top`` and every non-hidden folder below it, not following symbolic links to
    folders (those go to ``skipped``, as in :func:`_scan_folder`)."""
    stack = [top]
    while stack:
        folder = stack.pop()
        yield folder
        subs: list[str] = []
        try:
            with os.scandir(folder or ".") as it:
                for entry in it:
                    if entry.name.startswith("."):
                        continue
                    path = os.path.join(folder, entry.name)
                    with contextlib.suppress(OSError):
                        if entry.is_dir(follow_symlinks=False):
                            subs.append(path)
                        elif entry.is_symlink() and os.path.isdir(path):
                            skipped.append((Path(path), "symbolic link to a folder (not followed)"))
        except OSError:
            continue
        stack.extend(sorted(subs, reverse=True))


def _match(
    folder: str, components: list[str], recursive: bool, skipped: list[tuple[Path, str]]
) -> Iterator[str]:
    """Paths below ``folder`` matching ``components`` (glob rules: ``*``, ``?`` and
    ``[...]`` within one name, ``**`` alone for any number of folders if ``recursive``,
    names starting with ``.`` matched only by a component starting with ``.``)."""
    component, rest = components[0], components[1:]
    if component == "**" and recursive:
        if not rest:  # "dir/**": the folder itself, expanded like a folder input
            yield folder or "."
            return
        for sub in _walk_folders(folder, skipped):
            yield from _match(sub, rest, recursive, skipped)
        return
    if _GLOB_CHARS.intersection(component):
        hidden_ok = component.startswith(".")
        names = [
            n
            for n in _names(folder)
            if (hidden_ok or not n.startswith(".")) and fnmatch.fnmatch(n, component)
        ]
    else:
        names = [component] if os.path.lexists(os.path.join(folder, component)) else []
    for name in names:
        path = os.path.join(folder, name)
        if not rest:
            yield path
        elif os.path.isdir(path):
            yield from _match(path, rest, recursive, skipped)


def _expand_pattern(
    pattern: str,
    recursive: bool,
    found: list[Path],
    skipped: list[tuple[Path, str]],
    extensions: frozenset[str] = IMAGE_EXTENSIONS,
) -> None:
    """Image files matching a glob pattern (``**`` spans folders if ``recursive``),
    sorted; matched folders are expanded like folder inputs, matched symbolic links to
    folders are skipped (as in folders)."""
    base, components = _split_components(pattern)
    if not components:
        return
    if base and not os.path.isdir(base):
        return
    links: list[tuple[Path, str]] = []  # symbolic links to folders met by "**"
    for match in sorted(set(_match(base, components, recursive, links))):
        path = Path(match)
        if os.path.isdir(path):
            if os.path.islink(path):  # the same rule as in folders
                skipped.append((path, "symbolic link to a folder (not followed)"))
            else:
                _scan_folder(path, recursive, found, skipped, extensions)
        elif _is_image_name(path.name, extensions):
            reason = not_regular_file_reason(path)
            if reason is None:
                found.append(path)
            else:
                skipped.append((path, reason))
    skipped.extend(sorted(set(links)))


# --------------------------------------------------------------------------- #
# Inputs to files
# --------------------------------------------------------------------------- #


def find_image_files(
    inputs: Iterable[str | Path],
    *,
    recursive: bool = True,
    extensions: frozenset[str] = IMAGE_EXTENSIONS,
) -> ImageFiles:
    """Expand files, folders and glob patterns into image files, and what was skipped.

    Args:
        inputs: each one is

            * an existing regular file (or a link to one): taken as it is, whatever
              its suffix;
            * an existing folder: its image files (suffix in :data:`IMAGE_EXTENSIONS`,
              any case), sorted by name, in sub-folders too if ``recursive``; hidden
              files and folders (``.name``) are ignored, symbolic links to folders are
              not followed;
            * an existing entry that is not a regular file or a folder (a FIFO, a
              device, a socket, a broken link, a link loop): skipped, with the reason;
            * otherwise a glob pattern (``*``, ``?``, ``[...]``, and ``**`` for any
              depth of folders if ``recursive``): the image files it matches, sorted,
              plus the image files of any folders it matches (symbolic links to
              folders among the matches are skipped, as in folders).

            Symbolic links to folders are thus followed only when named as an input
            (or in the fixed leading part of a pattern).

            ``~`` is expanded.  A single ``str`` or ``Path`` is taken as one input.
        recursive: descend into sub-folders (and let ``**`` match across folders).
        extensions: the lower-case suffixes picked up in folders and pattern matches
            (e.g. ``IMAGE_EXTENSIONS | VIDEO_EXTENSIONS`` to take videos too).

    Returns:
        :class:`ImageFiles`: the regular files in input order, each folder's or
        pattern's matches sorted, without duplicates (the first occurrence is kept;
        paths keep the form they were given in), and the skipped entries with their
        reasons.  Only ``os.stat``/``os.scandir`` are used: nothing is opened, so a
        FIFO or device never blocks, and every walk ends.

    Raises:
        FileNotFoundError: an input does not exist and is not a glob pattern, or a
            folder or pattern yields neither an image file nor a skipped entry.  The
            message names the input.
    """
    if isinstance(inputs, str | Path):
        inputs = [inputs]
    result = ImageFiles()
    seen: set[str] = set()
    for item in inputs:
        text = os.path.expanduser(os.fspath(item))
        path = Path(text)
        found: list[Path] = []
        skipped: list[tuple[Path, str]] = []
        try:
            mode: int | None = os.stat(text).st_mode
        except OSError as exc:
            mode = None
            missing = isinstance(exc, FileNotFoundError | NotADirectoryError)
            if os.path.lexists(text) or not missing:  # a link loop, a broken link, ...
                skipped.append((path, _os_error_reason(text, exc)))
            elif _GLOB_CHARS.intersection(text):
                _expand_pattern(text, recursive, found, skipped, extensions)
                if not found and not skipped:
                    raise FileNotFoundError(f"no image files match {text!r}") from None
            else:
                raise FileNotFoundError(f"no such file or folder: {text!r}") from None
        if mode is not None:
            if stat.S_ISDIR(mode):
                _scan_folder(path, recursive, found, skipped, extensions)
                if not found and not skipped:
                    raise FileNotFoundError(
                        f"no image files in folder {text!r}"
                        f"{'' if recursive else ' (not searching sub-folders)'}"
                    )
            else:
                reason = _mode_reason(mode)
                if reason is None:
                    found.append(path)
                else:
                    skipped.append((path, reason))
        for file in found:
            key = os.path.normcase(os.path.abspath(file))
            if key not in seen:
                seen.add(key)
                result.files.append(file)
        for bad, reason in skipped:
            key = os.path.normcase(os.path.abspath(bad))
            if key not in seen:
                seen.add(key)
                result.skipped.append((bad, reason))
    return result


def iter_image_files(inputs: Iterable[str | Path], *, recursive: bool = True) -> list[Path]:
    """The image files of :func:`find_image_files` (same arguments, rules and errors).

    Skipped entries (FIFOs, devices, broken links, link loops, links to folders, ...)
    are logged as warnings on the ``tinct.io.files`` logger; use
    :func:`find_image_files` to get them as data.

    Returns:
        The regular files in input order, each folder's or pattern's matches sorted,
        without duplicates (the first occurrence of a file is kept).  Paths keep the
        form they were given in (relative stays relative).
    """
    result = find_image_files(inputs, recursive=recursive)
    for path, reason in result.skipped:
        log.warning("skipping %s: %s", path, reason)
    return result.files


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
