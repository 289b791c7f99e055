"""What the serve tests share: synthetic photos, a live uvicorn server on 127.0.0.1, and a
throw-away PostgreSQL server from Debian's ``postgresql`` package."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

POSTGRES_BIN = Path("/usr/lib/postgresql")


def photo(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """A smooth colourful RGB uint8 image (gradients and a disc), different per seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = rng.uniform(0, 6.28, 3)
    channels = [
        127 + 100 * np.sin(x / width * 3 + phase[c]) * np.cos(y / height * 2 + phase[c])
        for c in range(3)
    ]
    rgb = np.stack(channels, axis=2)
    disc = (x - width / 2) ** 2 + (y - height / 2) ** 2 < (min(height, width) / 4) ** 2
    rgb[disc] = rng.uniform(0, 255, 3)
    return rgb.clip(0, 255).astype(np.uint8)


def encoded(rgb: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, fmt)
    return buffer.getvalue()


def grey_png(height: int = 48, width: int = 64) -> bytes:
    return encoded(np.asarray(Image.fromarray(photo(height, width)).convert("L")))


def write_photos(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        Image.fromarray(photo(40 + index, 56, seed=index)).save(folder / f"scene{index:02d}.png")
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def live_server(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on 127.0.0.1; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def postgres_bindir() -> Path | None:
    """The bin folder of Debian's newest PostgreSQL, or None when it is not installed."""
    versions = sorted(POSTGRES_BIN.glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return versions[-1].parent if versions else None


SKIP_POSTGRES = (
    "PostgreSQL is not installed (Debian: apt-get install postgresql; .ci/run installs it)"
)


@contextlib.contextmanager
def local_postgres() -> Iterator[str]:
    """A PostgreSQL server of its own in a temporary folder, on a free 127.0.0.1 port,
    trust authentication; yields its SQLAlchemy URL and removes everything afterwards.
    As root it runs as the ``postgres`` user (PostgreSQL refuses root)."""
    bindir = postgres_bindir()
    if bindir is None:
        raise RuntimeError(SKIP_POSTGRES)
    folder = Path(tempfile.mkdtemp(prefix="tinct-pg-"))
    data = folder / "data"
    port = free_port()
    prefix: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]

    def run(*command: str) -> None:
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres", "-E", "UTF8")
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=on"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-l",
            str(folder / "log"), "start")  # fmt: skip
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
