"""Colourising uploads in a bounded worker pool.

Models are loaded once and shared (:func:`tinct.pipeline.cached_pipeline`); at most
``workers`` colourisations run at once and at most ``queue`` more wait, so a burst of
requests queues instead of exhausting memory, and the request after that is refused at
once (:class:`PoolFull`, a 503 with Retry-After) rather than piling up.
"""

from __future__ import annotations

import asyncio
import io
import os
import tempfile
import threading
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from PIL import Image, UnidentifiedImageError

from tinct.io import ImageReadError, read_image_numpy
from tinct.pipeline import cached_pipeline

T = TypeVar("T")


class PoolFull(Exception):
    """Every worker is busy and the queue is full."""


class UploadError(Exception):
    """An upload that cannot be colourised; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class WorkerPool:
    """``workers`` threads and room for ``queue`` waiting jobs; :meth:`run` refuses a job
    with :class:`PoolFull` when both are taken."""

    def __init__(self, workers: int, queue: int) -> None:
        self.workers = workers
        self.capacity = workers + queue
        self._slots = threading.BoundedSemaphore(self.capacity)
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="tinct-serve")
        self._lock = threading.Lock()
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        """Jobs running or waiting now."""
        return self._in_flight

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on a worker thread and wait for it without blocking the loop.

        The slot is freed when the job ends, not when the caller stops waiting: a client
        that hangs up does not make room for more jobs than the pool holds."""
        if not self._slots.acquire(blocking=False):
            raise PoolFull
        with self._lock:
            self._in_flight += 1
        try:
            future = self._executor.submit(fn, *args)
        except BaseException:
            self._release()
            raise
        future.add_done_callback(lambda _: self._release())
        return await asyncio.wrap_future(future)

    def _release(self) -> None:
        with self._lock:
            self._in_flight -= 1
        self._slots.release()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def sniff(data: bytes) -> tuple[str, int, int]:
    """Pillow's format name of an upload (``"PNG"``, ``"JPEG"``...) and its width and
    height, from its header only; :class:`UploadError` 415 when it is no image at all."""
    if not data:
        raise UploadError(400, "empty_file", "the uploaded file is empty")
    try:
        with Image.open(io.BytesIO(data)) as im:
            return str(im.format), im.size[0], im.size[1]
    except Image.DecompressionBombError as exc:  # over Pillow's ~179 MP, so over any limit
        raise UploadError(413, "too_many_pixels", f"the image is too large: {exc}") from None
    except UnidentifiedImageError:
        raise UploadError(415, "not_an_image", "the uploaded file is not an image") from None
    except Exception as exc:  # a header Pillow recognises but cannot parse
        raise UploadError(400, "corrupt_image", f"the image header is corrupt ({exc})") from None


def decode_upload(data: bytes, max_pixels: int) -> np.ndarray:
    """The upload as an upright RGB uint8 ``(H, W, 3)`` array, read by :mod:`tinct.io`
    (16-bit, transparency, EXIF orientation handled there); too many pixels -> 413,
    corrupt or truncated data -> 400."""
    fd, path = tempfile.mkstemp(prefix="tinct-upload-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        try:
            return read_image_numpy(path, max_pixels=max_pixels)
        except ImageReadError as exc:
            if "over the limit" in exc.reason:  # sniff() checks first; this is a backstop
                raise UploadError(413, "too_many_pixels", exc.reason) from None
            raise UploadError(
                400, "corrupt_image", f"cannot read the image: {exc.reason}"
            ) from None
    finally:
        os.unlink(path)


def encode(rgb: np.ndarray, fmt: str, quality: int = 92) -> bytes:
    """An RGB uint8 array as PNG, JPEG or WebP bytes."""
    buffer = io.BytesIO()
    image = Image.fromarray(rgb)
    if fmt == "png":
        image.save(buffer, "PNG", compress_level=3)
    elif fmt == "jpeg":
        image.save(buffer, "JPEG", quality=quality)
    else:
        image.save(buffer, "WEBP", quality=quality)
    return buffer.getvalue()


@dataclass(frozen=True)
class Job:
    """One colourisation request, checked: model source, options, output format."""

    model: str
    size: int | None
    temperature: float | None
    saturation: float
    samples: int | None
    seed: int | None
    fmt: str


def colourise_upload(data: bytes, job: Job, max_pixels: int) -> list[bytes]:
    """Decode, colourise and encode (on a worker thread): one encoded image per sample."""
    rgb = decode_upload(data, max_pixels)
    pipeline = cached_pipeline(
        job.model, size=job.size, temperature=job.temperature, saturation=job.saturation
    )
    if job.samples is None and job.seed is None:
        outputs = [pipeline(rgb).permute(1, 2, 0).numpy()]
    else:
        drawn = pipeline.samples(rgb, job.samples or 1, seed=job.seed)
        outputs = [o.permute(1, 2, 0).numpy() for o in drawn]
    return [encode(o, job.fmt) for o in outputs]


def zip_samples(images: list[bytes], stem: str, fmt: str) -> bytes:
    """Several encoded samples in one zip: ``<stem>_1.<ext>`` ... ``<stem>_N.<ext>``."""
    ext = "jpg" if fmt == "jpeg" else fmt
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for index, data in enumerate(images, 1):
            archive.writestr(f"{stem}_{index}.{ext}", data)
    return buffer.getvalue()
