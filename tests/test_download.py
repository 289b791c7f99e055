"""Downloads (resume, checksums, offline), archive extraction and ``download=True`` datasets.

Nothing here touches the network: ``urllib.request.urlopen`` is replaced by a fake server,
and an autouse fixture makes any attempt to open a connection fail the test.
"""

from __future__ import annotations

import dataclasses
import email.message
import hashlib
import io
import os
import socket
import tarfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fake_datasets import tar_gz_bytes, write_cifar10
from tinct.data import cifar as cifar_mod
from tinct.data.base import DatasetError
from tinct.data.download import DownloadError, Resource, download, ensure_dataset, extract

URL = "https://data.example.org/sets/thing.tar.gz"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


class FakeResponse:
    """What ``urlopen`` returns: status, headers, a body read in small pieces."""

    def __init__(
        self,
        body: bytes,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        fail_after: int | None = None,
    ) -> None:
        self.body = body
        self.status = status
        self.headers = headers if headers is not None else {"Content-Length": str(len(body))}
        self.fail_after = fail_after
        self.pos = 0

    def read(self, n: int = -1) -> bytes:
        if self.fail_after is not None and self.pos >= self.fail_after:
            raise ConnectionResetError(104, "Connection reset by peer")
        n = len(self.body) if n < 0 else n
        end = min(self.pos + min(n, 64), len(self.body))
        if self.fail_after is not None:
            end = min(end, self.fail_after)
        block = self.body[self.pos : end]
        self.pos = end
        return block

    def close(self) -> None:
        pass

    def __enter__(self) -> FakeResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FakeServer:
    """Serves ``content`` at any URL; honours ``Range`` if ``ranges``; the first
    ``failures`` responses break off after ``fail_after`` bytes of their body."""

    def __init__(
        self,
        content: bytes,
        *,
        ranges: bool = True,
        fail_after: int | None = None,
        failures: int = 0,
    ) -> None:
        self.content = content
        self.ranges = ranges
        self.fail_after = fail_after
        self.failures = failures
        self.requests: list[urllib.request.Request] = []

    def __call__(self, request: urllib.request.Request, timeout: float | None = None) -> Any:
        self.requests.append(request)
        fail = self.fail_after if self.failures > 0 else None
        self.failures -= 1
        header = request.get_header("Range")
        if header and self.ranges:
            start = int(header.removeprefix("bytes=").rstrip("-"))
            if start >= len(self.content):
                raise urllib.error.HTTPError(
                    request.full_url, 416, "Range Not Satisfiable", email.message.Message(), None
                )
            body = self.content[start:]
            headers = {
                "Content-Length": str(len(body)),
                "Content-Range": f"bytes {start}-{len(self.content) - 1}/{len(self.content)}",
            }
            return FakeResponse(body, status=206, headers=headers, fail_after=fail)
        return FakeResponse(self.content, fail_after=fail)


def _resource(content: bytes, **changes: Any) -> Resource:
    res = Resource(URL, "thing.tar.gz", md5=hashlib.md5(content).hexdigest(), size=len(content))
    return dataclasses.replace(res, **changes)


@pytest.fixture()
def content() -> bytes:
    return np.random.default_rng(0).integers(0, 256, 1000, dtype=np.uint8).tobytes()


def _serve(monkeypatch: pytest.MonkeyPatch, server: FakeServer) -> FakeServer:
    monkeypatch.setattr(urllib.request, "urlopen", server)
    return server


# -- download -----------------------------------------------------------------------------


def test_download_verifies_and_skips_existing(
    tmp_path: Path, content: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = _serve(monkeypatch, FakeServer(content))
    path = download(_resource(content), tmp_path / "dl", progress=False)
    assert path == tmp_path / "dl" / "thing.tar.gz"
    assert path.read_bytes() == content
    assert not (tmp_path / "dl" / "thing.tar.gz.part").exists()
    assert len(server.requests) == 1
    assert server.requests[0].full_url == URL
    assert server.requests[0].get_header("Range") is None
    # Present with the right checksum: not downloaded again.
    assert download(_resource(content), tmp_path / "dl", progress=False) == path
    assert len(server.requests) == 1


def test_download_sha256_and_progress_bar(
    tmp_path: Path, content: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve(monkeypatch, FakeServer(content))
    res = _resource(content, md5=None, sha256=hashlib.sha256(content).hexdigest())
    assert download(res, tmp_path, progress=True).read_bytes() == content


def test_existing_file_with_wrong_checksum_is_replaced(
    tmp_path: Path, content: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = _serve(monkeypatch, FakeServer(content))
    (tmp_path / "thing.tar.gz").write_bytes(b"stale")
    assert download(_resource(content), tmp_path, progress=False).read_bytes() == content
    assert len(server.requests) == 1


def test_checksum_mismatch(tmp_path: Path, content: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    _serve(monkeypatch, FakeServer(content))
    res = _resource(content, md5="0" * 32)
    with pytest.raises(DownloadError) as info:
        download(res, tmp_path, progress=False)
    message = str(info.value)
    assert URL in message
    assert "0" * 32 in message and hashlib.md5(content).hexdigest() in message
    assert not (tmp_path / "thing.tar.gz").exists()
    assert not (tmp_path / "thing.tar.gz.part").exists()


@pytest.mark.parametrize("ranges", [True, False], ids=["206-partial", "200-ignores-range"])
def test_interrupted_download_resumes(
    tmp_path: Path, content: bytes, monkeypatch: pytest.MonkeyPatch, ranges: bool
) -> None:
    server = _serve(monkeypatch, FakeServer(content, ranges=ranges, fail_after=384, failures=1))
    res = _resource(content)
    with pytest.raises(DownloadError, match="resume") as info:
        download(res, tmp_path, progress=False)
    assert URL in str(info.value)
    part = tmp_path / "thing.tar.gz.part"
    assert part.read_bytes() == content[:384]
    assert not (tmp_path / "thing.tar.gz").exists()

    path = download(res, tmp_path, progress=False)
    assert server.requests[1].get_header("Range") == "bytes=384-"
    assert path.read_bytes() == content
    assert not part.exists()


def test_connection_closed_early_keeps_part(
    tmp_path: Path, content: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    def short(request: urllib.request.Request, timeout: float | None = None) -> FakeResponse:
        return FakeResponse(content[:300], headers={"Content-Length": str(len(content))})

    monkeypatch.setattr(urllib.request, "urlopen", short)
    with pytest.raises(DownloadError, match="300 of 1000 bytes"):
        download(_resource(content), tmp_path, progress=False)
    assert (tmp_path / "thing.tar.gz.part").stat().st_size == 300


def test_complete_part_file_and_416(
    tmp_path: Path, content: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = _serve(monkeypatch, FakeServer(content))
    (tmp_path / "thing.tar.gz.part").write_bytes(content)
    assert download(_resource(content), tmp_path, progress=False).read_bytes() == content
    assert server.requests[0].get_header("Range") == f"bytes={len(content)}-"


def test_part_file_that_does_not_match_restarts(
    tmp_path: Path, content: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve(monkeypatch, FakeServer(content))
    (tmp_path / "thing.tar.gz.part").write_bytes(b"x" * 100)
    # Resuming appends the server's bytes to a wrong prefix: the checksum fails and the part
    # file is deleted, so the next call starts from zero.
    with pytest.raises(DownloadError, match="checksum"):
        download(_resource(content), tmp_path, progress=False)
    assert download(_resource(content), tmp_path, progress=False).read_bytes() == content


@pytest.mark.parametrize(
    "error",
    [
        urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution")),
        urllib.error.URLError(OSError(101, "Network is unreachable")),
        TimeoutError("timed out"),
    ],
    ids=["dns", "unreachable", "timeout"],
)
def test_offline(
    tmp_path: Path, content: bytes, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    def offline(request: urllib.request.Request, timeout: float | None = None) -> None:
        raise error

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DownloadError) as info:
        download(_resource(content), tmp_path / "data", progress=False)
    message = str(info.value)
    assert URL in message
    assert "cannot reach" in message
    assert f"download the file yourself from {URL}" in message
    assert str(tmp_path / "data" / "thing.tar.gz") in message
    assert info.value.url == URL


def test_http_error(tmp_path: Path, content: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(request: urllib.request.Request, timeout: float | None = None) -> None:
        raise urllib.error.HTTPError(URL, 404, "Not Found", email.message.Message(), None)

    monkeypatch.setattr(urllib.request, "urlopen", missing)
    with pytest.raises(DownloadError, match="HTTP 404 Not Found"):
        download(_resource(content), tmp_path, progress=False)


def test_file_url_through_real_urllib(tmp_path: Path, content: bytes) -> None:
    source = tmp_path / "mirror" / "thing.tar.gz"
    source.parent.mkdir()
    source.write_bytes(content)
    res = _resource(content, url=source.as_uri())
    assert download(res, tmp_path / "dl", progress=False).read_bytes() == content


# -- extract ------------------------------------------------------------------------------


def _tar(path: Path, members: dict[str, bytes], *, gz: bool = True) -> Path:
    with tarfile.open(path, "w:gz") if gz else tarfile.open(path, "w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _leftovers(dest: Path) -> list[str]:
    return [p.name for p in dest.iterdir() if p.name.startswith(".extract-")]


@pytest.mark.parametrize("kind", ["tar.gz", "tgz", "tar", "zip"])
def test_extract(tmp_path: Path, kind: str) -> None:
    members = {"ds/a.txt": b"alpha", "ds/sub/b.bin": b"\x00\x01", "top.txt": b"t"}
    archive = tmp_path / f"a.{kind}"
    if kind == "zip":
        _zip(archive, members)
    else:
        _tar(archive, members, gz=kind != "tar")
    dest = tmp_path / "out"
    placed = extract(archive, dest)
    assert sorted(p.name for p in placed) == ["ds", "top.txt"]
    assert (dest / "ds" / "a.txt").read_bytes() == b"alpha"
    assert (dest / "ds" / "sub" / "b.bin").read_bytes() == b"\x00\x01"
    assert _leftovers(dest) == []
    # Extracting again into an existing folder merges.
    (dest / "ds" / "mine.txt").write_text("kept")
    extract(archive, dest)
    assert (dest / "ds" / "mine.txt").read_text() == "kept"


@pytest.mark.parametrize("name", ["../evil.txt", "ds/../../evil.txt", "/tmp/evil-abs.txt"])
@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_extract_refuses_path_traversal(tmp_path: Path, kind: str, name: str) -> None:
    archive = tmp_path / f"bad.{kind}"
    members = {"ds/ok.txt": b"fine", name: b"evil"}
    if kind == "zip":
        _zip(archive, members)
    else:
        _tar(archive, members)
    dest = tmp_path / "out"
    with pytest.raises(DatasetError, match="unsafe archive") as info:
        extract(archive, dest)
    assert str(archive) in str(info.value)
    assert not (tmp_path / "evil.txt").exists()
    assert not Path("/tmp/evil-abs.txt").exists()
    assert not (dest / "ds").exists()  # nothing half-extracted
    assert _leftovers(dest) == []


def test_extract_refuses_link_outside(tmp_path: Path) -> None:
    archive = tmp_path / "link.tar"
    with tarfile.open(archive, "w") as tf:
        info = tarfile.TarInfo("ds/passwd")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tf.addfile(info)
        info = tarfile.TarInfo("ds/up")
        info.type = tarfile.SYMTYPE
        info.linkname = "../../outside"
        tf.addfile(info)
    with pytest.raises(DatasetError, match="unsafe archive"):
        extract(archive, tmp_path / "out")
    assert not (tmp_path / "out" / "ds").exists()


def test_interrupted_extraction_leaves_no_dataset_folder(tmp_path: Path) -> None:
    fake = write_cifar10(tmp_path / "src", n_per_batch=2)
    data = tar_gz_bytes(fake.folder)
    archive = tmp_path / "cifar.tar.gz"
    archive.write_bytes(data[: len(data) // 2])
    dest = tmp_path / "out"
    with pytest.raises(DatasetError, match="corrupt or truncated") as info:
        extract(archive, dest)
    assert str(archive) in str(info.value)
    assert list(dest.iterdir()) == []


def test_extract_unknown_format(tmp_path: Path) -> None:
    junk = tmp_path / "file.bin"
    junk.write_bytes(b"not an archive")
    with pytest.raises(DatasetError, match=r"file\.bin"):
        extract(junk, tmp_path / "out")


# -- ensure_dataset and download=True -----------------------------------------------------


def test_ensure_dataset_without_download(tmp_path: Path) -> None:
    res = Resource(URL, "thing.tar.gz", md5=None, size=170_498_071)
    folder = tmp_path / "thing"
    with pytest.raises(DatasetError) as info:
        ensure_dataset(folder, [res], tmp_path, download=False, progress=False, name="thing")
    message = str(info.value)
    assert str(folder) in message
    assert "download=True" in message
    assert "tinct data download thing" in message
    assert "root" in message and "170.5 MB" in message
    folder.mkdir()
    assert ensure_dataset(folder, [res], tmp_path, download=False, name="thing") == folder


@pytest.fixture()
def cifar_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Any, FakeServer]]:
    fake = write_cifar10(tmp_path / "build", n_per_batch=2)
    data = tar_gz_bytes(fake.folder)
    res = dataclasses.replace(cifar_mod.CIFAR10_RESOURCE, md5=hashlib.md5(data).hexdigest())
    monkeypatch.setattr(cifar_mod, "CIFAR10_RESOURCE", res)
    server = _serve(monkeypatch, FakeServer(data))
    yield fake, server


def test_cifar10_download_end_to_end(tmp_path: Path, cifar_archive: tuple[Any, FakeServer]) -> None:
    fake, server = cifar_archive
    root = tmp_path / "datasets"
    with pytest.raises(DatasetError, match="download=True"):
        cifar_mod.CIFAR10(root)
    assert server.requests == []

    ds = cifar_mod.CIFAR10(root, download=True, progress=False)
    assert server.requests[0].full_url == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert (root / "cifar-10-python.tar.gz").is_file()
    assert (root / "cifar-10-batches-py" / "data_batch_5").is_file()
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == []
    assert len(ds) == 10
    np.testing.assert_array_equal(ds.data, fake.splits["train"].images)
    assert ds.targets == fake.splits["train"].labels.tolist()

    test = cifar_mod.CIFAR10(root, "test", download=True, progress=False)
    assert len(test) == 2
    assert len(server.requests) == 1  # present: not downloaded again


def test_cifar10_download_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(request: urllib.request.Request, timeout: float | None = None) -> None:
        raise urllib.error.URLError(OSError(101, "Network is unreachable"))

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DownloadError) as info:
        cifar_mod.CIFAR10(tmp_path, download=True, progress=False)
    message = str(info.value)
    assert cifar_mod.CIFAR10_RESOURCE.url in message
    assert os.fspath(tmp_path / "cifar-10-python.tar.gz") in message
    assert not (tmp_path / "cifar-10-batches-py").exists()
