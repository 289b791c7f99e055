"""The settings of ``tinct serve``: limits, worker pool, models offered, database."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

#: Formats an upload may have (Pillow's names) unless configured otherwise; MPO is the
#: multi-picture JPEG many cameras and phones write.
DEFAULT_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "BMP", "TIFF", "GIF")

#: Formats a colourised image can be returned in (the ``format`` option).
OUTPUT_FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


@dataclass(frozen=True)
class ServeConfig:
    """What ``tinct serve`` allows and how it runs.

    Args:
        max_upload_bytes: largest uploaded file (413 above it).
        max_pixels: largest image, width x height, checked from its header (413 above it).
        formats: upload formats accepted (Pillow names, e.g. "JPEG"); others get 415.
        workers: colourisations running at once (threads sharing the loaded models).
        queue: requests allowed to wait for a worker; one more gets 503 with Retry-After.
        max_samples: most colourisations one request may ask for.
        models: model names offered, mapped to a bundled name or a model file.
        database_url: SQLAlchemy URL of the study database (SQLite file by default).
    """

    max_upload_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000
    formats: tuple[str, ...] = DEFAULT_FORMATS
    workers: int = 1
    queue: int = 8
    max_samples: int = 8
    models: dict[str, str] = field(default_factory=dict)
    database_url: str | None = None

    def __post_init__(self) -> None:
        for name in ("max_upload_bytes", "max_pixels", "workers", "max_samples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.queue, bool) or not isinstance(self.queue, int) or self.queue < 0:
            raise ValueError(f"queue must be an integer >= 0, got {self.queue!r}")
        unknown = [f for f in self.formats if f.upper() not in DEFAULT_FORMATS]
        if unknown:
            raise ValueError(
                f"unknown upload format(s) {unknown}; known: {', '.join(DEFAULT_FORMATS)}"
            )


def default_database_url() -> str:
    """``sqlite:///`` of ``$TINCT_HOME/studies.db`` (``~/.tinct/studies.db`` by default)."""
    home = Path(os.environ.get("TINCT_HOME", Path.home() / ".tinct"))
    return f"sqlite:///{home / 'studies.db'}"
