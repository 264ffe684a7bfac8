"""What listeners need beyond the request: the database, settings, the outbox's sender, deferred work."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime

from slack_sdk.errors import SlackApiError

from slackbot.config import Settings
from slackbot.core.enrolment import Defaults
from slackbot.outbox.model import SendRules
from slackbot.outbox.sender import Sender, tick_clock
from slackbot.slack.client import SlackClient
from slackbot.slack.tokens import WorkspaceClients
from slackbot.store.db import Database

logger = logging.getLogger(__name__)


@dataclass
class Services:
    database: Database
    settings: Settings
    sender: Sender
    # Work that talks to Slack after the answer has gone back (see LoopsApp.dispatch).
    background: ThreadPoolExecutor
    # Long work (an export) on a thread of its own, so it never holds up `background`.
    apart: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="loops-apart")
    )
    # The app's idea of now; the demo and tests set it to act out a given morning.
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _pending: set[Future[None]] = field(default_factory=set)
    _pending_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def defaults(self) -> Defaults:
        return self.settings.defaults

    def now(self) -> datetime:
        return self.clock()

    def send_now(self, deliveries: Iterable[int | None]) -> None:
        """Post what a request owes (after its commit), in order; whatever fails here, or is not
        ready yet, the clock sends on its next tick."""
        for delivery_id in deliveries:
            if delivery_id is not None:
                self.sender.send_now(delivery_id, tick_clock(self.now()))

    def run_apart(self, work: Callable[[], object]) -> None:
        """As `run_later`, on the thread for long work: one at a time in this process."""
        self.run_later(work, self.apart)

    def run_later(self, work: Callable[[], object], pool: ThreadPoolExecutor | None = None) -> None:
        def logged() -> None:
            try:
                work()
            except SlackApiError as error:
                # Slack refused (a person who left, a message gone): expected, and nothing to debug.
                logger.warning("deferred work: Slack said %s", error.response.get("error"))
            except Exception:
                logger.exception("deferred work failed")

        future = (pool or self.background).submit(logged)
        with self._pending_lock:
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[None]) -> None:
        with self._pending_lock:
            self._pending.discard(future)

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until deferred work (including work it deferred in turn) has finished.

        For tests, the demo and shutdown: a point where everything a request set off is done.
        """
        while True:
            with self._pending_lock:
                pending = set(self._pending)
            if not pending:
                return
            _, not_done = wait(pending, timeout=timeout)
            if not_done:
                raise TimeoutError(f"{len(not_done)} deferred tasks still running after {timeout}s")

    def shutdown(self) -> None:
        self.settle()
        self.background.shutdown(wait=True)
        self.apart.shutdown(wait=True)


def build_services(settings: Settings, database: Database, client: SlackClient) -> Services:
    return Services(
        database=database,
        settings=settings,
        sender=Sender(
            database,
            client,
            SendRules.from_settings(settings),
            clients=WorkspaceClients(settings, database).for_team if settings.oauth_mode else None,
        ),
        background=ThreadPoolExecutor(max_workers=4, thread_name_prefix="loops-after"),
    )
