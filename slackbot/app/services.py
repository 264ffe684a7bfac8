"""What listeners need beyond the request: the database, settings, the sender, deferred work."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime

from slack_sdk import WebClient

from slackbot.clock.plan import PlanRules
from slackbot.clock.send import Sender, SendRules
from slackbot.config import Settings
from slackbot.core.enrolment import Defaults
from slackbot.store.db import Database

logger = logging.getLogger(__name__)


@dataclass
class Services:
    database: Database
    settings: Settings
    sender: Sender
    # Work that talks to Slack after the answer has gone back (see LoopsApp.dispatch).
    background: ThreadPoolExecutor
    # The app's idea of now; the demo and tests set it to act out a given morning.
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _pending: set[Future[None]] = field(default_factory=set)
    _pending_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def defaults(self) -> Defaults:
        return defaults_of(self.settings)

    def now(self) -> datetime:
        return self.clock()

    def run_later(self, work: Callable[[], object]) -> None:
        def logged() -> None:
            try:
                work()
            except Exception:
                logger.exception("deferred work failed")

        future = self.background.submit(logged)
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


def defaults_of(settings: Settings) -> Defaults:
    return Defaults(
        prompt_time=settings.loops_prompt_time,
        workdays=settings.loops_workdays,
        catch_up=settings.loops_catch_up,
    )


def plan_rules(settings: Settings) -> PlanRules:
    return PlanRules(
        defaults=defaults_of(settings),
        catch_up=settings.loops_catch_up,
        nudge_after=settings.loops_nudge_after,
        day_end=settings.loops_day_end,
    )


def send_rules(settings: Settings) -> SendRules:
    return SendRules(
        catch_up=settings.loops_catch_up,
        day_end=settings.loops_day_end,
        concurrency=settings.loops_send_concurrency,
        per_second=settings.loops_send_rate,
    )


def build_services(settings: Settings, database: Database, client: WebClient) -> Services:
    return Services(
        database=database,
        settings=settings,
        sender=Sender(database, client, send_rules(settings)),
        background=ThreadPoolExecutor(max_workers=4, thread_name_prefix="loops-after"),
    )
