"""``tinct serve``: an HTTP API and web page for colourising, and the naturalness study of
seed 004 (the BBC R&D master thesis, section 5.1.4) with its answers in a database.

- :mod:`tinct.serve.app`: :func:`create_app`, the FastAPI application;
- :mod:`tinct.serve.inference`: the bounded worker pool and upload decoding;
- :mod:`tinct.serve.study`: creating studies, participants' sessions, answers, results;
- :mod:`tinct.serve.db`: the tables (SQLAlchemy) and their migrations (Alembic);
- :mod:`tinct.serve.config`: :class:`ServeConfig`, the limits.

Needs the ``serve`` extra: ``pip install 'tinct[serve]'``.
"""

from __future__ import annotations

from tinct.serve.app import create_app
from tinct.serve.config import ServeConfig, default_database_url
from tinct.serve.db import make_engine, migrate

__all__ = ["ServeConfig", "create_app", "default_database_url", "make_engine", "migrate"]
