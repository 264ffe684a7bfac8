"""The ways a row is written safely when two requests race: INSERT … ON CONFLICT on either
engine, and reading a row again for update before a check-then-set."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from slackbot.store.models import Base


def conflict_insert(bind: Session | Connection, table: Any) -> Any:
    """`insert(table)` in the dialect's own form, which has `on_conflict_do_nothing` and
    `on_conflict_do_update` (PostgreSQL's and SQLite's take the same arguments)."""
    dialect = bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def insert_ignoring_conflict(
    session: Session, model: type[Base], values: dict[str, Any], conflict_columns: list[str]
) -> Any:
    """INSERT … ON CONFLICT DO NOTHING; the new row's primary key, or None when it existed.

    Two requests racing to create the same row both succeed, and exactly one of them
    learns it was first: no exception handling, no savepoints.
    """
    table = model.__table__
    assert isinstance(table, Table)
    statement = (
        conflict_insert(session, table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=conflict_columns)
        .returning(*table.primary_key.columns)
    )
    row = session.execute(statement).first()
    return None if row is None else row[0]


def lock(session: Session, row: Base) -> None:
    """Read `row` again, for writing: a check-then-set decides on what is stored now.

    A request's session reads from the snapshot of its first read (two clicks of one
    button would both see "not answered yet"). PostgreSQL locks the row (FOR UPDATE) until
    the commit; SQLite takes its write lock before reading.
    """
    session.refresh(row, with_for_update=True)
