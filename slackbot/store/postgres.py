"""PostgreSQL connections that stop waiting on a server that stopped answering.

A server that goes silent (a frozen host or process, a network that drops packets) leaves a
query waiting for ever: its kernel may well keep the socket open, so neither TCP keepalives
nor the server's own statement_timeout end the wait. Here every round trip has a limit on
the client's side too. While Slack waits for an answer (`answering_within`, around each
request and /healthz) the limit is what is left of that request's database time (time spent
waiting on PostgreSQL, not on Slack: a slow Slack call must not cost a healthy database its
write); elsewhere (the clock, work after the answer) it is the statement timeout. A
connection whose round trip ran out is closed, so SQLAlchemy drops it from the pool as
disconnected and the request ends with the database apology.

Connecting has its own limit (`connect_timeout`, whose least is 2 seconds in libpq), and a
request whose time is already up does not start connecting at all.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import psycopg

CONNECT_TIMEOUT = 2  # seconds; libpq's least
# The server ends a statement after this long, and a round trip outside a request waits no longer.
STATEMENT_TIMEOUT = 60.0
# An idle connection is probed after 30 s, then every 10 s; three probes unanswered close it.
# Data sent and not acknowledged for 30 s closes it too.
KEEPALIVES: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}


@dataclass
class _Budget:
    left: float  # seconds of waiting on PostgreSQL this request may still spend


_budget: ContextVar[_Budget | None] = ContextVar("database_budget", default=None)


@contextmanager
def answering_within(seconds: float) -> Iterator[None]:
    """Within this block (one request's thread), round trips to PostgreSQL wait `seconds` in all."""
    token = _budget.set(_Budget(seconds))
    try:
        yield
    finally:
        _budget.reset(token)


def _time_left(limit: float | None) -> float | None:
    budget = _budget.get()
    if budget is None:
        return limit
    return budget.left if limit is None else min(budget.left, limit)


@contextmanager
def _spending() -> Iterator[None]:
    budget, started = _budget.get(), time.monotonic()
    try:
        yield
    finally:
        if budget is not None:
            budget.left -= time.monotonic() - started


class LimitedConnection(psycopg.Connection[Any]):
    """A psycopg connection whose every round trip ends by its limit (see the module's docstring).

    `wait` is where psycopg waits on the socket (not part of its documented API; psycopg is
    pinned below 3.4 for it); no public setting bounds a round trip on the client's side.
    """

    limit: float | None = STATEMENT_TIMEOUT

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        left = _time_left(self.limit)
        ours = left is not None and (timeout is None or left < timeout)
        if ours:
            timeout = max(left or 0.0, 0.001)
        started = time.monotonic()
        try:
            with _spending():
                return super().wait(gen, interval, timeout)
        except psycopg.OperationalError:
            if not ours or timeout is None or time.monotonic() - started < timeout:
                raise  # the server's own error, or psycopg's own limit, which psycopg handles
            # Half a conversation cannot be resumed: closed, the pool sees it as disconnected.
            self.close()
            raise psycopg.OperationalError(f"PostgreSQL did not answer within {timeout:.1f}s") from None


def connect_args(statement_timeout: float | None) -> dict[str, Any]:
    """psycopg's connection parameters: the connect timeout, keepalives, the statement timeout."""
    args: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT, **KEEPALIVES}
    if statement_timeout is not None:
        args["options"] = f"-c statement_timeout={int(statement_timeout * 1000)}"
    return args


def connect(statement_timeout: float | None, cargs: Any, cparams: dict[str, Any]) -> LimitedConnection:
    """A new connection, unless the request it is for has no time left (SQLAlchemy's do_connect)."""
    left = _time_left(None)
    if left is not None and left <= 0:
        raise psycopg.OperationalError("no time left to connect to PostgreSQL")
    with _spending():
        connection = LimitedConnection.connect(*cargs, **cparams)
    connection.limit = statement_timeout
    return connection
