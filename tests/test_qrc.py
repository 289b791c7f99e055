from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from tinct.data.qrc import (
    FLAG_COMPRESSED,
    FLAG_COMPRESSED_ZSTD,
    FLAG_DIRECTORY,
    QrcArchive,
    QrcError,
    qt_hash,
    write_qrc,
)

FILES = {
    "top.txt": b"hello",
    "images/a.png": b"\x89PNG fake" * 50,
    "images/nested/deeper/b.webp": bytes(range(256)) * 20,
    "images/nested/c.jpg": b"",
    "other/d.bin": b"\x00" * 1000,
}


@pytest.mark.parametrize("version", [1, 2, 3])
@pytest.mark.parametrize("compress", [None, "zlib", "zstd"])
def test_round_trip(version: int, compress: str | None) -> None:
    blob = write_qrc(FILES, version=version, compress=compress)
    archive = QrcArchive(blob)
    assert archive.version == version
    assert archive.list() == sorted(FILES)
    assert len(archive) == len(FILES)
    for path, content in FILES.items():
        assert archive.read(path) == content
        assert archive.entry(path).compression == compress
    # Qt-style paths are accepted too.
    assert archive.read(":/images/a.png") == FILES["images/a.png"]
    assert "/top.txt" in archive
    assert "missing.txt" not in archive


def test_open_from_path(tmp_path: Path) -> None:
    path = tmp_path / "x.rcc"
    path.write_bytes(write_qrc(FILES, compress="zlib"))
    archive = QrcArchive(path)
    assert archive.read("other/d.bin") == FILES["other/d.bin"]
    assert str(path) in archive.name


def test_compression_flags_and_layout() -> None:
    blob = write_qrc({"d/f": b"x" * 100}, version=2, compress="zlib")
    magic, version, tree, data, _names = struct.unpack_from(">4s4I", blob)
    assert (magic, version, tree) == (b"qres", 2, 20)
    # root, "d", "f": 22-byte nodes in format 2
    assert data - tree == 3 * 22
    _, root_flags, count, first = struct.unpack_from(">IHII", blob, tree)
    assert root_flags == FLAG_DIRECTORY and (count, first) == (1, 1)
    _, f_flags, _, data_off = struct.unpack_from(">IHII", blob, tree + 2 * 22)
    assert f_flags == FLAG_COMPRESSED
    size, expected = struct.unpack_from(">II", blob, data + data_off)
    assert expected == 100  # qCompress' big-endian length prefix
    assert zlib.decompress(blob[data + data_off + 8 : data + data_off + 4 + size]) == b"x" * 100
    v3 = write_qrc({"f": b"y"}, version=3, compress="zstd")
    assert struct.unpack_from(">I", v3, 20)[0] == FLAG_COMPRESSED_ZSTD


def test_children_sorted_by_qt_hash() -> None:
    names = [f"file{i}.png" for i in range(30)]
    archive = QrcArchive(write_qrc({n: n.encode() for n in names}, version=1))
    first = archive._node(0)[3]
    hashes = [qt_hash(archive._name(archive._node(first + i)[0])) for i in range(30)]
    assert hashes == sorted(hashes)
    assert archive.list() == sorted(names)


def test_qt_hash_known_values() -> None:
    assert qt_hash("") == 0
    assert qt_hash("a") == ord("a")
    assert qt_hash("ab") == (ord("a") << 4) + ord("b")
    # long names fold the high nibble back in and stay within 28 bits
    assert 0 <= qt_hash("x" * 100) < (1 << 28)


def test_handmade_v1_archive() -> None:
    """An archive laid out as Qt's rcc writes it (data, names, then tree), built by hand."""

    def name(text: str) -> bytes:
        encoded = text.encode("utf-16-be")
        return struct.pack(">HI", len(text), qt_hash(text)) + encoded

    data = struct.pack(">I", 3) + b"abc"
    packed = zlib.compress(b"zz" * 10)
    data_off2 = len(data)
    data += struct.pack(">II", 4 + len(packed), 20) + packed
    names = name("dir")
    n_file1 = len(names)
    names += name("one.txt")
    n_file2 = len(names)
    names += name("two.txt")
    header_len = 20
    names_off = header_len + len(data)
    tree_off = names_off + len(names)
    tree = struct.pack(">IHII", 0, FLAG_DIRECTORY, 1, 1)  # root: 1 child at node 1
    tree += struct.pack(">IHII", 0, FLAG_DIRECTORY, 2, 2)  # dir: 2 children at node 2
    tree += struct.pack(">IHII", n_file1, 0, 0, 0)
    tree += struct.pack(">IHII", n_file2, FLAG_COMPRESSED, 0, data_off2)
    blob = b"qres" + struct.pack(">4I", 1, tree_off, header_len, names_off) + data + names + tree
    archive = QrcArchive(blob)
    assert archive.list() == ["dir/one.txt", "dir/two.txt"]
    assert archive.read("dir/one.txt") == b"abc"
    assert archive.read("dir/two.txt") == b"zz" * 10


def test_bad_magic(tmp_path: Path) -> None:
    with pytest.raises(QrcError, match="magic"):
        QrcArchive(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(QrcError, match="magic"):
        QrcArchive(b"")
    path = tmp_path / "bad.rcc"
    path.write_bytes(b"not an archive")
    with pytest.raises(QrcError, match=r"bad\.rcc"):
        QrcArchive(path)


def test_unsupported_version() -> None:
    blob = bytearray(write_qrc(FILES))
    blob[4:8] = struct.pack(">I", 7)
    with pytest.raises(QrcError, match="version 7"):
        QrcArchive(bytes(blob))


@pytest.mark.parametrize("cut", [3, 10, 22, 40])
def test_truncated_header_or_tree(cut: int) -> None:
    blob = write_qrc(FILES, version=3)
    with pytest.raises(QrcError):
        QrcArchive(blob[:cut])


def test_truncated_everywhere_raises_qrc_error_only() -> None:
    blob = write_qrc(FILES, version=2, compress="zlib")
    for cut in range(len(blob)):
        try:
            archive = QrcArchive(blob[:cut])
            for path in archive.list():
                archive.read(path)
        except QrcError:
            continue


def test_truncated_data_block() -> None:
    blob = bytearray(write_qrc({"big.bin": b"q" * 5000}, version=3))
    _, _, data, _ = struct.unpack_from(">4I", blob, 4)
    blob[data : data + 4] = struct.pack(">I", 10**6)  # block claims more bytes than exist
    archive = QrcArchive(bytes(blob))
    with pytest.raises(QrcError, match="truncated"):
        archive.read("big.bin")


def test_corrupt_compressed_block() -> None:
    blob = bytearray(write_qrc({"f": b"data" * 100}, compress="zlib"))
    _, _, data, _ = struct.unpack_from(">4I", blob, 4)
    blob[data + 10 : data + 20] = b"\xff" * 10
    with pytest.raises(QrcError, match="zlib"):
        QrcArchive(bytes(blob)).read("f")


def test_missing_member() -> None:
    with pytest.raises(QrcError, match="no file"):
        QrcArchive(write_qrc(FILES)).read("images/zzz.png")


def test_writer_rejects_conflicts() -> None:
    with pytest.raises(ValueError):
        write_qrc({"a": b"1", "a/b": b"2"})
    with pytest.raises(ValueError):
        write_qrc({"a": b"1"}, compress="lzma")
    with pytest.raises(ValueError):
        write_qrc({"a": b"1"}, version=4)
