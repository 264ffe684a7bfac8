"""History answers built in a reader process of their own, beside a web worker.

A `/loops` read is acknowledged at once; building its answer takes a few milliseconds of
Python, and in the worker that answers the acks it would hold the interpreter lock while
the next acks wait. In a process of its own the operating system shares the cores instead,
and a waking ack takes a core from it at once. (Its work is not free all the same: measured
on a two-core VM, any busy core lengthens the acks' tail; see bench/ack.py.) The web process
(gunicorn) uses one reader per worker; `run`, the demo and the tests build answers in the
worker's own threads.

The reader is started lazily in each worker (never across gunicorn's fork) with `spawn`, so
it holds no copy of the worker's threads or connections, and it reads only (its database
refuses writes). Reads reach it over a socket pair. If it cannot take one (it died, or is
too far behind), the worker builds that answer itself: an answer is never dropped. It stops
when its worker does, once it has answered what it was handed.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.util
import os
import pickle
import signal
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.process import BaseProcess
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
    _process["database"] = Database(settings.database_url, reads_only=True)
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


def _serve(requests: socket.socket, settings: Settings) -> None:
    """The reader process: answer each read as it comes, until the worker's end closes."""
    _start(settings)
    # Ctrl-C, or a platform stopping every process at once (Heroku sends SIGTERM to all of a
    # dyno's), would lose the reads already handed over: the reader stops when its worker's
    # end of the socket closes instead, as the worker exits (or is killed).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with requests:
        while message := requests.recv(MAX_READ_BYTES):
            try:
                _answer(pickle.loads(message))  # noqa: S301 - from our own worker, over a socket pair
            except Exception:
                logger.exception("the reader process could not answer a /loops read")


# A pickled ReadRequest is well under 2 KB; one message is one read (SOCK_SEQPACKET).
MAX_READ_BYTES = 64 * 1024
# How long a stopping worker gives its reader to finish the reads handed to it.
CLOSE_WAIT = 30.0


class Reader:
    """One reader process per web worker, started on first use.

    Reads go over a socket pair (SOCK_SEQPACKET: one message per read, in order), written
    without blocking by the thread that hands the read on. No thread of the worker waits on
    the reader or wakes for it, so handing a read on costs the worker one `send`. A reader
    that is gone, or so far behind that the socket is full, refuses the read at once, and
    the worker builds that answer itself.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._socket: socket.socket | None = None
        self._process: BaseProcess | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def _started(self) -> socket.socket:
        with self._lock:
            if self._socket is None or self._pid != os.getpid():
                ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                process = multiprocessing.get_context("spawn").Process(
                    target=_serve, args=(theirs, self.settings), name="loops-reader"
                )
                process.start()
                theirs.close()  # the reader has its own copy; ours closing is its end
                if self._pid != os.getpid():
                    # At exit, multiprocessing runs its finalizers before it waits for the
                    # processes it started: the socket closes, so the reader stops.
                    multiprocessing.util.Finalize(self, self.close, exitpriority=100)
                self._socket, self._process, self._pid = ours, process, os.getpid()
            return self._socket

    def submit(self, request: ReadRequest) -> bool:
        """Hand the read to the reader; False when it cannot take it (build it here instead)."""
        message = pickle.dumps(request)
        try:
            self._started().send(message, socket.MSG_DONTWAIT)
        except BlockingIOError:
            logger.warning("the reader process is behind; answering a /loops read in the worker")
            return False
        except OSError as error:
            logger.warning("the reader process cannot take work (%s); answering in the worker", error)
            self._forget()
            return False
        return True

    def _forget(self) -> None:
        """The reader is gone: the next read starts another."""
        with self._lock:
            if self._socket is not None and self._pid == os.getpid():
                self._socket.close()
                if self._process is not None:
                    self._process.join(timeout=0)  # reap it if it has ended
            self._socket = self._process = None

    def close(self) -> None:
        """Stop the reader once it has answered what it was handed (for shutdown and tests)."""
        with self._lock:
            ours, process = self._socket, self._process
            if ours is None or self._pid != os.getpid():
                self._socket = self._process = None
                return
            self._socket = self._process = None
        ours.close()
        if process is not None:
            process.join(timeout=CLOSE_WAIT)
            if process.is_alive():
                logger.warning("the reader process did not stop within %ss; killing it", CLOSE_WAIT)
                process.kill()
                process.join(timeout=5)
