"""History answers built in a reader process of their own, beside a web worker.

A `/loops` read is acknowledged at once; building its answer takes a few milliseconds of
Python, and in the worker that answers the acks it would hold the interpreter lock while
the next acks wait. In a process of its own the operating system shares the cores instead,
and a waking ack is scheduled within microseconds. The web process (gunicorn) uses one
reader per worker; `run`, the demo and the tests build answers in the worker's own threads.

The reader is started lazily in each worker (never across gunicorn's fork) with `spawn`, so
it holds no copy of the worker's threads or connections. If it cannot take work (it died,
or is starting again), the worker builds the answer itself: an answer is never dropped.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.webhook import WebhookClient

from slackbot.config import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReadRequest:
    """Everything the reader needs, picklable: who asked, what, when, and where to answer."""

    team_id: str
    user_id: str
    text: str  # the `/loops` text, as for parse_loops_command
    now: datetime  # the app's time when asked (the demo and tests move it)
    response_url: str
    replace: bool = False
    before: int | None = None
    shown_before: int = 0
    # The request's bot token (OAuth mode: the caller's workspace's); None: the reader's own.
    bot_token: str | None = field(default=None, repr=False)


_process: dict[str, Any] = {}
READER_NICENESS = 10


def _start(settings: Settings) -> None:
    """In the reader process: its own database pool and Slack client, once."""
    from slackbot.config import configure_logging
    from slackbot.outbox.client import delivery_client
    from slackbot.store.db import Database

    configure_logging(settings)
    # Behind the worker's acks for the machine's cores too: an answer can wait milliseconds,
    # an ack is waited on by Slack. SCHED_IDLE (Linux) runs the reader only on a core nothing
    # else wants, and any waking ack takes the core from it at once; a lower niceness alone
    # still lets the reader finish its slice first.
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    else:
        os.nice(READER_NICENESS)
    _process["database"] = Database(settings.database_url)
    _process["client"] = delivery_client(settings)


def _answer(request: ReadRequest) -> None:
    """In the reader process: read, build, and post the answer to the response_url."""
    from slackbot.app.history import build_answer

    client = _process["client"]
    if request.bot_token is not None:
        client = client.copy_for(request.bot_token, request.team_id)
    body = build_answer(_process["database"], client, request)
    WebhookClient(request.response_url, timeout=10).send_dict(
        {"response_type": "ephemeral", "replace_original": request.replace, **body}
    )


class Reader:
    """One reader process per web worker, started on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pool: ProcessPoolExecutor | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start,
                    initargs=(self.settings,),
                )
                self._pid = os.getpid()
            return self._pool

    def submit(self, request: ReadRequest) -> bool:
        """Hand the read to the reader; False when it cannot take it (build it here instead)."""
        try:
            future = self._executor().submit(_answer, request)
        except (BrokenProcessPool, RuntimeError) as error:
            logger.warning("the reader process cannot take work (%s); answering in the worker", error)
            with self._lock:
                self._pool = None
            return False
        future.add_done_callback(_logged)
        return True

    def close(self) -> None:
        with self._lock:
            if self._pool is not None and self._pid == os.getpid():
                self._pool.shutdown(wait=True)
            self._pool = None


def _logged(future: Future[None]) -> None:
    error = future.exception()
    if error is not None:
        logger.error("the reader process could not answer a /loops read: %s", error)
