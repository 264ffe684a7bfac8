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
from slackbot.store.queries import claim_deliveries, open_loops, prompt_of

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
    concurrency: int = 8
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

    def count(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)


@dataclass(frozen=True)
class Outgoing:
    """What to post: the channel (None: the person's DM, opened on demand) and the message."""

    channel: str | None
    thread_ts: str | None
    body: dict[str, Any]


@dataclass(frozen=True)
class Ended:
    """A delivery that ends without a post: how, why, and which report counter it adds to."""

    state: DeliveryState
    reason: str | None
    counter: str | None


class _Finished(Exception):
    """The delivery ended without a post (skipped, missed, already there); state is recorded."""


class Sender:
    """Sends due deliveries through one Slack client; shared by the clock and the app."""

    def __init__(
        self,
        database: Database,
        client: WebClient,
        rules: SendRules,
        *,
        owner: str | None = None,
    ) -> None:
        self.database = database
        self.client = client
        self.rules = rules
        self.owner = owner or owner_name()
        self._pacers: dict[int, Pacer] = {}
        self._pacers_lock = threading.Lock()

    # -- entry points -----------------------------------------------------------------------

    def send_due(self, clock: Callable[[], datetime]) -> SendReport:
        """Claim and send until nothing is ready; `clock` is the tick's time, moving forward."""
        report = SendReport()
        batch = self.rules.concurrency * 4
        with ThreadPoolExecutor(max_workers=self.rules.concurrency, thread_name_prefix="loops-send") as pool:
            while True:
                with self.database.session() as session, session.begin():
                    claimed = claim_deliveries(session, clock(), owner=self.owner, lease=LEASE, limit=batch)
                if not claimed:
                    return report
                futures = [
                    pool.submit(self._deliver_logged, delivery_id, maybe_posted, clock, report)
                    for delivery_id, maybe_posted in claimed
                ]
                for future in futures:
                    future.result()

    def send_now(self, delivery_id: int, clock: Callable[[], datetime]) -> SendReport:
        """Send one delivery at once if it is ready (used right after a listener stored it)."""
        report = SendReport()
        with self.database.session() as session, session.begin():
            claimed = claim_deliveries(
                session, clock(), owner=self.owner, lease=LEASE, limit=1, only=delivery_id
            )
        for claimed_id, maybe_posted in claimed:
            self._deliver_logged(claimed_id, maybe_posted, clock, report)
        return report

    # -- one delivery -----------------------------------------------------------------------

    def _deliver_logged(
        self, delivery_id: int, maybe_posted: bool, clock: Callable[[], datetime], report: SendReport
    ) -> None:
        try:
            self._deliver(delivery_id, maybe_posted, clock, report)
        except _Finished:
            pass
        except Exception as error:
            # A bug of ours must not kill the pool; the lease expires and the next tick retries.
            logger.exception("delivery %s: unexpected error", delivery_id)
            self._retry_later(delivery_id, clock(), Failure(Verdict.RETRY, repr(error), True), report)

    def _deliver(
        self, delivery_id: int, maybe_posted: bool, clock: Callable[[], datetime], report: SendReport
    ) -> None:
        outgoing, person = self._compose(delivery_id, clock(), report)
        pacer = self._pacer(person.workspace_id)
        channel = outgoing.channel or self._dm_channel(person, delivery_id, clock, pacer, report)
        if maybe_posted:
            found = self._find_posted(delivery_id, channel, outgoing.thread_ts, clock, pacer, report)
            if found:
                report.count("found_in_slack")
                self._record_sent(delivery_id, channel, found, clock(), report)
                return
        try:
            response = self._call(
                pacer,
                report,
                self.client.chat_postMessage,
                channel=channel,
                thread_ts=outgoing.thread_ts,
                metadata={"event_type": DELIVERY_EVENT, "event_payload": {"delivery_id": delivery_id}},
                **outgoing.body,
            )
        except Exception as error:
            self._failed(delivery_id, person, _failure_of(error), clock(), report)
            return
        self._record_sent(delivery_id, str(response["channel"]), str(response["ts"]), clock(), report)

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

    def _compose(self, delivery_id: int, now: datetime, report: SendReport) -> tuple[Outgoing, Person]:
        """Read what the message says now (open loops change), or finish the delivery unsent."""
        with self.database.session() as session, session.begin():
            delivery = session.get(Delivery, delivery_id)
            assert delivery is not None
            person = session.get(Person, delivery.person_id)
            workspace = session.get(Workspace, delivery.workspace_id)
            assert person is not None and workspace is not None
            decided = self._decide(session, delivery, person, workspace, now)
            if isinstance(decided, Ended):
                _finish(delivery, decided.state, decided.reason)
        # Outside the transaction, so that what was recorded above is committed.
        if isinstance(decided, Ended):
            if decided.counter:
                report.count(decided.counter)
            raise _Finished
        return decided, person

    def _decide(
        self, session: Session, delivery: Delivery, person: Person, workspace: Workspace, now: datetime
    ) -> Outgoing | Ended:
        reason = _no_longer_wanted(delivery, person, workspace)
        if reason:
            return Ended(DeliveryState.SKIPPED, reason, "skipped")
        kind = DeliveryKind(delivery.kind)
        if kind in {DeliveryKind.PROMPT, DeliveryKind.NUDGE} and now - delivery.due_at > self.rules.catch_up:
            return Ended(
                DeliveryState.MISSED, f"{now - delivery.due_at} late; catch-up window passed", "missed"
            )
        if kind is DeliveryKind.PROMPT:
            loops = open_loops(session, person, LOOPS_SHOWN)
            body = prompt_message(
                prompt_id=delivery.id, welcome_back=person.welcome_back, loops=loops, now=now
            )
            return Outgoing(person.dm_channel, None, body)
        if kind is DeliveryKind.NUDGE:
            prompt = prompt_of(session, person, delivery.key)
            if prompt is not None and prompt.answer:
                return Ended(DeliveryState.SKIPPED, "the prompt was answered", "skipped")
            if prompt is None or prompt.state != DeliveryState.SENT:
                return Ended(DeliveryState.SKIPPED, "no prompt was sent", "skipped")
            return Outgoing(prompt.channel, prompt.slack_ts, nudge_message())
        loop = session.get(Loop, delivery.loop_id)
        assert loop is not None and loop.person_id == person.id
        if loop.thread_ts:
            return Ended(DeliveryState.SENT, None, None)
        return Outgoing(person.dm_channel, None, loop_root_message(loop, zone(person.tz)))

    def _dm_channel(
        self,
        person: Person,
        delivery_id: int,
        clock: Callable[[], datetime],
        pacer: Pacer,
        report: SendReport,
    ) -> str:
        try:
            response = self._call(pacer, report, self.client.conversations_open, users=person.slack_user_id)
        except Exception as error:
            self._failed(delivery_id, person, _failure_of(error), clock(), report, unknown_is_possible=False)
            raise _Finished from error
        channel = str(response["channel"]["id"])
        with self.database.session() as session, session.begin():
            stored = session.get(Person, person.id)
            if stored is not None:
                stored.dm_channel = channel
        return channel

    def _find_posted(
        self,
        delivery_id: int,
        channel: str,
        thread_ts: str | None,
        clock: Callable[[], datetime],
        pacer: Pacer,
        report: SendReport,
    ) -> str | None:
        """The ts of this delivery's message if an earlier attempt did post it."""
        with self.database.session() as session, session.begin():
            delivery = session.get(Delivery, delivery_id)
            assert delivery is not None
            since = delivery.first_attempt_at or delivery.created_at
        oldest = f"{since.timestamp() - 120:.6f}"
        try:
            if thread_ts:
                response = self._call(
                    pacer,
                    report,
                    self.client.conversations_replies,
                    channel=channel,
                    ts=thread_ts,
                    oldest=oldest,
                    include_all_metadata=True,
                    limit=200,
                )
            else:
                response = self._call(
                    pacer,
                    report,
                    self.client.conversations_history,
                    channel=channel,
                    oldest=oldest,
                    include_all_metadata=True,
                    limit=200,
                )
        except Exception as error:
            # Not knowing whether it was posted, never post blindly: try again later.
            failure = _failure_of(error)
            self._retry_later(delivery_id, clock(), Failure(failure.verdict, failure.reason, True), report)
            raise _Finished from error
        for posted in response.get("messages") or []:
            metadata = posted.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == DELIVERY_EVENT and payload.get("delivery_id") == delivery_id:
                return str(posted["ts"])
        return None

    # -- outcomes ---------------------------------------------------------------------------

    def _record_sent(
        self, delivery_id: int, channel: str, ts: str, now: datetime, report: SendReport
    ) -> None:
        with self.database.session() as session, session.begin():
            delivery = session.get(Delivery, delivery_id)
            assert delivery is not None
            delivery.channel, delivery.slack_ts, delivery.sent_at = channel, ts, now
            _finish(delivery, DeliveryState.SENT, None)
            person = session.get(Person, delivery.person_id)
            assert person is not None
            if person.dm_channel is None and channel.startswith("D"):
                person.dm_channel = channel
            if delivery.kind == DeliveryKind.PROMPT:
                person.welcome_back = False
            elif delivery.kind == DeliveryKind.LOOP_ROOT:
                loop = session.get(Loop, delivery.loop_id)
                if loop is not None:
                    loop.channel, loop.thread_ts = channel, ts
        report.count("sent")

    def _failed(
        self,
        delivery_id: int,
        person: Person,
        failure: Failure,
        now: datetime,
        report: SendReport,
        *,
        unknown_is_possible: bool = True,
    ) -> None:
        if failure.verdict in {Verdict.RETRY, Verdict.RATE_LIMITED}:
            if not unknown_is_possible:
                failure = Failure(failure.verdict, failure.reason, outcome_unknown=False)
            self._retry_later(delivery_id, now, failure, report)
            return
        with self.database.session() as session, session.begin():
            delivery = session.get(Delivery, delivery_id)
            assert delivery is not None
            _finish(delivery, DeliveryState.FAILED, failure.reason)
            if failure.verdict is Verdict.PERSON_GONE:
                stored = session.get(Person, person.id)
                if stored is not None and stored.blocked_reason is None:
                    stored.blocked_reason = failure.reason
                    stored.next_prompt_at = None
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
                logger.error("delivery %s refused by Slack: %s", delivery_id, failure.reason)
        report.count("failed")

    def _retry_later(self, delivery_id: int, now: datetime, failure: Failure, report: SendReport) -> None:
        with self.database.session() as session, session.begin():
            delivery = session.get(Delivery, delivery_id)
            if delivery is None or delivery.state != DeliveryState.CLAIMED:
                return
            delivery.maybe_posted = failure.outcome_unknown
            delivery.lease_owner = delivery.lease_until = None
            delivery.last_error = failure.reason
            if failure.verdict is Verdict.RATE_LIMITED:
                delivery.state, delivery.ready_at = DeliveryState.PENDING, now
                report.count("rate_limited")
                return
            delivery.attempts += 1
            if delivery.attempts >= MAX_ATTEMPTS:
                _finish(
                    delivery,
                    DeliveryState.FAILED,
                    f"gave up after {delivery.attempts} attempts: {failure.reason}",
                )
                logger.error("delivery %s: %s", delivery_id, delivery.last_error)
                report.count("failed")
                return
            delivery.state, delivery.ready_at = DeliveryState.PENDING, now + backoff(delivery.attempts)
        report.count("retried")

    def _pacer(self, workspace_id: int) -> Pacer:
        with self._pacers_lock:
            if workspace_id not in self._pacers:
                self._pacers[workspace_id] = Pacer(self.rules.per_second)
            return self._pacers[workspace_id]


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
