"""Turns at one SQLite file's write lock, and which threads hold a write open (`write_open`).

Every SQLite file has one in-process FIFO queue of writers, shared by every `Database`
of that file: a writer takes its turn before `BEGIN IMMEDIATE` and gives it back once
its commit or rollback has finished, so within a process at most one connection asks
SQLite for the lock and nobody spins on busy_timeout. `write_open()` is the fact the
Slack client checks: no Slack call while the calling thread holds a write.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass, field


class WriteQueueTimeout(sqlite3.OperationalError):
    """No turn at the write lock in time: another writer in this process held it too long.

    A DBAPI OperationalError, so SQLAlchemy raises it as `sqlalchemy.exc.OperationalError`.
    """


class WriteLockReentry(RuntimeError):
    """This thread asked for the write lock while it holds it on another connection.

    It would wait for itself: a bug (a write transaction opened inside another one), not
    an outage.
    """


@dataclass(eq=False)
class Turn:
    thread: int
    granted: threading.Event = field(default_factory=threading.Event)
    waited: float = 0.0


class WriterQueue:
    """First come, first served turns at one SQLite file's write lock, for this process's threads.

    The turn is handed from one holder straight to the next waiter, so nobody overtakes.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._changed = threading.Condition()
        self._holder: Turn | None = None
        self._waiting: deque[Turn] = deque()

    def take(self, timeout: float) -> Turn:
        """Wait for this thread's turn; raise WriteQueueTimeout after `timeout` seconds."""
        began = time.monotonic()
        turn = Turn(threading.get_ident())
        with self._changed:
            if self._holder is None:
                self._holder = turn
                return turn
            if self._holder.thread == turn.thread:
                raise WriteLockReentry(f"this thread holds the write lock of {self.name} already")
            self._waiting.append(turn)
            self._changed.notify_all()
        if not turn.granted.wait(timeout):
            with self._changed:
                if self._holder is not turn:  # else it came just as the time ran out
                    self._waiting.remove(turn)
                    self._changed.notify_all()
                    raise WriteQueueTimeout(
                        f"another writer held the write lock of {self.name} for over {timeout:g} s"
                    )
        turn.waited = time.monotonic() - began
        return turn

    def give_back(self, turn: Turn) -> None:
        with self._changed:
            if self._holder is not turn:
                return
            self._holder = self._waiting.popleft() if self._waiting else None
            if self._holder is not None:
                self._holder.granted.set()
            self._changed.notify_all()

    @property
    def held(self) -> bool:
        with self._changed:
            return self._holder is not None

    def wait_for_queued(self, count: int, timeout: float) -> bool:
        """Wait until at least `count` writers wait (for tests and diagnostics)."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._waiting) >= count, timeout)


_queues: weakref.WeakValueDictionary[str, WriterQueue] = weakref.WeakValueDictionary()
_queues_lock = threading.Lock()


def writer_queue(path: str) -> WriterQueue:
    """The queue of writers of one SQLite file in this process, shared by all its Databases."""
    key = os.path.realpath(path)
    with _queues_lock:
        queue = _queues.get(key)
        if queue is None:
            queue = _queues[key] = WriterQueue(key)
        return queue


@dataclass(eq=False)
class Link:
    """What one pooled DBAPI connection's current transaction holds."""

    queue: WriterQueue | None  # None on PostgreSQL
    mode: str = "none"  # SQLite: "read" (deferred) or "write" (BEGIN IMMEDIATE) once begun
    turn: Turn | None = None
    registry: set[Link] | None = None  # the writing thread's open writes, while counted there


_threads = threading.local()


def write_open() -> bool:
    """True while the calling thread has an open transaction that has written (INSERT,
    UPDATE, DELETE, DDL, SELECT … FOR UPDATE) or holds SQLite's write lock, on any
    Database; False again once it has committed or rolled back."""
    return bool(getattr(_threads, "writes", None))


def count_write(link: Link) -> None:
    if link.registry is None:
        writes: set[Link] | None = getattr(_threads, "writes", None)
        if writes is None:
            writes = _threads.writes = set()
        writes.add(link)
        link.registry = writes


def end_transaction(link: Link) -> None:
    """The transaction is over: give the turn back and stop counting it as a write."""
    link.mode = "none"
    turn, link.turn = link.turn, None
    if turn is not None and link.queue is not None:
        link.queue.give_back(turn)
    registry, link.registry = link.registry, None
    if registry is not None:
        registry.discard(link)
