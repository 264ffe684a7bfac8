"""Deliveries → Slack messages: claim with a lease, send, record the ts or the reason why not.

Exactly once: chat.postMessage has no idempotency key, so every message carries its
delivery id in message metadata. Whenever an earlier attempt may have reached Slack
(a timeout, a 5xx, a process killed mid-send), the sender first looks for that id in
the conversation and records what it finds instead of posting again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as time_of_day
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.orm import Session

from slackbot.app.blocks.loop import loop_root_message
from slackbot.app.blocks.prompt import LOOPS_SHOWN, nudge_message, prompt_message
from slackbot.app.ids import DELIVERY_EVENT
from slackbot.core.deliveries import (
    LEASE,
    MAX_ATTEMPTS,
    DeliveryKind,
    DeliveryState,
    Failure,
    Verdict,
    backoff,
    judge,
)
from slackbot.core.schedule import zone
from slackbot.store.db import Database
from slackbot.store.models import Delivery, Loop, Person, Workspace
from slackbot.store.queries import claim_deliveries, open_loops_of, prompt_of

logger = logging.getLogger(__name__)

# Waiting out a Retry-After longer than this would hold a claim too long: release it instead.
LONGEST_WAIT = 60.0
RATE_LIMIT_WAITS = 3


def owner_name() -> str:
    """Who holds a lease, for logs and for telling claimers apart."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Pacer:
    """Paces one workspace's calls: an optional steady ceiling, and a hold after each 429."""

    def __init__(self, per_second: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._next_slot = 0.0
        self._held_until = 0.0

    def wait(self, deadline: float = float("inf")) -> None:
        """Wait for this caller's turn; raise LeaseRunningOut rather than wait past `deadline`."""
        with self._lock:
            now = self._monotonic()
            slot = max(now, self._next_slot, self._held_until)
            if slot > deadline:
                raise LeaseRunningOut
            self._next_slot = slot + self.interval
        if slot > now:
            time.sleep(slot - now)

    def hold(self, seconds: float) -> None:
        """Slack said 429: nobody in this workspace calls again before `seconds` from now."""
        with self._lock:
            self._held_until = max(self._held_until, self._monotonic() + seconds)


class LeaseRunningOut(Exception):
    """Too little of the claim's lease is left to start a Slack call: give the job back."""


@dataclass
class SendRules:
    catch_up: timedelta
    day_end: time_of_day = time_of_day(18, 0)
    concurrency: int = 32
    per_second: float = 0.0


@dataclass
class SendReport:
    sent: int = 0
    found_in_slack: int = 0
    retried: int = 0
    rate_limited: int = 0
    failed: int = 0
    missed: int = 0
    skipped: int = 0
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
class Job:
    """One claimed delivery, read from the database: everything the Slack half needs, no ORM."""

    delivery_id: int
    workspace_id: int
    person_id: int
    slack_user_id: str
    channel: str | None  # None: the person's DM, opened first
    thread_ts: str | None
    body: dict[str, Any] | None  # None: only look for an earlier attempt's post
    otherwise: Ended | None  # how a look-only job ends when nothing is found
    maybe_posted: bool
    since: datetime  # where to start looking for an earlier attempt's post
    post_by: float  # monotonic time after which no Slack call may start (the lease runs out)


@dataclass
class Outcome:
    """What Slack did with a job: a ts (posted now or found), or why not."""

    job: Job
    channel: str | None = None
    ts: str | None = None
    found: bool = False
    looked: bool = False  # this attempt asked Slack whether an earlier one had posted
    failure: Failure | None = None
    ended: Ended | None = None
    gave_back: bool = False


# A post is not started with less lease than this left: a Slack call takes at most the
# client's timeout (10 s), so the lease cannot run out while one is in flight.
LEASE_MARGIN = timedelta(seconds=30)


class Sender:
    """Sends due deliveries through one Slack client; shared by the clock and the app.

    Each round claims a small batch, reads all of it in one transaction, makes the Slack
    calls in a bounded pool of threads (no database there), and records every outcome in
    one transaction, only for deliveries this sender still holds.
    """

    def __init__(
        self,
        database: Database,
        client: WebClient,
        rules: SendRules,
        *,
        owner: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.database = database
        self.client = client
        self.rules = rules
        self.owner = owner or owner_name()
        self.monotonic = monotonic
        self._pacers: dict[int, Pacer] = {}
        self._pacers_lock = threading.Lock()

    def send_due(self, clock: Callable[[], datetime]) -> SendReport:
        """Claim and send until nothing is ready; `clock` is the tick's time, moving forward."""
        report = SendReport()
        # Two jobs per thread: enough to keep the pool busy, small enough that a round
        # ends long before its lease does.
        batch = self.rules.concurrency * 2
        with ThreadPoolExecutor(max_workers=self.rules.concurrency, thread_name_prefix="loops-send") as pool:
            while self._round(clock, report, pool, limit=batch, only=None):
                pass
        return report

    def send_now(self, delivery_id: int, clock: Callable[[], datetime]) -> SendReport:
        """Send one delivery at once if it is ready (used right after a listener stored it)."""
        report = SendReport()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="loops-send-now") as pool:
            self._round(clock, report, pool, limit=1, only=delivery_id)
        return report

    def _round(
        self,
        clock: Callable[[], datetime],
        report: SendReport,
        pool: ThreadPoolExecutor,
        *,
        limit: int,
        only: int | None,
    ) -> bool:
        with self.database.session() as session, session.begin():
            claimed = claim_deliveries(
                session, clock(), owner=self.owner, lease=LEASE, limit=limit, only=only
            )
        if not claimed:
            return False
        post_by = self.monotonic() + (LEASE - LEASE_MARGIN).total_seconds()
        jobs = self._prepare(dict(claimed), clock(), post_by, report)
        outcomes = list(pool.map(lambda job: self._attempt(job, report), jobs))
        self._record(outcomes, clock(), report)
        # A round that had to give everything back (it ran out of lease before any call)
        # ends the pass rather than spinning; the next tick takes it up.
        return not outcomes or not all(outcome.gave_back for outcome in outcomes)

    # -- read: one transaction for the batch -----------------------------------------------

    def _prepare(
        self, claimed: dict[int, bool], now: datetime, post_by: float, report: SendReport
    ) -> list[Job]:
        jobs: list[Job] = []
        with self.database.session() as session, session.begin():
            deliveries = session.scalars(select(Delivery).where(Delivery.id.in_(claimed))).all()
            people = {
                p.id: p
                for p in session.scalars(
                    select(Person).where(Person.id.in_({d.person_id for d in deliveries}))
                )
            }
            workspaces = {
                w.id: w
                for w in session.scalars(
                    select(Workspace).where(Workspace.id.in_({d.workspace_id for d in deliveries}))
                )
            }
            prompted = [people[d.person_id] for d in deliveries if d.kind == DeliveryKind.PROMPT]
            loops = open_loops_of(session, prompted, LOOPS_SHOWN)
            for delivery in deliveries:
                person = people[delivery.person_id]
                decided = self._decide(
                    session, delivery, person, workspaces[delivery.workspace_id], loops, now
                )
                maybe_posted = claimed[delivery.id]
                if isinstance(decided, Ended) and not (maybe_posted and decided.where is not None):
                    _finish(delivery, decided.state, decided.reason)
                    if decided.counter:
                        report.count(decided.counter)
                    continue
                # A delivery that may be in Slack already is looked up before it is ended.
                if isinstance(decided, Ended):
                    assert decided.where is not None
                    (channel, thread_ts), body, otherwise = decided.where, None, decided
                else:
                    (channel, thread_ts, body), otherwise = decided, None
                jobs.append(
                    Job(
                        delivery_id=delivery.id,
                        workspace_id=delivery.workspace_id,
                        person_id=person.id,
                        slack_user_id=person.slack_user_id,
                        channel=channel,
                        thread_ts=thread_ts,
                        body=body,
                        otherwise=otherwise,
                        maybe_posted=maybe_posted,
                        since=delivery.first_attempt_at or delivery.created_at,
                        post_by=post_by,
                    )
                )
        return jobs

    def _decide(
        self,
        session: Session,
        delivery: Delivery,
        person: Person,
        workspace: Workspace,
        loops: dict[int, list[Loop]],
        now: datetime,
    ) -> tuple[str | None, str | None, dict[str, Any]] | Ended:
        """Where the message goes and what it says now (open loops change), or why it is not sent."""
        kind = DeliveryKind(delivery.kind)
        reason = _no_longer_wanted(delivery, person, workspace)
        if reason in {WORKSPACE_GONE_REASON, PERSON_GONE_REASON}:
            return Ended(DeliveryState.SKIPPED, reason, "skipped")  # Slack cannot be asked anyway
        if kind is DeliveryKind.LOOP_ROOT:
            loop = session.get(Loop, delivery.loop_id)
            assert loop is not None and loop.person_id == person.id
            if loop.thread_ts:
                return Ended(DeliveryState.SENT, None, None)
            return person.dm_channel, None, loop_root_message(loop, zone(person.tz))
        if kind is DeliveryKind.PROMPT:
            where: tuple[str | None, str | None] | None = (person.dm_channel, None)
        else:
            prompt = prompt_of(session, person, delivery.key)
            where = (prompt.channel, prompt.slack_ts) if prompt is not None and prompt.slack_ts else None
            if prompt is not None and prompt.answer:
                reason = reason or "the prompt was answered"
            elif where is None:
                reason = reason or "no prompt was sent"
        if reason:
            return Ended(DeliveryState.SKIPPED, reason, "skipped", where)
        if now - delivery.due_at > self.rules.catch_up:
            late = f"{now - delivery.due_at} late; catch-up window passed"
            return Ended(DeliveryState.MISSED, late, "missed", where)
        if kind is DeliveryKind.NUDGE:
            local = now.astimezone(zone(person.tz))
            if local.date().isoformat() != delivery.key or local.time() > self.rules.day_end:
                return Ended(DeliveryState.MISSED, "the working day was over", "missed", where)
            assert where is not None
            return where[0], where[1], nudge_message()
        body = prompt_message(
            prompt_id=delivery.id, welcome_back=person.welcome_back, loops=loops.get(person.id, []), now=now
        )
        return person.dm_channel, None, body

    # -- Slack: in the pool, no database ---------------------------------------------------

    def _attempt(self, job: Job, report: SendReport) -> Outcome:
        pacer = self._pacer(job.workspace_id)
        channel = job.channel
        looked = False
        try:
            if channel is None:
                try:
                    opened = self._call(
                        pacer, report, job, self.client.conversations_open, users=job.slack_user_id
                    )
                except (LeaseRunningOut, SlackApiError, OSError, URLError) as error:
                    if isinstance(error, LeaseRunningOut):
                        raise
                    # Opening a DM posts nothing; what an earlier attempt did is as unknown as before.
                    failure = _failure_of(error)
                    return Outcome(
                        job, failure=Failure(failure.verdict, failure.reason, outcome_unknown=False)
                    )
                channel = str(opened["channel"]["id"])
            if job.maybe_posted:
                try:
                    found = self._find_posted(job, channel, pacer, report)
                except (SlackApiError, OSError, URLError) as error:
                    # Not knowing whether it was posted, never post blindly: try again later.
                    failure = _failure_of(error)
                    return Outcome(
                        job, channel, failure=Failure(failure.verdict, failure.reason, outcome_unknown=True)
                    )
                looked = True
                if found:
                    return Outcome(job, channel, ts=found, found=True, looked=True)
            if job.body is None:
                return Outcome(job, channel, looked=looked, ended=job.otherwise)
            try:
                response = self._call(
                    pacer,
                    report,
                    job,
                    self.client.chat_postMessage,
                    channel=channel,
                    thread_ts=job.thread_ts,
                    metadata={
                        "event_type": DELIVERY_EVENT,
                        "event_payload": {"delivery_id": job.delivery_id},
                    },
                    **job.body,
                )
            except (SlackApiError, OSError, URLError) as error:
                return Outcome(job, channel, looked=looked, failure=_failure_of(error))
            return Outcome(job, str(response["channel"]), ts=str(response["ts"]), looked=looked)
        except LeaseRunningOut:
            return Outcome(job, channel, looked=looked, gave_back=True)
        except Exception as error:
            # A bug of ours must not kill the pool; treat it as a failure whose outcome is unknown.
            logger.exception("delivery %s: unexpected error", job.delivery_id)
            return Outcome(job, channel, failure=Failure(Verdict.RETRY, repr(error), outcome_unknown=True))

    def _call(
        self, pacer: Pacer, report: SendReport, job: Job, method: Callable[..., Any], **arguments: Any
    ) -> Any:
        """One Web API call, paced; a 429 holds the whole workspace for Retry-After, then tries again.

        No call starts after the job's `post_by`: its lease could run out mid-call, and
        another sender could then post the same delivery.
        """
        for attempt in range(RATE_LIMIT_WAITS + 1):
            pacer.wait(deadline=job.post_by)
            if self.monotonic() > job.post_by:
                raise LeaseRunningOut
            try:
                return method(**arguments)
            except SlackApiError as error:
                if _failure_of(error).verdict is not Verdict.RATE_LIMITED:
                    raise
                seconds = _retry_after(error)
                pacer.hold(seconds)
                report.count("rate_limited")
                if attempt == RATE_LIMIT_WAITS or seconds > LONGEST_WAIT:
                    raise
        raise AssertionError("unreachable")

    def _find_posted(self, job: Job, channel: str, pacer: Pacer, report: SendReport) -> str | None:
        """The ts of this delivery's message if an earlier attempt did post it."""
        # A thread reply is found among the thread's replies, a top-level post in the history.
        method, where = (
            (self.client.conversations_replies, {"ts": job.thread_ts})
            if job.thread_ts
            else (self.client.conversations_history, {})
        )
        response = self._call(
            pacer,
            report,
            job,
            method,
            channel=channel,
            oldest=f"{job.since.timestamp() - 120:.6f}",
            include_all_metadata=True,
            limit=200,
            **where,
        )
        for posted in response.get("messages") or []:
            metadata = posted.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == DELIVERY_EVENT and payload.get("delivery_id") == job.delivery_id:
                return str(posted["ts"])
        return None

    def _pacer(self, workspace_id: int) -> Pacer:
        with self._pacers_lock:
            if workspace_id not in self._pacers:
                self._pacers[workspace_id] = Pacer(self.rules.per_second, self.monotonic)
            return self._pacers[workspace_id]

    # -- write: one transaction for the batch ----------------------------------------------

    def _record(self, outcomes: list[Outcome], now: datetime, report: SendReport) -> None:
        if not outcomes:
            return
        with self.database.session() as session, session.begin():
            ids = [o.job.delivery_id for o in outcomes]
            held = {
                d.id: d
                for d in session.scalars(
                    select(Delivery).where(
                        Delivery.id.in_(ids),
                        Delivery.state == DeliveryState.CLAIMED,
                        Delivery.lease_owner == self.owner,
                    )
                )
            }
            people = {
                p.id: p
                for p in session.scalars(
                    select(Person).where(Person.id.in_({o.job.person_id for o in outcomes}))
                )
            }
            for outcome in outcomes:
                delivery, person = held.get(outcome.job.delivery_id), people[outcome.job.person_id]
                if outcome.channel and outcome.channel.startswith("D") and person.dm_channel is None:
                    person.dm_channel = outcome.channel
                if delivery is None:
                    # The lease ran out and another sender took the delivery over: it decides.
                    logger.warning("delivery %s: lease lost before recording", outcome.job.delivery_id)
                    continue
                if outcome.gave_back:
                    delivery.state, delivery.ready_at = DeliveryState.PENDING, now
                    delivery.lease_owner = delivery.lease_until = None
                    delivery.maybe_posted = outcome.job.maybe_posted
                elif outcome.ended is not None:
                    _finish(delivery, outcome.ended.state, outcome.ended.reason)
                    if outcome.ended.counter:
                        report.count(outcome.ended.counter)
                elif outcome.failure is None:
                    self._sent(session, delivery, person, outcome, now, report)
                else:
                    self._not_sent(session, delivery, person, outcome, now, report)

    def _sent(
        self,
        session: Session,
        delivery: Delivery,
        person: Person,
        outcome: Outcome,
        now: datetime,
        report: SendReport,
    ) -> None:
        assert outcome.channel is not None and outcome.ts is not None
        delivery.channel, delivery.slack_ts, delivery.sent_at = outcome.channel, outcome.ts, now
        _finish(delivery, DeliveryState.SENT, None)
        if delivery.kind == DeliveryKind.PROMPT:
            person.welcome_back = False
        elif delivery.kind == DeliveryKind.LOOP_ROOT:
            loop = session.get(Loop, delivery.loop_id)
            if loop is not None:
                loop.channel, loop.thread_ts = outcome.channel, outcome.ts
        report.count("sent")
        if outcome.found:
            report.count("found_in_slack")

    def _not_sent(
        self,
        session: Session,
        delivery: Delivery,
        person: Person,
        outcome: Outcome,
        now: datetime,
        report: SendReport,
    ) -> None:
        failure = outcome.failure
        assert failure is not None
        if failure.verdict in {Verdict.RETRY, Verdict.RATE_LIMITED}:
            # Still unknown if this attempt may have posted, or if an earlier one may have and
            # nobody has looked since.
            maybe_posted = failure.outcome_unknown or (outcome.job.maybe_posted and not outcome.looked)
            self._retry_later(delivery, now, failure, maybe_posted, report)
            return
        _finish(delivery, DeliveryState.FAILED, failure.reason)
        report.count("failed")
        if failure.verdict is Verdict.PERSON_GONE:
            if person.blocked_reason is None:
                person.blocked_reason = failure.reason
                person.next_prompt_at = None
                logger.warning(
                    "Slack refuses messages to %s (%s): their prompts stop until they are back",
                    person.slack_user_id,
                    failure.reason,
                )
        elif failure.verdict is Verdict.WORKSPACE_GONE:
            workspace = session.get(Workspace, person.workspace_id)
            if workspace is not None and workspace.uninstalled_at is None:
                workspace.uninstalled_at = now
                logger.error(
                    "Slack refuses the bot token for team %s (%s): deliveries stop until reinstalled",
                    workspace.team_id,
                    failure.reason,
                )
        else:
            logger.error("delivery %s refused by Slack: %s", delivery.id, failure.reason)

    def _retry_later(
        self, delivery: Delivery, now: datetime, failure: Failure, maybe_posted: bool, report: SendReport
    ) -> None:
        delivery.maybe_posted = maybe_posted
        delivery.lease_owner = delivery.lease_until = None
        delivery.last_error = failure.reason
        delivery.attempts += 1
        if delivery.attempts >= MAX_ATTEMPTS:
            _finish(
                delivery,
                DeliveryState.FAILED,
                f"gave up after {delivery.attempts} attempts: {failure.reason}",
            )
            logger.error("delivery %s: %s", delivery.id, delivery.last_error)
            report.count("failed")
            return
        delivery.state, delivery.ready_at = DeliveryState.PENDING, now + backoff(delivery.attempts)
        report.count("retried")


WORKSPACE_GONE_REASON = "the workspace uninstalled Loops"
PERSON_GONE_REASON = "Slack cannot reach this person"


def _no_longer_wanted(delivery: Delivery, person: Person, workspace: Workspace) -> str | None:
    if workspace.uninstalled_at is not None:
        return WORKSPACE_GONE_REASON
    if person.deactivated or person.blocked_reason:
        return PERSON_GONE_REASON
    if delivery.kind in {DeliveryKind.PROMPT, DeliveryKind.NUDGE}:
        if not person.enrolled:
            return "the person stopped the morning prompt"
        if person.paused_until is not None and delivery.key < person.paused_until.isoformat():
            return "the person paused the morning prompt"
    return None


def _finish(delivery: Delivery, state: DeliveryState, reason: str | None) -> None:
    delivery.state = state
    delivery.last_error = reason
    delivery.lease_owner = delivery.lease_until = None
    delivery.maybe_posted = False


def _failure_of(error: Exception) -> Failure:
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", None)
        data = error.response.data if isinstance(error.response.data, dict) else {}
        return judge(status=status, error=data.get("error"))
    return judge(status=None, error=type(error).__name__)


def _retry_after(error: Exception) -> float:
    if isinstance(error, SlackApiError):
        headers = error.response.headers or {}
        for name, value in headers.items():
            if name.lower() == "retry-after":
                raw = value[0] if isinstance(value, list) else value
                try:
                    return max(0.0, float(raw))
                except ValueError:
                    break
    return 1.0


def tick_clock(start: datetime, monotonic: Callable[[], float] = time.monotonic) -> Callable[[], datetime]:
    """The tick's time: `start`, moving forward with real time while the pass runs."""
    began = monotonic()
    return lambda: start + timedelta(seconds=monotonic() - began)
