"""What one round of sending passes between its steps: rules, jobs, outcomes and the report."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as time_of_day
from typing import Any

from slackbot.config import Settings
from slackbot.core.deliveries import DeliveryState, Failure
from slackbot.core.enrolment import Defaults
from slackbot.core.shipments import Wait


@dataclass
class SendRules:
    catch_up: timedelta
    day_end: time_of_day = time_of_day(18, 0)
    concurrency: int = 32
    per_second: float = 0.0
    # Check-ins are timed by the person's schedule (their own, or these defaults).
    defaults: Defaults = field(default_factory=lambda: Defaults(time_of_day(9, 30), frozenset(range(5))))
    checkin_give_up: Wait = field(default_factory=lambda: Wait(workdays=10))

    @classmethod
    def from_settings(cls, settings: Settings) -> SendRules:
        return cls(
            catch_up=settings.loops_catch_up,
            day_end=settings.loops_day_end,
            defaults=settings.defaults,
            checkin_give_up=settings.loops_checkin_give_up,
            concurrency=settings.loops_send_concurrency,
            per_second=settings.loops_send_rate,
        )


@dataclass
class SendReport:
    sent: int = 0
    found_in_slack: int = 0
    retried: int = 0
    rate_limited: int = 0
    failed: int = 0
    missed: int = 0
    skipped: int = 0
    waiting: int = 0  # claimed, but not due after all (check-ins follow the person's schedule)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, name: str, by: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + by)


@dataclass(frozen=True)
class Ended:
    """A delivery that ends without a post: how, why, and which report counter it adds to.

    `where` is the conversation (channel, thread) in which an earlier attempt would have
    posted it, when Slack can still be asked; None when it cannot (or need not) be.
    """

    state: DeliveryState
    reason: str | None
    counter: str | None
    where: tuple[str | None, str | None] | None = None


@dataclass(frozen=True)
class Later:
    """A delivery that is not due yet after all (a check-in whose day moved): try again at `at`.

    `where`, as for `Ended`: the thread an earlier attempt would have posted in, so that a
    delivery which may be in Slack already is looked for before it waits.
    """

    at: datetime
    reason: str
    where: tuple[str | None, str | None] | None = None


@dataclass(frozen=True)
class Removal:
    """A post of ours to delete: its ts, or (None) the delivery whose post to find first."""

    ts: str | None
    of_delivery: int | None = None


@dataclass(frozen=True)
class Draft:
    """A message ready to post: where (None: the person's DM, opened first) and what;
    or, with `removal`, a post of ours to delete there."""

    channel: str | None
    thread_ts: str | None
    body: dict[str, Any]
    removal: Removal | None = None


@dataclass(frozen=True)
class Job:
    """One claimed delivery, read from the database: everything the Slack half needs, no ORM."""

    delivery_id: int
    person_id: int | None  # None: owed to the workspace (a digest), always to a channel
    slack_user_id: str | None
    channel: str | None  # None: the person's DM, opened first
    thread_ts: str | None
    body: dict[str, Any] | None  # None: only look for an earlier attempt's post
    otherwise: Ended | Later | None  # how a look-only job ends when nothing is found
    maybe_posted: bool
    since: datetime  # where to start looking for an earlier attempt's post
    started: datetime  # wall-clock start of this attempt (Slack's ts are wall-clock too)
    post_by: float  # monotonic time after which no Slack call may start (the lease runs out)
    team_id: str | None = None  # the workspace, whose token sends it (OAuth mode)
    removal: Removal | None = None  # not a post: a post of ours to delete


@dataclass
class Outcome:
    """What Slack did with a job: a ts (posted now or found), or why not."""

    job: Job
    channel: str | None = None
    ts: str | None = None
    found: bool = False
    looked: bool = False  # this attempt asked Slack whether an earlier one had posted
    failure: Failure | None = None
    ended: Ended | Later | None = None
    gave_back: bool = False
