"""Reader (and a small writer) for Qt's binary resource format (``.rcc``, magic ``qres``).

The layout, as written by Qt's ``rcc`` tool (formats 1-3)::

    header   "qres", u32 version, u32 tree offset, u32 data offset, u32 names offset,
             [u32 flags, version >= 3]                          (all big-endian)
    tree     fixed-size nodes, the root first; node i lies at tree + i * node_size
               u32 name offset, u16 flags,
               directory: u32 child count, u32 index of the first child
               file:      u16 territory, u16 language, u32 data offset
               [u64 last-modified in ms, version >= 2]
             -> 14 bytes (v1) or 22 bytes (v2, v3); a directory's children are
             consecutive nodes sorted by name hash
    names    u16 length (UTF-16 code units), u32 qt_hash, UTF-16BE text
    data     u32 size, then the bytes; flag Compressed (1) = qCompress (u32 big-endian
             uncompressed size, then a zlib stream), CompressedZstd (4) = a zstd frame

``QrcArchive(path_or_bytes).list()`` gives the file paths ("dir/sub/name.webp");
``.read(path)`` their contents. ``write_qrc`` makes archives in the same format (for tests).
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["QrcArchive", "QrcEntry", "QrcError", "qt_hash", "write_qrc"]

MAGIC = b"qres"
FLAG_COMPRESSED = 0x01
FLAG_DIRECTORY = 0x02
FLAG_COMPRESSED_ZSTD = 0x04
_MAX_DEPTH = 256


class QrcError(ValueError):
    """A malformed, truncated or unsupported Qt resource archive, or a missing member."""


@dataclass(frozen=True)
class QrcEntry:
    """One file node of an archive."""

    path: str
    flags: int
    data_offset: int
    territory: int
    language: int
    last_modified: int  # milliseconds since the epoch; 0 in format 1

    @property
    def compression(self) -> str | None:
        if self.flags & FLAG_COMPRESSED_ZSTD:
            return "zstd"
        if self.flags & FLAG_COMPRESSED:
            return "zlib"
        return None


def qt_hash(name: str) -> int:
    """Qt's ``qt_hash`` of a name (over UTF-16 code units), as stored in the names table."""
    h = 0
    units = name.encode("utf-16-be")
    for i in range(0, len(units), 2):
        h = (h << 4) + ((units[i] << 8) | units[i + 1])
        h ^= (h & 0xF0000000) >> 23
        h &= 0x0FFFFFFF
    return h


def _normalise(path: str) -> str:
    if path.startswith(":"):
        path = path[1:]
    return "/".join(p for p in path.split("/") if p)


class QrcArchive:
    """A Qt binary resource archive, read fully into memory.

    ``source`` is a path or the archive's bytes. Raises :class:`QrcError` on a bad magic,
    an unsupported version, or offsets that point outside the data.
    """

    def __init__(self, source: str | os.PathLike[str] | bytes | bytearray | memoryview) -> None:
        if isinstance(source, bytes | bytearray | memoryview):
            self.name = "<bytes>"
            self._buf = bytes(source)
        else:
            self.name = os.fspath(source)
            self._buf = Path(source).read_bytes()
        self._parse_header()
        self._entries: dict[str, QrcEntry] = {}
        self._walk()

    # -- parsing ---------------------------------------------------------------------------

    def _err(self, msg: str) -> QrcError:
        return QrcError(f"{self.name}: {msg}")

    def _unpack(self, fmt: str, offset: int, what: str) -> tuple[int, ...]:
        size = struct.calcsize(fmt)
        if offset < 0 or offset + size > len(self._buf):
            raise self._err(
                f"truncated: {what} at offset {offset} needs {size} bytes "
                f"but the archive has {len(self._buf)}"
            )
        return struct.unpack_from(fmt, self._buf, offset)

    def _parse_header(self) -> None:
        if len(self._buf) < 4 or self._buf[:4] != MAGIC:
            raise self._err(
                f"not a Qt resource archive (magic {self._buf[:4]!r}, expected b'qres')"
            )
        version, tree, data, names = self._unpack(">4I", 4, "header")
        if version not in (1, 2, 3):
            raise self._err(f"unsupported qres format version {version} (1-3 are supported)")
        self.version: int = version
        self.flags: int = self._unpack(">I", 20, "header flags")[0] if version >= 3 else 0
        for label, off in (("tree", tree), ("data", data), ("names", names)):
            if off > len(self._buf):
                raise self._err(
                    f"truncated: {label} offset {off} is past the end ({len(self._buf)})"
                )
        self._tree, self._data, self._names = tree, data, names
        self._node_size = 14 if version == 1 else 22

    def _name(self, offset: int) -> str:
        (length,) = self._unpack(">H", self._names + offset, "name length")
        start = self._names + offset + 6
        end = start + 2 * length
        if end > len(self._buf):
            raise self._err(f"truncated: name at names+{offset} runs past the end")
        try:
            return self._buf[start:end].decode("utf-16-be")
        except UnicodeDecodeError as e:
            raise self._err(f"bad name at names+{offset}: {e}") from e

    def _node(self, index: int) -> tuple[int, int, int, int, int]:
        """(name offset, flags, a, b, last-modified) of node ``index``."""
        off = self._tree + index * self._node_size
        name_off, flags, a, b = self._unpack(">IHII", off, f"tree node {index}")
        mtime = self._unpack(">Q", off + 14, f"tree node {index}")[0] if self.version >= 2 else 0
        return name_off, flags, a, b, mtime

    def _walk(self) -> None:
        _, root_flags, count, first, _ = self._node(0)
        if not root_flags & FLAG_DIRECTORY:
            raise self._err("the root tree node is not a directory")
        stack: list[tuple[str, int, int, int]] = [("", count, first, 0)]
        seen_dirs: set[int] = {0}
        while stack:
            prefix, count, first, depth = stack.pop()
            if depth > _MAX_DEPTH:
                raise self._err("directory tree too deep (corrupt archive?)")
            for index in range(first, first + count):
                name_off, flags, a, b, mtime = self._node(index)
                path = f"{prefix}{self._name(name_off)}"
                if flags & FLAG_DIRECTORY:
                    if index in seen_dirs:
                        raise self._err(f"directory node {index} is reached twice (corrupt tree)")
                    seen_dirs.add(index)
                    stack.append((path + "/", a, b, depth + 1))
                else:
                    # a = territory << 16 | language; the same path may appear once per locale:
                    # keep the first (the default locale sorts first in rcc output).
                    if path not in self._entries:
                        self._entries[path] = QrcEntry(path, flags, b, a >> 16, a & 0xFFFF, mtime)

    # -- public API ------------------------------------------------------------------------

    def list(self) -> list[str]:
        """All file paths in the archive, sorted ("a/b/c.png", no leading slash)."""
        return sorted(self._entries)

    def entries(self) -> Iterator[QrcEntry]:
        for path in self.list():
            yield self._entries[path]

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and _normalise(path) in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def entry(self, path: str) -> QrcEntry:
        try:
            return self._entries[_normalise(path)]
        except KeyError:
            raise self._err(f"no file {path!r} in the archive") from None

    def read(self, path: str) -> bytes:
        """The (decompressed) contents of file ``path`` (a leading ``/`` or ``:/`` is allowed)."""
        entry = self.entry(path)
        where = self._data + entry.data_offset
        (size,) = self._unpack(">I", where, f"data size of {entry.path!r}")
        start = where + 4
        if start + size > len(self._buf):
            raise self._err(f"truncated: data of {entry.path!r} runs past the end of the archive")
        blob = self._buf[start : start + size]
        if entry.flags & FLAG_COMPRESSED_ZSTD:
            return self._unzstd(blob, entry.path)
        if entry.flags & FLAG_COMPRESSED:
            return self._unzlib(blob, entry.path)
        return blob

    def _unzlib(self, blob: bytes, path: str) -> bytes:
        if len(blob) < 4:
            raise self._err(f"truncated zlib block for {path!r}")
        (expected,) = struct.unpack(">I", blob[:4])
        try:
            out = zlib.decompress(blob[4:])
        except zlib.error as e:
            raise self._err(f"corrupt zlib data for {path!r}: {e}") from e
        if len(out) != expected:
            raise self._err(f"{path!r}: zlib block gave {len(out)} bytes, header says {expected}")
        return out

    def _unzstd(self, blob: bytes, path: str) -> bytes:
        try:
            import zstandard
        except ImportError as e:  # pragma: no cover - zstandard is a dependency
            raise self._err(f"{path!r} is zstd-compressed: pip install zstandard") from e
        try:
            return zstandard.ZstdDecompressor().decompress(blob, max_output_size=1 << 31)
        except zstandard.ZstdError as e:
            raise self._err(f"corrupt zstd data for {path!r}: {e}") from e


# -- writer ------------------------------------------------------------------------------


def write_qrc(
    files: Mapping[str, bytes],
    *,
    version: int = 3,
    compress: str | None = None,
    last_modified: int = 0,
) -> bytes:
    """An archive holding ``files`` ({"dir/name": bytes}) in Qt's binary format.

    ``compress`` is None, "zlib" (qCompress framing) or "zstd"; it applies to every file.
    Nodes are laid out breadth-first with each directory's children sorted by ``qt_hash``,
    as Qt's rcc does, so Qt itself could read the result.
    """
    if version not in (1, 2, 3):
        raise ValueError(f"version must be 1, 2 or 3, not {version}")
    if compress not in (None, "zlib", "zstd"):
        raise ValueError(f"compress must be None, 'zlib' or 'zstd', not {compress!r}")

    # Build a nested dict tree: dir -> {name: subtree | bytes}.
    root: dict[str, object] = {}
    for raw_path, content in files.items():
        parts = _normalise(raw_path).split("/")
        if parts == [""]:
            raise ValueError(f"empty path {raw_path!r}")
        node = root
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"{raw_path!r}: {part!r} is both a file and a directory")
            node = child
        if parts[-1] in node:
            raise ValueError(f"duplicate or conflicting path {raw_path!r}")
        node[parts[-1]] = bytes(content)

    names = bytearray()
    name_offsets: dict[str, int] = {}

    def name_offset(name: str) -> int:
        if name not in name_offsets:
            name_offsets[name] = len(names)
            encoded = name.encode("utf-16-be")
            names.extend(struct.pack(">HI", len(encoded) // 2, qt_hash(name)) + encoded)
        return name_offsets[name]

    data = bytearray()
    file_flags = 0
    if compress == "zlib":
        file_flags = FLAG_COMPRESSED
    elif compress == "zstd":
        file_flags = FLAG_COMPRESSED_ZSTD

    def add_data(content: bytes) -> int:
        offset = len(data)
        if compress == "zlib":
            blob = struct.pack(">I", len(content)) + zlib.compress(content, 9)
        elif compress == "zstd":
            import zstandard

            blob = zstandard.ZstdCompressor(level=19).compress(content)
        else:
            blob = content
        data.extend(struct.pack(">I", len(blob)) + blob)
        return offset

    # Breadth-first: nodes[i] = (name, flags, a, b); directories' children are contiguous.
    nodes: list[list[int]] = [[0, FLAG_DIRECTORY, 0, 0]]
    queue: list[tuple[int, dict[str, object]]] = [(0, root)]
    while queue:
        index, directory = queue.pop(0)
        children = sorted(directory.items(), key=lambda kv: qt_hash(kv[0]))
        nodes[index][2] = len(children)
        nodes[index][3] = len(nodes)
        for name, child in children:
            child_index = len(nodes)
            if isinstance(child, dict):
                nodes.append([name_offset(name), FLAG_DIRECTORY, 0, 0])
                queue.append((child_index, child))
            else:
                assert isinstance(child, bytes)
                nodes.append([name_offset(name), file_flags, 0, add_data(child)])

    tree = bytearray()
    for name_off, flags, a, b in nodes:
        tree.extend(struct.pack(">IHII", name_off, flags, a, b))
        if version >= 2:
            tree.extend(struct.pack(">Q", last_modified))

    header_size = 24 if version >= 3 else 20
    tree_off = header_size
    data_off = tree_off + len(tree)
    names_off = data_off + len(data)
    header = MAGIC + struct.pack(">4I", version, tree_off, data_off, names_off)
    if version >= 3:
        header += struct.pack(">I", file_flags)
    return bytes(header + tree + data + names)
