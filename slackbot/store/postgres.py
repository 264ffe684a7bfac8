"""PostgreSQL connections that stop waiting on a server that stopped answering.

A server that goes silent (a frozen host or process, a network that drops packets) leaves a
query waiting for ever: its kernel may well keep the socket open, so neither TCP keepalives
nor the server's own statement_timeout end the wait. Here every round trip has a limit on
the client's side too. While Slack waits for an answer (`answering_within`, around each
request and /healthz) the limit is what is left of that request's time; elsewhere (the
clock, work after the answer) it is the statement timeout. A connection whose round trip ran
out is closed, so SQLAlchemy drops it from the pool as disconnected and the request ends
with the database apology.

Connecting has its own limit (`connect_timeout`, whose least is 2 seconds in libpq), and a
request whose time is already up does not start connecting at all.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import psycopg
from psycopg.errors import _WaitTimeout

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

_answer_by: ContextVar[float | None] = ContextVar("answer_by", default=None)


@contextmanager
def answering_within(seconds: float) -> Iterator[None]:
    """Within this block (one request's thread), no database round trip outlasts `seconds` from now."""
    token = _answer_by.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _answer_by.reset(token)


def _time_left(limit: float | None) -> float | None:
    answer_by = _answer_by.get()
    if answer_by is None:
        return limit
    left = answer_by - time.monotonic()
    return left if limit is None else min(left, limit)


class LimitedConnection(psycopg.Connection[Any]):
    """A psycopg connection whose every round trip ends by its limit (see the module's docstring)."""

    limit: float | None = STATEMENT_TIMEOUT

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        left = _time_left(self.limit)
        ours = left is not None and (timeout is None or left < timeout)
        if ours:
            timeout = max(left or 0.0, 0.001)
        try:
            return super().wait(gen, interval, timeout)
        except _WaitTimeout:
            if not ours:
                raise  # psycopg's own limit, which psycopg handles
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
    connection = LimitedConnection.connect(*cargs, **cparams)
    connection.limit = statement_timeout
    return connection
