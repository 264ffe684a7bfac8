"""One scheduling pass (`tick`) and the APScheduler wiring that repeats it.

Every process that ticks (`clock`, `run`, cron calling `tick`) runs the same pass,
and the pass is safe to run in several processes at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from slackbot.store.db import Database
from slackbot.store.queries import forget_events_before

logger = logging.getLogger(__name__)

TICK_SECONDS = 30
# Slack retries an event for a few minutes at most; two days is a wide margin.
EVENT_MEMORY = timedelta(days=2)


@dataclass(frozen=True)
class TickReport:
    at: datetime
    forgotten_events: int

    def __str__(self) -> str:
        return f"tick at {self.at.isoformat()}: forgot {self.forgotten_events} old event ids"


def tick(database: Database, at: datetime) -> TickReport:
    """One pass of the clock as if the time were `at` (UTC-aware)."""
    with database.transaction() as session:
        forgotten = forget_events_before(session, at - EVENT_MEMORY)
    report = TickReport(at=at, forgotten_events=forgotten)
    logger.debug("%s", report)
    return report


def tick_now(database: Database) -> Callable[[], TickReport]:
    """The scheduled job: a tick at the current time, whose failure is logged, not fatal."""

    def job() -> TickReport:
        return tick(database, datetime.now(UTC))

    return job


def start_background_clock(database: Database) -> BackgroundScheduler:
    """For `run`: the clock in a thread beside the web server."""
    scheduler = BackgroundScheduler(timezone=UTC)
    _add_tick(scheduler, tick_now(database))
    scheduler.start()
    return scheduler


def run_clock(database: Database) -> None:
    """For `clock`: tick every TICK_SECONDS until the process is told to stop."""
    scheduler = BlockingScheduler(timezone=UTC)
    _add_tick(scheduler, tick_now(database))
    logger.info("clock started: a tick every %s seconds", TICK_SECONDS)
    scheduler.start()


def _add_tick(scheduler: BackgroundScheduler | BlockingScheduler, job: Callable[[], TickReport]) -> None:
    scheduler.add_job(
        job,
        IntervalTrigger(seconds=TICK_SECONDS, timezone=UTC),
        id="tick",
        # A slow tick is never run twice at once in one process, and missed runs
        # collapse into one: the next tick catches up on everything due.
        max_instances=1,
        coalesce=True,
        misfire_grace_time=TICK_SECONDS,
        next_run_time=datetime.now(UTC),
    )
