"""The study database: tables, engine, and schema versions (Alembic migrations).

SQLite file by default, PostgreSQL (or any SQLAlchemy URL) by ``--database-url``. The
schema is created on first use by running the migrations in ``migrations/versions`` up
to the newest (:func:`migrate`), so a later schema change is one more migration file
and existing databases are upgraded in place; ``alembic_version`` records where a
database stands.

Integrity rules the tables carry: one answer per participant and item
(``uq_answer_participant_image``), one position and one image per participant's list,
answers only "real" or "colourised", and images unique per study, scene and condition.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)

MIGRATIONS = Path(__file__).parent / "migrations"

metadata = MetaData()

studies = Table(
    "studies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("admin_token_sha256", String(64), nullable=False),
    Column("items_per_participant", Integer, nullable=False),
    Column("conditions", Text, nullable=False),  # JSON list: "real", then the models
    Column("description", Text, nullable=False),
)

images = Table(
    "images",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("study_id", Integer, ForeignKey("studies.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(32), nullable=False, unique=True),  # opaque: says nothing of its kind
    Column("scene", String(512), nullable=False),
    Column("condition", String(256), nullable=False),
    Column("mime", String(32), nullable=False),
    Column("data", LargeBinary, nullable=False),
    UniqueConstraint("study_id", "scene", "condition", name="uq_image_scene_condition"),
)

participants = Table(
    "participants",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("study_id", Integer, ForeignKey("studies.id", ondelete="CASCADE"), nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

assignments = Table(
    "assignments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "participant_id",
        Integer,
        ForeignKey("participants.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("position", Integer, nullable=False),
    Column("image_id", Integer, ForeignKey("images.id", ondelete="CASCADE"), nullable=False),
    Column("served_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("participant_id", "position", name="uq_assignment_position"),
    UniqueConstraint("participant_id", "image_id", name="uq_assignment_image"),
)

answers = Table(
    "answers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "participant_id",
        Integer,
        ForeignKey("participants.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("image_id", Integer, ForeignKey("images.id", ondelete="CASCADE"), nullable=False),
    Column("answer", String(16), nullable=False),
    Column("answered_at", DateTime(timezone=True), nullable=False),
    Column("response_ms", Integer, nullable=False),
    UniqueConstraint("participant_id", "image_id", name="uq_answer_participant_image"),
    CheckConstraint("answer IN ('real', 'colourised')", name="ck_answer_value"),
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL: readers do not block the writer; busy_timeout: concurrent writers wait
    # instead of failing; synchronous=FULL: a committed answer survives a crash.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql://...``); the folder of a
    SQLite file is created. ``ValueError`` naming the URL when it cannot be parsed."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(f"cannot parse database URL {url!r}") from None
    if parsed.drivername == "postgresql":  # psycopg 3 rather than SQLAlchemy's psycopg2
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database's schema to ``revision`` (the newest by default), creating the
    tables on first use; a no-op on an up-to-date database."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def schema_revision(engine: Engine) -> str | None:
    """The migration a database stands at (``None`` before the first)."""
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
