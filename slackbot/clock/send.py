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
from typing import Any

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

    def wait(self) -> None:
        with self._lock:
            now = self._monotonic()
            slot = max(now, self._next_slot, self._held_until)
            self._next_slot = slot + self.interval
        if slot > now:
            time.sleep(slot - now)

    def hold(self, seconds: float) -> None:
        """Slack said 429: nobody in this workspace calls again before `seconds` from now."""
        with self._lock:
            self._held_until = max(self._held_until, self._monotonic() + seconds)


@dataclass
class SendRules:
    catch_up: timedelta
    concurrency: int = 16
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
    """A delivery that ends without a post: how, why, and which report counter it adds to."""

    state: DeliveryState
    reason: str | None
    counter: str | None


@dataclass(frozen=True)
class Job:
    """One message to post, read from the database: everything the Slack half needs, no ORM."""

    delivery_id: int
    workspace_id: int
    person_id: int
    slack_user_id: str
    channel: str | None  # None: the person's DM, opened first
    thread_ts: str | None
    body: dict[str, Any]
    maybe_posted: bool
    since: datetime  # where to start looking for an earlier attempt's post


@dataclass
class Outcome:
    """What Slack did with a job: a ts (posted now or found), or why not."""

    job: Job
    channel: str | None = None
    ts: str | None = None
    found: bool = False
    failure: Failure | None = None


class Sender:
    """Sends due deliveries through one Slack client; shared by the clock and the app.

    Each round claims a batch, reads all of it in one transaction, posts in a bounded pool
    of threads (only Slack calls there, no database), and records every outcome in one
    transaction: the database work per message stays small however many are due.
    """

    def __init__(
        self, database: Database, client: WebClient, rules: SendRules, *, owner: str | None = None
    ) -> None:
        self.database = database
        self.client = client
        self.rules = rules
        self.owner = owner or owner_name()
        self._pacers: dict[int, Pacer] = {}
        self._pacers_lock = threading.Lock()

    def send_due(self, clock: Callable[[], datetime]) -> SendReport:
        """Claim and send until nothing is ready; `clock` is the tick's time, moving forward."""
        report = SendReport()
        batch = max(50, self.rules.concurrency * 8)
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
        jobs = self._prepare(dict(claimed), clock(), report)
        outcomes = list(pool.map(lambda job: self._attempt(job, report), jobs))
        self._record(outcomes, clock(), report)
        return True

    # -- read: one transaction for the batch -----------------------------------------------

    def _prepare(self, claimed: dict[int, bool], now: datetime, report: SendReport) -> list[Job]:
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
                if isinstance(decided, Ended):
                    _finish(delivery, decided.state, decided.reason)
                    if decided.counter:
                        report.count(decided.counter)
                    continue
                channel, thread_ts, body = decided
                jobs.append(
                    Job(
                        delivery_id=delivery.id,
                        workspace_id=delivery.workspace_id,
                        person_id=person.id,
                        slack_user_id=person.slack_user_id,
                        channel=channel,
                        thread_ts=thread_ts,
                        body=body,
                        maybe_posted=claimed[delivery.id],
                        since=delivery.first_attempt_at or delivery.created_at,
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
        reason = _no_longer_wanted(delivery, person, workspace)
        if reason:
            return Ended(DeliveryState.SKIPPED, reason, "skipped")
        kind = DeliveryKind(delivery.kind)
        if kind in {DeliveryKind.PROMPT, DeliveryKind.NUDGE} and now - delivery.due_at > self.rules.catch_up:
            return Ended(
                DeliveryState.MISSED, f"{now - delivery.due_at} late; catch-up window passed", "missed"
            )
        if kind is DeliveryKind.PROMPT:
            body = prompt_message(
                prompt_id=delivery.id,
                welcome_back=person.welcome_back,
                loops=loops.get(person.id, []),
                now=now,
            )
            return person.dm_channel, None, body
        if kind is DeliveryKind.NUDGE:
            prompt = prompt_of(session, person, delivery.key)
            if prompt is not None and prompt.answer:
                return Ended(DeliveryState.SKIPPED, "the prompt was answered", "skipped")
            if prompt is None or prompt.state != DeliveryState.SENT:
                return Ended(DeliveryState.SKIPPED, "no prompt was sent", "skipped")
            return prompt.channel, prompt.slack_ts, nudge_message()
        loop = session.get(Loop, delivery.loop_id)
        assert loop is not None and loop.person_id == person.id
        if loop.thread_ts:
            return Ended(DeliveryState.SENT, None, None)
        return person.dm_channel, None, loop_root_message(loop, zone(person.tz))

    # -- Slack: in the pool, no database ---------------------------------------------------

    def _attempt(self, job: Job, report: SendReport) -> Outcome:
        pacer = self._pacer(job.workspace_id)
        try:
            channel = job.channel
            if channel is None:
                try:
                    opened = self._call(
                        pacer, report, self.client.conversations_open, users=job.slack_user_id
                    )
                except Exception as error:
                    # Opening a DM posts nothing: whatever happened, nothing can be in Slack yet.
                    failure = _failure_of(error)
                    return Outcome(
                        job, failure=Failure(failure.verdict, failure.reason, outcome_unknown=False)
                    )
                channel = str(opened["channel"]["id"])
            if job.maybe_posted:
                try:
                    found = self._find_posted(job, channel, pacer, report)
                except Exception as error:
                    # Not knowing whether it was posted, never post blindly: try again later.
                    failure = _failure_of(error)
                    return Outcome(
                        job, channel, failure=Failure(failure.verdict, failure.reason, outcome_unknown=True)
                    )
                if found:
                    return Outcome(job, channel, ts=found, found=True)
            try:
                response = self._call(
                    pacer,
                    report,
                    self.client.chat_postMessage,
                    channel=channel,
                    thread_ts=job.thread_ts,
                    metadata={
                        "event_type": DELIVERY_EVENT,
                        "event_payload": {"delivery_id": job.delivery_id},
                    },
                    **job.body,
                )
            except Exception as error:
                return Outcome(job, channel, failure=_failure_of(error))
            return Outcome(job, str(response["channel"]), ts=str(response["ts"]))
        except Exception as error:
            # A bug of ours must not kill the pool; treat it as a failure whose outcome is unknown.
            logger.exception("delivery %s: unexpected error", job.delivery_id)
            return Outcome(job, failure=Failure(Verdict.RETRY, repr(error), outcome_unknown=True))

    def _call(self, pacer: Pacer, report: SendReport, method: Callable[..., Any], **arguments: Any) -> Any:
        """One Web API call, paced; a 429 holds the whole workspace for Retry-After, then tries again."""
        for attempt in range(RATE_LIMIT_WAITS + 1):
            pacer.wait()
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
                self._pacers[workspace_id] = Pacer(self.rules.per_second)
            return self._pacers[workspace_id]

    # -- write: one transaction for the batch ----------------------------------------------

    def _record(self, outcomes: list[Outcome], now: datetime, report: SendReport) -> None:
        if not outcomes:
            return
        with self.database.session() as session, session.begin():
            ids = [o.job.delivery_id for o in outcomes]
            deliveries = {d.id: d for d in session.scalars(select(Delivery).where(Delivery.id.in_(ids)))}
            people = {
                p.id: p
                for p in session.scalars(
                    select(Person).where(Person.id.in_({o.job.person_id for o in outcomes}))
                )
            }
            for outcome in outcomes:
                delivery, person = deliveries[outcome.job.delivery_id], people[outcome.job.person_id]
                if outcome.channel and outcome.channel.startswith("D") and person.dm_channel is None:
                    person.dm_channel = outcome.channel
                if outcome.failure is None:
                    self._sent(session, delivery, person, outcome, now, report)
                else:
                    self._not_sent(session, delivery, person, outcome.failure, now, report)

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
        failure: Failure,
        now: datetime,
        report: SendReport,
    ) -> None:
        if failure.verdict in {Verdict.RETRY, Verdict.RATE_LIMITED}:
            self._retry_later(delivery, now, failure, report)
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

    def _retry_later(self, delivery: Delivery, now: datetime, failure: Failure, report: SendReport) -> None:
        delivery.maybe_posted = failure.outcome_unknown
        delivery.lease_owner = delivery.lease_until = None
        delivery.last_error = failure.reason
        if failure.verdict is Verdict.RATE_LIMITED:
            delivery.state, delivery.ready_at = DeliveryState.PENDING, now
            return
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


def _no_longer_wanted(delivery: Delivery, person: Person, workspace: Workspace) -> str | None:
    if workspace.uninstalled_at is not None:
        return "the workspace uninstalled Loops"
    if person.deactivated:
        return "the person's account is deactivated"
    if person.blocked_reason:
        return f"Slack refuses messages to this person ({person.blocked_reason})"
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
