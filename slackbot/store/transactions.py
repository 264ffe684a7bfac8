"""The engine events behind `Database`'s two kinds of transaction (see `slackbot.store.db`).

A read transaction is promoted to a write at its first writing statement; a writing one
takes its turn and `BEGIN IMMEDIATE` at its BEGIN; the turn goes back only once the
DBAPI commit or rollback has finished, or the pool takes the connection back.
"""

from __future__ import annotations

import re
import sqlite3
import time
from contextlib import suppress
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError

from slackbot.store.writers import Link, WriterQueue, count_write, end_transaction

# The longest a writer waits for the write lock, in all: its turn in this process's queue,
# then other processes' writers for what is left. Under Slack's 3 seconds, with room for
# the request's own work, so a request that cannot write says so in time. Also SQLite's
# busy_timeout for anything else that meets a lock (a checkpoint, a WAL recovery).
SQLITE_BUSY_TIMEOUT_MS = 2_500
# The longest a writer waits for its turn in this process. A write transaction of a request
# takes a few milliseconds, so this is hundreds of writers ahead; at least 0.5 s of the
# budget above is then left for another process's writer to finish.
WRITE_QUEUE_TIMEOUT = 2.0
# How often the writer whose turn it is asks SQLite again while another process writes.
SQLITE_LOCK_POLL = 0.001

HOLDS_WRITE_LOCK = "loops_holds_write_lock"  # execution option of `transaction()`'s engine
# Execution option: seconds to wait for the lock instead of the request's budget (migrations,
# which wait for another `release` to finish the whole chain).
WRITE_LOCK_WAIT = "loops_write_lock_wait"
_LINK = "loops_link"  # key of a pooled connection's `Link` in its `info`


_LEADING = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)
_WORD = re.compile(r"[A-Za-z]+")
_WRITING_WORDS = frozenset(
    {"INSERT", "UPDATE", "DELETE", "REPLACE", "MERGE", "TRUNCATE", "CREATE", "ALTER", "DROP", "REINDEX"}
)
_DML_ANYWHERE = re.compile(r"\b(?:INSERT|UPDATE|DELETE|REPLACE|MERGE)\b", re.IGNORECASE)
_ROW_LOCKS = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+)?UPDATE\b", re.IGNORECASE)


def _first_word(statement: str) -> str:
    start = _LEADING.match(statement)
    found = _WORD.match(statement, start.end() if start else 0)
    return found.group(0).upper() if found else ""


def _writes(statement: str, context: Any) -> bool:
    """Whether a statement writes data or schema, or holds rows for writing."""
    if context is not None and (context.isinsert or context.isupdate or context.isdelete):
        return True
    compiled = getattr(context, "compiled", None)
    if compiled is not None and getattr(compiled.statement, "_for_update_arg", None) is not None:
        return True  # SELECT … FOR UPDATE: SQLite renders no FOR UPDATE, the intent is the same
    word = _first_word(statement)
    if word in _WRITING_WORDS:
        return True
    if word == "WITH":
        return _DML_ANYWHERE.search(statement) is not None
    if word == "SELECT":
        return _ROW_LOCKS.search(statement) is not None
    return False


def _promotes(statement: str, context: Any) -> bool:
    """Whether a SQLite read transaction must take the write lock before running this."""
    return _writes(statement, context) or _first_word(statement) == "SAVEPOINT"


def _begin_immediate(dbapi: Any, deadline: float) -> None:
    """BEGIN IMMEDIATE, tried again every SQLITE_LOCK_POLL while another process writes.

    Only the holder of this process's turn ever waits here, so polling finely costs next
    to nothing, and it takes the lock within a poll of the other process letting go, where
    SQLite's busy handler sleeps ever longer between its tries (up to 100 ms).
    """
    dbapi.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                dbapi.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                busy = (getattr(error, "sqlite_errorcode", 0) & 0xFF) == sqlite3.SQLITE_BUSY
                if not busy or time.monotonic() >= deadline:
                    raise
            time.sleep(SQLITE_LOCK_POLL)
    finally:
        dbapi.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


class Transactions:
    """The engine's events: the two kinds of transaction, turns, and `write_open()`."""

    def __init__(self, engine: Engine, queue: WriterQueue | None) -> None:
        self.queue = queue
        self.sqlite = queue is not None
        event.listen(engine, "connect", self.connected)
        event.listen(engine, "begin", self.begun)
        event.listen(engine, "before_cursor_execute", self.executing)
        event.listen(engine, "commit", self.committing)
        event.listen(engine, "rollback", self.rolling_back)
        # The pool: a connection returned (reset is before its rollback-on-return),
        # invalidated or closed, whatever its transaction was doing.
        event.listen(engine, "reset", self.resetting)
        event.listen(engine, "checkin", self.checked_in)
        event.listen(engine, "invalidate", self.invalidated)
        event.listen(engine, "close", self.closing)

    def _link(self, info: dict[Any, Any]) -> Link:
        link = info.get(_LINK)
        if link is None:
            link = info[_LINK] = Link(self.queue)
        assert isinstance(link, Link)
        return link

    def connected(self, dbapi_connection: Any, record: Any) -> None:
        if self.sqlite:
            # Take transaction control away from the sqlite3 module (see the SQLAlchemy
            # docs, "Serializable isolation / Savepoints / Transactional DDL").
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
        record.info[_LINK] = Link(self.queue)

    def begun(self, connection: Connection) -> None:
        if not self.sqlite:
            return
        proxied = connection.connection
        link, dbapi = self._link(proxied.info), proxied.dbapi_connection
        assert dbapi is not None
        try:
            options = connection.get_execution_options()
            if options.get(HOLDS_WRITE_LOCK, False):
                self._take_write_lock(link, dbapi, ending_read=False, wait=options.get(WRITE_LOCK_WAIT))
            else:
                dbapi.execute("BEGIN")
                link.mode = "read"
        except sqlite3.Error as error:
            # Raised from an event, so SQLAlchemy does not wrap it as it wraps a statement's.
            raise DBAPIError.instance("BEGIN", None, error, sqlite3.Error) from error

    def executing(
        self, connection: Connection, cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        link = connection.info.get(_LINK)
        if not isinstance(link, Link):
            return
        if self.sqlite:
            if link.mode == "read" and _promotes(statement, context):
                # Raised here, a sqlite3 error is wrapped by SQLAlchemy like the statement's own.
                self._take_write_lock(link, cursor.connection, ending_read=True)
        elif link.registry is None and _writes(statement, context):
            count_write(link)

    def _take_write_lock(
        self, link: Link, dbapi: Any, *, ending_read: bool, wait: float | None = None
    ) -> None:
        assert link.queue is not None
        turn = link.queue.take(WRITE_QUEUE_TIMEOUT if wait is None else wait)
        try:
            if ending_read:
                dbapi.rollback()  # the read transaction: nothing was written in it
            # What is left of the writer's budget is for other processes' writers.
            budget = SQLITE_BUSY_TIMEOUT_MS / 1000 if wait is None else wait
            _begin_immediate(dbapi, time.monotonic() + budget - turn.waited)
        except BaseException:
            link.queue.give_back(turn)
            if ending_read:
                # SQLAlchemy counts a transaction open on this connection: keep one open.
                with suppress(sqlite3.Error):
                    if not dbapi.in_transaction:
                        dbapi.execute("BEGIN")
            raise
        link.turn, link.mode = turn, "write"
        count_write(link)

    def committing(self, connection: Connection) -> None:
        self._ending(connection, commit=True)

    def rolling_back(self, connection: Connection) -> None:
        self._ending(connection, commit=False)

    def _ending(self, connection: Connection, *, commit: bool) -> None:
        if connection.invalidated or connection.closed:
            return  # the pool's invalidate and close events see to it
        proxied = connection.connection
        link = proxied.info.get(_LINK)
        if not isinstance(link, Link):
            return
        if self.sqlite:
            dbapi = proxied.dbapi_connection
            assert dbapi is not None
            try:
                # Now, so that the turn is given back only once it is done; SQLAlchemy's
                # own commit or rollback that follows finds no transaction: a no-op.
                if commit:
                    dbapi.commit()
                else:
                    dbapi.rollback()
            except sqlite3.Error:
                # Still in the transaction: SQLAlchemy's call tries again and raises what
                # happens; the turn goes back with the rollback (or the pool's reset) after.
                return
        end_transaction(link)

    def _abandon(self, dbapi_connection: Any, record: Any) -> None:
        info = getattr(record, "info", None)
        link = info.get(_LINK) if info is not None else None
        if not isinstance(link, Link):
            return
        if self.sqlite and dbapi_connection is not None and (link.mode != "none" or link.turn):
            with suppress(sqlite3.Error):
                dbapi_connection.rollback()
        end_transaction(link)

    def resetting(self, dbapi_connection: Any, record: Any, _state: Any) -> None:
        self._abandon(dbapi_connection, record)

    def checked_in(self, dbapi_connection: Any, record: Any) -> None:
        self._abandon(dbapi_connection, record)

    def invalidated(self, dbapi_connection: Any, record: Any, _error: Any) -> None:
        self._abandon(dbapi_connection, record)

    def closing(self, dbapi_connection: Any, record: Any) -> None:
        self._abandon(dbapi_connection, record)
