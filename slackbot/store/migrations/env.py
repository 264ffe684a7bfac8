"""Alembic environment: migrations run against the same engine setup as the app."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import text

from slackbot.store.db import Database
from slackbot.store.models import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata

# One arbitrary number shared by every Loops process: a PostgreSQL advisory lock
# so that two `release` phases starting together migrate one after the other.
MIGRATION_LOCK_ID = 7_250_917


def _database_url() -> str:
    # Set by slackbot.store.migrate; the `alembic` command line falls back to DATABASE_URL.
    url = config.attributes.get("database_url")
    if isinstance(url, str):
        return url
    from slackbot.config import load_settings

    return load_settings().database_url


def render_item(kind: str, item: Any, _context: AutogenContext) -> str | Literal[False]:
    """Write our UTC column type as the plain SQLAlchemy type it stores, so revisions
    do not import application code that may change after they are written."""
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    context.configure(
        url=_database_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()


@contextmanager
def _migration_file_lock(database: Database) -> Iterator[None]:
    """On SQLite, one `release` at a time per database file, across processes.

    The write lock alone is not enough: a second process can open its connection while
    the first is still creating the file and switching it to WAL, and then read a schema
    version the first has since moved past. An advisory lock on a file beside the
    database is taken before any connection is opened.
    """
    path = database.url.database
    if not database.is_sqlite or not path or path == ":memory:":
        yield
        return
    with open(f"{path}.migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_migrations_online() -> None:
    database = Database(_database_url(), statement_timeout=None)  # a migration may take its time
    try:
        with _migration_file_lock(database), database.writing_connection() as connection:
            if not database.is_sqlite:
                connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
                connection.commit()
            else:
                # Batch mode rebuilds a table by dropping the old one; with foreign keys on, that
                # DROP would delete every row that references it (ON DELETE CASCADE). The pragma
                # only works outside a transaction, so it goes straight to the driver's connection,
                # and the keys are checked once the migrations are done.
                raw = connection.connection.dbapi_connection
                assert raw is not None
                raw.execute("PRAGMA foreign_keys=OFF")
            try:
                context.configure(
                    connection=connection,
                    target_metadata=target_metadata,
                    render_as_batch=database.is_sqlite,
                    compare_type=True,
                    render_item=render_item,
                )
                with context.begin_transaction():
                    context.run_migrations()
                    if database.is_sqlite:
                        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                        if broken:
                            raise RuntimeError(f"the migration left rows pointing nowhere: {broken[:5]}")
            finally:
                if not database.is_sqlite:
                    connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
                    connection.commit()
    finally:
        database.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
