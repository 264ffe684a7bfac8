"""INSERT … ON CONFLICT for whichever of our two engines a session or connection is on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def conflict_insert(bind: Session | Connection, table: Any) -> Any:
    """`insert(table)` in the dialect's own form, which has `on_conflict_do_nothing` and
    `on_conflict_do_update` (PostgreSQL's and SQLite's take the same arguments)."""
    dialect = bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
