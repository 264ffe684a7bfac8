"""Engine and sessions for SQLite (embedded default) and PostgreSQL (shared deployments).

Two kinds of transaction
------------------------
`Database.session()` is a request's unit of work (and the place for ad-hoc reads). On
SQLite it begins *deferred* (`BEGIN`): a request that only reads never takes SQLite's
single write lock, so readers never queue behind writers or each other. The first
statement that writes promotes it to a write transaction: INSERT, UPDATE, DELETE,
REPLACE, DDL, SELECT … FOR UPDATE (which SQLite does not render, but which asks for the
rows to be held), and SAVEPOINT (savepoints are only taken around writes, and one taken
in the read transaction would be lost by the promotion). Promoting means: wait for this
process's turn at the file's write lock (below), end the read transaction (nothing was
written in it), and `BEGIN IMMEDIATE`, which holds the write lock until commit or
rollback. The statement that asked then runs, as do all later ones, under that lock.

Upgrading the WAL read transaction in place is not an option: SQLite refuses at once
(SQLITE_BUSY / BUSY_SNAPSHOT) when another connection committed after the read snapshot
was taken, and its busy handler is not used for that upgrade, so under load such writers
fail with "database is locked" whatever the busy_timeout.

Why promotion is safe: reads before the first write see the snapshot of their first
read, writes and everything after them see the newest committed data. That is what
PostgreSQL's default READ COMMITTED gives every statement, and the code is written for
it already: rows that two requests may create are guarded by unique keys and written
with INSERT … ON CONFLICT DO NOTHING and read back afterwards (under the lock, so the
row is there whoever won); numbers taken from a read (a loop's number) are retried in a
savepoint when the unique key says another request took them. A read-then-write that
must be atomic across processes does not belong in `session()`, on either engine.

`Database.transaction()` is that: it holds the write lock from its BEGIN on SQLite (its
turn, then `BEGIN IMMEDIATE`), for read-then-write sequences such as claiming deliveries
or planning. On PostgreSQL both kinds are ordinary READ COMMITTED transactions (rows are
held with SELECT … FOR UPDATE there).

Turns at the write lock
-----------------------
Every SQLite file has one in-process FIFO queue of writers (`WriterQueue`), shared by
every `Database` of that file in this process. A writer takes its turn before
`BEGIN IMMEDIATE` and gives it back only once the DBAPI commit or rollback has really
finished, so within a process at most one connection ever asks SQLite for the lock and
nobody spins on busy_timeout: writers are served in arrival order, each handed the turn
the moment the one before it is done, and p99 stays close to the queue length times one
write. A thread that asks for a turn while it holds one (a write transaction opened
inside another) would wait for itself: it gets WriteLockReentry at once instead.

Between processes (gunicorn workers, the clock) SQLite arbitrates. Only the holder of a
process's turn ever waits there, so it asks again every SQLITE_LOCK_POLL rather than
leave it to SQLite's busy handler, which sleeps ever longer between tries (up to 100 ms)
and so leaves the lock idle while writers wait: measured with two web workers under a
burst, that halved the time writers spent waiting for the other process.

The wait is bounded: no turn within WRITE_QUEUE_TIMEOUT, or no lock from SQLite within
what is left of SQLITE_BUSY_TIMEOUT_MS after the turn came, raises
`sqlalchemy.exc.OperationalError`; the app answers that with its database apology and
stores nothing. A connection returned to the pool, invalidated or closed mid-transaction
is rolled back and gives its turn back.

SQLAlchemy's `commit` and `rollback` connection events fire before the DBAPI call, so the
handlers here make the DBAPI commit or rollback themselves, then give the turn back;
SQLAlchemy's own call that follows finds no transaction and does nothing. (If that DBAPI
call fails, the transaction is still open and the turn held: SQLAlchemy's own call then
tries again and raises, and the rollback that follows gives the turn back.)

`write_open()` tells whether the calling thread has a transaction open that has written
or holds SQLite's write lock, on any database of either engine: no Slack call may be made
while one is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from slackbot.store import postgres
from slackbot.store.changes import note_changes
from slackbot.store.postgres import STATEMENT_TIMEOUT
from slackbot.store.transactions import (
    HOLDS_WRITE_LOCK,
    SQLITE_BUSY_TIMEOUT_MS,
    WRITE_LOCK_WAIT,
    Transactions,
)
from slackbot.store.writers import WriterQueue, writer_queue

# SQLite connections are cheap (a file handle and a page cache) and readers never block
# each other, so a threaded server may have as many sessions open as it has threads (a
# test has 200 at once). A session that cannot get one at once is a server past its
# capacity: it fails fast (the app treats the pool's TimeoutError as an outage).
SQLITE_POOL_SIZE = 32
SQLITE_MAX_OVERFLOW = 224
SQLITE_POOL_TIMEOUT = 0.5
MIGRATION_LOCK_WAIT = 300.0
# One web worker: 8 request threads, 4 for work after the answer, a sender; the clock alike.
# At most this many connections per process (LOOPS_DATABASE_CONNECTIONS), this many kept open.
POSTGRES_CONNECTIONS = 15
POSTGRES_POOL_SIZE = 5
POSTGRES_POOL_TIMEOUT = 2.0  # under Slack's 3 seconds, like the SQLite lock
# What a request (or /healthz) may spend waiting on PostgreSQL, all round trips together.
REQUEST_DATABASE_TIME = 2.0


def _sqlite_file(url: URL) -> str | None:
    database = url.database
    if not database or database == ":memory:" or url.query.get("mode") == "memory":
        return None
    return database


class Database:
    """One engine per process, with the two kinds of session and a liveness probe.

    See the module's docstring for what the kinds of transaction hold on SQLite; on
    PostgreSQL both are ordinary transactions. `writers` is the SQLite file's queue of
    writers in this process (None on PostgreSQL).
    """

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        connections: int = POSTGRES_CONNECTIONS,
        statement_timeout: float | None = STATEMENT_TIMEOUT,
    ) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        # An error's message would otherwise carry its statement's parameters into the log:
        # tokens being saved, and whatever a person typed.
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        self.writers: WriterQueue | None = None
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
            path = _sqlite_file(self.url)
            if path is not None:
                kwargs.update(
                    pool_size=SQLITE_POOL_SIZE,
                    max_overflow=SQLITE_MAX_OVERFLOW,
                    pool_timeout=SQLITE_POOL_TIMEOUT,
                )
                self.writers = writer_queue(path)
            else:
                self.writers = WriterQueue(":memory:")  # each thread has its own (SingletonThreadPool)
        else:
            kwargs.update(
                pool_pre_ping=True,
                pool_size=min(POSTGRES_POOL_SIZE, connections),
                max_overflow=max(connections - POSTGRES_POOL_SIZE, 0),
                pool_timeout=POSTGRES_POOL_TIMEOUT,
                connect_args=postgres.connect_args(statement_timeout),
            )
        self.engine: Engine = create_engine(self.url, **kwargs)
        if not self.is_sqlite:
            event.listen(
                self.engine,
                "do_connect",
                lambda _dialect, _record, cargs, cparams: postgres.connect(statement_timeout, cargs, cparams),
            )
        Transactions(self.engine, self.writers)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writing_sessions = sessionmaker(
            self.engine.execution_options(**{HOLDS_WRITE_LOCK: True}), expire_on_commit=False
        )
        # Every session of either kind notes whose loops it changed (store/changes.py).
        for sessions in (self._sessions, self._writing_sessions):
            event.listen(sessions, "after_flush", note_changes)

    def session(self) -> Session:
        """A new session; the caller commits or closes it (use it as a context manager).

        On SQLite it reads without the write lock and takes it at its first write.
        """
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session committed on success and rolled back on any error.

        On SQLite it holds the write lock from its first statement to its end: for reads
        whose result decides a write, atomically across threads and processes.
        """
        with self._writing_sessions() as session, session.begin():
            yield session

    def writing_connection(self, wait: float = MIGRATION_LOCK_WAIT) -> Connection:
        """A Core connection whose transactions hold the write lock from BEGIN on SQLite (migrations:
        two `release` processes must not both find the schema old and both change it; the
        second waits up to `wait` seconds for the first's whole chain)."""
        return self.engine.connect().execution_options(**{HOLDS_WRITE_LOCK: True, WRITE_LOCK_WAIT: wait})

    def answering(self) -> AbstractContextManager[None]:
        """Around work Slack (or a health check) waits for: on PostgreSQL, its round trips end
        together within REQUEST_DATABASE_TIME, so a silent server gets the apology in time."""
        return postgres.answering_within(REQUEST_DATABASE_TIME)

    def ping(self) -> None:
        """Raise unless the database answers a query now; used by /healthz.

        It only reads, so on SQLite it neither takes nor waits for the write lock.
        """
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
