"""Alembic's entry point: runs the migrations on the connection :func:`tinct.serve.db.migrate`
passes in ``config.attributes`` (there is no alembic.ini: the URL is the caller's)."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
