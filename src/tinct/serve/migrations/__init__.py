"""Alembic migrations of the study database (:func:`tinct.serve.db.migrate` runs them)."""
