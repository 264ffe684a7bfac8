"""Readers never take SQLite's write lock; writers take turns, bounded; write_open() is per thread.

`database` runs a test on SQLite and on PostgreSQL; `sqlite_database` is a migrated
SQLite file of its own, for what only SQLite has (the write lock and its queue).
Threads meet at Barriers and Events, never at sleeps.
"""

from __future__ import annotations

import gc
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from slackbot.store import transactions
from slackbot.store.db import Database
from slackbot.store.models import Workspace
from slackbot.store.writers import WriteLockReentry, WriteQueueTimeout, write_open

WAIT = 30.0  # how long a test waits for another thread before calling it hung


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "locking.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def sqlite_database(sqlite_url: str) -> Iterator[Database]:
    database = Database(sqlite_url)
    try:
        yield database
    finally:
        database.dispose()


def in_threads(count: int, work: Callable[[int], Any]) -> list[BaseException]:
    """Run work(0) … work(count - 1) in threads at once; the errors they raised."""
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        try:
            work(n)
        except BaseException as error:
            with lock:
                errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return errors


class Holder:
    """A thread that holds the write lock (a written `transaction()`) until told to let go."""

    def __init__(self, database: Database, team_id: str = "THELD") -> None:
        self.holding, self.release = threading.Event(), threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, args=(database, team_id))

    def _run(self, database: Database, team_id: str) -> None:
        try:
            with database.transaction() as session:
                session.add(Workspace(team_id=team_id))
                session.flush()
                self.holding.set()
                assert self.release.wait(WAIT)
        except BaseException as error:
            self.errors.append(error)
            self.holding.set()

    def __enter__(self) -> Holder:
        self.thread.start()
        assert self.holding.wait(WAIT)
        assert not self.errors
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release.set()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()
        assert not self.errors


def held(database: Database) -> bool:
    """Whether some connection of this process holds the SQLite file's write lock."""
    assert database.writers is not None
    return database.writers.held


def team_ids(database: Database) -> set[str]:
    with database.session() as session:
        return set(session.scalars(select(Workspace.team_id)))


# -- reads and promotion ------------------------------------------------------------------


def test_a_reader_does_not_block_a_writer_and_writes_after_it(database: Database) -> None:
    with database.session() as reader:
        assert reader.scalars(select(Workspace)).all() == []  # the read snapshot is open
        assert not write_open()

        def write(_n: int) -> None:
            with database.transaction() as session:
                session.add(Workspace(team_id="TOTHER"))

        assert in_threads(1, write) == []
        # The other committed after the read began: promoting must not fail for it.
        reader.add(Workspace(team_id="TREADER"))
        reader.flush()
        assert write_open()
        reader.commit()
    assert not write_open()
    assert team_ids(database) == {"TOTHER", "TREADER"}


def test_promotion_sees_what_others_committed(sqlite_database: Database) -> None:
    """After its first write a session reads the newest data, as under READ COMMITTED."""
    with sqlite_database.session() as reader:
        assert reader.scalar(select(func.count()).select_from(Workspace)) == 0
        assert in_threads(1, lambda _: _add(sqlite_database, "TOTHER")) == []
        reader.execute(insert(Workspace).values(team_id="TREADER"))
        assert reader.scalar(select(func.count()).select_from(Workspace)) == 2
        reader.commit()


def _add(database: Database, team_id: str) -> None:
    with database.session() as session:
        session.add(Workspace(team_id=team_id))
        session.commit()


def test_a_savepoint_survives_the_promotion(database: Database) -> None:
    with database.session() as session:
        session.scalars(select(Workspace)).all()
        assert in_threads(1, lambda _: _add(database, "TOTHER")) == []
        with session.begin_nested():  # the first write: SAVEPOINT promotes the transaction
            session.add(Workspace(team_id="TKEPT"))
        with pytest.raises(IntegrityError), session.begin_nested():
            session.add(Workspace(team_id="TOTHER"))  # taken: back to the savepoint only
        session.commit()
    assert team_ids(database) == {"TOTHER", "TKEPT"}


def test_a_hundred_threads_read_then_write_at_once(sqlite_database: Database) -> None:
    count = 100
    everyone_read = threading.Barrier(count, timeout=WAIT)

    def read_then_write(n: int) -> None:
        with sqlite_database.session() as session:
            session.scalars(select(Workspace)).all()
            everyone_read.wait()  # all hundred hold a read snapshot, then all write
            session.add(Workspace(team_id=f"T{n}"))
            session.commit()

    errors = in_threads(count, read_then_write)
    assert errors == []
    assert team_ids(sqlite_database) == {f"T{n}" for n in range(count)}


def test_transactions_serialise_read_modify_write(sqlite_database: Database) -> None:
    count = 50
    _add_counter(sqlite_database)
    start = threading.Barrier(count, timeout=WAIT)

    def increment(_n: int) -> None:
        start.wait()
        with sqlite_database.transaction() as session:
            _increment(session)

    assert in_threads(count, increment) == []
    assert _counter(sqlite_database) == count


def test_for_update_in_a_session_holds_what_it_read(database: Database) -> None:
    """SELECT … FOR UPDATE takes the row on PostgreSQL and the write lock on SQLite."""
    count = 12
    _add_counter(database)
    start = threading.Barrier(count, timeout=WAIT)

    def increment(_n: int) -> None:
        start.wait()
        with database.session() as session:
            _increment(session, for_update=True)
            session.commit()

    assert in_threads(count, increment) == []
    assert _counter(database) == count


def _add_counter(database: Database) -> None:
    with database.transaction() as session:
        session.add(Workspace(team_id="TCOUNT", name="0"))


def _increment(session: Any, *, for_update: bool = False) -> None:
    query = select(Workspace.name).where(Workspace.team_id == "TCOUNT")
    value = int(session.scalar(query.with_for_update() if for_update else query))
    session.execute(update(Workspace).where(Workspace.team_id == "TCOUNT").values(name=str(value + 1)))


def _counter(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(Workspace.name).where(Workspace.team_id == "TCOUNT")))


# -- write_open ---------------------------------------------------------------------------


def test_write_open_says_whether_this_thread_has_written(database: Database) -> None:
    with database.session() as session:
        assert not write_open()
        session.scalars(select(Workspace)).all()
        assert not write_open()
        session.add(Workspace(team_id="T1"))
        session.flush()
        assert write_open()
        assert in_threads(1, lambda _: _assert(not write_open())) == []  # only this thread's
        session.commit()
        assert not write_open()
        session.execute(update(Workspace).values(name="again"))
        assert write_open()
        session.rollback()
        assert not write_open()
        session.add(Workspace(team_id="T2"))
        session.flush()
        assert write_open()
    assert not write_open()  # closed without commit
    assert team_ids(database) == {"T1"}


def test_write_open_and_locking_reads(database: Database) -> None:
    with database.session() as session:
        session.scalars(select(Workspace).with_for_update()).all()
        assert write_open()
    assert not write_open()
    with database.transaction() as session:
        session.scalars(select(Workspace)).all()
        # SQLite's transaction() holds the write lock from its BEGIN; PostgreSQL's has not written.
        assert write_open() == database.is_sqlite
    assert not write_open()


def test_write_open_with_a_plain_connection(database: Database) -> None:
    with database.engine.connect() as connection:
        connection.execute(select(Workspace.id)).all()
        assert not write_open()
        connection.execute(insert(Workspace).values(team_id="T1"))
        assert write_open()
        connection.commit()
        assert not write_open()
        connection.execute(insert(Workspace).values(team_id="T2"))
        assert write_open()
    assert not write_open()
    assert team_ids(database) == {"T1"}


def _assert(condition: bool) -> None:
    assert condition


# -- the bound and the queue --------------------------------------------------------------


def test_a_writer_gives_up_within_the_bound(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transactions, "WRITE_QUEUE_TIMEOUT", 0.2)
    with Holder(sqlite_database):
        with sqlite_database.session() as session:
            session.scalars(select(Workspace)).all()
            session.add(Workspace(team_id="TLATE"))
            with pytest.raises(OperationalError) as raised:
                session.flush()
            assert isinstance(raised.value.orig, WriteQueueTimeout)
            assert not write_open()
        with pytest.raises(OperationalError) as raised, sqlite_database.transaction() as session:
            session.add(Workspace(team_id="TLATE"))
        assert isinstance(raised.value.orig, WriteQueueTimeout)
        assert not write_open()
        # Reading needs no turn.
        assert held(sqlite_database)
        sqlite_database.ping()
        with sqlite_database.session() as session:
            assert session.scalars(select(Workspace.team_id)).all() == []
    assert not held(sqlite_database)
    _add(sqlite_database, "TAFTER")
    assert team_ids(sqlite_database) == {"THELD", "TAFTER"}


def test_another_process_holding_the_lock_is_waited_for_within_the_bound(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not in this process's queue: SQLite's busy handler waits, for what is left of the budget."""
    monkeypatch.setattr(transactions, "SQLITE_BUSY_TIMEOUT_MS", 100)
    database = Database(sqlite_url)
    other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError) as raised:
            _add(database, "TLATE")
        assert "locked" in str(raised.value.orig)
        assert not isinstance(raised.value.orig, WriteQueueTimeout)
        assert not held(database)
        assert not write_open()
        other.execute("ROLLBACK")
        _add(database, "TAFTER")
        assert team_ids(database) == {"TAFTER"}
    finally:
        other.close()
        database.dispose()


def test_databases_of_one_file_share_the_queue(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transactions, "WRITE_QUEUE_TIMEOUT", 0.2)
    monkeypatch.setattr(transactions, "SQLITE_BUSY_TIMEOUT_MS", 100)
    (tmp_path / "elsewhere").mkdir()
    first = Database(sqlite_url)
    second = Database(f"sqlite:///{tmp_path}/elsewhere/../locking.db")
    try:
        assert first.writers is second.writers
        with Holder(first), pytest.raises(OperationalError) as raised:
            _add(second, "TLATE")
        # Queued behind the first, not turned away by SQLite's busy handler.
        assert isinstance(raised.value.orig, WriteQueueTimeout)
        _add(second, "TAFTER")
        assert team_ids(first) == {"THELD", "TAFTER"}
    finally:
        first.dispose()
        second.dispose()


def test_writers_take_turns_in_arrival_order(sqlite_database: Database) -> None:
    queue = sqlite_database.writers
    assert queue is not None
    order: list[int] = []
    threads = []

    def write(n: int) -> None:
        with sqlite_database.session() as session:
            session.add(Workspace(team_id=f"T{n}"))
            session.flush()
            order.append(n)  # under the write lock
            session.commit()

    with Holder(sqlite_database):
        for n in range(8):
            thread = threading.Thread(target=write, args=(n,))
            thread.start()
            threads.append(thread)
            assert queue.wait_for_queued(n + 1, WAIT)
    for thread in threads:
        thread.join(WAIT)
    assert order == list(range(8))


def test_a_thread_asking_twice_is_told_at_once(sqlite_database: Database) -> None:
    with sqlite_database.session() as outer:
        outer.add(Workspace(team_id="TOUTER"))
        outer.flush()
        with pytest.raises(WriteLockReentry), sqlite_database.transaction() as inner:
            inner.add(Workspace(team_id="TINNER"))
        outer.commit()
    assert team_ids(sqlite_database) == {"TOUTER"}


def test_a_thread_promoting_while_it_holds_the_lock_is_told_at_once(sqlite_database: Database) -> None:
    with sqlite_database.session() as outer, sqlite_database.session() as inner:
        inner.scalars(select(Workspace)).all()
        outer.add(Workspace(team_id="TOUTER"))
        outer.flush()
        inner.add(Workspace(team_id="TINNER"))
        with pytest.raises(WriteLockReentry):
            inner.flush()
        outer.commit()
    assert team_ids(sqlite_database) == {"TOUTER"}


def test_two_hundred_sessions_at_once(database: Database) -> None:
    """The pool has a connection for every thread of a busy server (PostgreSQL's is smaller)."""
    count = 200 if database.is_sqlite else 15
    everyone_read = threading.Barrier(count, timeout=WAIT)

    def read(_n: int) -> None:
        with database.session() as session:
            session.scalars(select(Workspace)).all()
            everyone_read.wait()

    assert in_threads(count, read) == []


def test_a_connection_let_go_mid_transaction_gives_its_turn_back(sqlite_database: Database) -> None:
    connection = sqlite_database.engine.connect()
    connection.execute(insert(Workspace).values(team_id="TINVALIDATED"))
    assert held(sqlite_database) and write_open()
    connection.invalidate()
    assert not held(sqlite_database) and not write_open()
    connection.close()

    session = sqlite_database.session()
    session.add(Workspace(team_id="TFORGOTTEN"))
    session.flush()
    assert held(sqlite_database) and write_open()
    del session
    gc.collect()  # the pool returns a connection its owner dropped
    assert not held(sqlite_database) and not write_open()

    with sqlite_database.transaction() as session:
        session.add(Workspace(team_id="TLAST"))
    sqlite_database.dispose()
    assert team_ids(sqlite_database) == {"TLAST"}
