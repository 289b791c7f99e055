"""Running the app with uvicorn (what ``tinct serve`` does)."""

from __future__ import annotations

import logging

from tinct.serve.app import create_app
from tinct.serve.config import ServeConfig
from tinct.serve.db import make_engine, migrate

log = logging.getLogger(__name__)


def run(
    config: ServeConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    database: bool = True,
    log_level: str = "info",
) -> None:
    """Serve until interrupted: the study database is migrated to the newest schema first
    (created on first run) and every offered model is loaded before the first request."""
    import uvicorn

    from tinct.serve.config import default_database_url

    engine = None
    if database:
        engine = make_engine(config.database_url or default_database_url())
        migrate(engine)
    app = create_app(config, engine)
    for name in app.state.models.sources:  # load once, before anyone waits for it
        app.state.models.info(name)
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=5)
