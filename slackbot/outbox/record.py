"""Writing down what Slack did with a round's jobs: sent, found, retried later, or given up.

Only for deliveries this sender still holds; what a failure means for the person or
the workspace (they cannot be reached, the token is refused) is recorded here too.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from slackbot.core.deliveries import MAX_ATTEMPTS, DeliveryKind, DeliveryState, Failure, Verdict, backoff
from slackbot.outbox.claim import still_held
from slackbot.outbox.model import Later, Outcome, SendReport
from slackbot.store.leaving import mark_uninstalled
from slackbot.store.models import CheckIn, Delivery, Loop, Person, Workspace

logger = logging.getLogger(__name__)

# Deliveries that are not replaced by tomorrow's: a 5xx storm delays them, never drops them
# (nor a forgotten person's posts in a team channel).
PATIENT = frozenset(
    {
        DeliveryKind.LOOP_ROOT,
        DeliveryKind.SHIPMENT,
        DeliveryKind.CHECKIN,
        DeliveryKind.OUTCOME,
        DeliveryKind.UNWATCHED,
        DeliveryKind.REMOVAL,
    }
)
PATIENT_RETRY = timedelta(hours=1)


def record(
    session: Session, outcomes: list[Outcome], *, owner: str, now: datetime, report: SendReport
) -> None:
    """Apply every outcome of a round in the caller's (write) transaction."""
    held = still_held(session, [o.job.delivery_id for o in outcomes], owner)
    people = {
        p.id: p
        for p in session.scalars(
            select(Person).where(Person.id.in_({o.job.person_id for o in outcomes if o.job.person_id}))
        )
    }
    asked = [d.checkin_id for d in held.values() if d.kind == DeliveryKind.CHECKIN and d.checkin_id]
    # Into the identity map, held while recording: `_sent` reads each with session.get.
    checkins = session.scalars(select(CheckIn).where(CheckIn.id.in_(asked))).all() if asked else []
    for outcome in outcomes:
        delivery = held.get(outcome.job.delivery_id)
        person = people.get(outcome.job.person_id) if outcome.job.person_id is not None else None
        if person and outcome.channel and outcome.channel.startswith("D") and person.dm_channel is None:
            person.dm_channel = outcome.channel
        if delivery is None:
            # The lease ran out and another sender took the delivery over: it decides.
            logger.warning("delivery %s: lease lost before recording", outcome.job.delivery_id)
            continue
        if outcome.looked and not outcome.found:
            # Nothing before this attempt is in Slack: from now on only its own post may be.
            delivery.first_attempt_at = outcome.job.started
        if outcome.gave_back:
            delivery.state, delivery.ready_at = DeliveryState.PENDING, now
            delivery.lease_owner = delivery.lease_until = None
            delivery.maybe_posted = outcome.job.maybe_posted
        elif isinstance(outcome.ended, Later):
            # Not looked for (no install to look with, say): it may still be in Slack.
            maybe_posted = outcome.job.maybe_posted and not outcome.looked
            wait_until(delivery, outcome.ended.at, outcome.ended.reason, maybe_posted=maybe_posted)
            report.count("waiting")
        elif outcome.ended is not None:
            finish(delivery, outcome.ended.state, outcome.ended.reason)
            if outcome.ended.counter:
                report.count(outcome.ended.counter)
        elif outcome.failure is None:
            _sent(session, delivery, person, outcome, now, report)
        else:
            _not_sent(session, delivery, person, outcome, now, report)
    del checkins


def finish(delivery: Delivery, state: DeliveryState, reason: str | None) -> None:
    delivery.state = state
    delivery.last_error = reason
    delivery.lease_owner = delivery.lease_until = None
    delivery.maybe_posted = False


def wait_until(delivery: Delivery, at: datetime, reason: str, *, maybe_posted: bool = False) -> None:
    """Not due after all (a check-in whose day moved): back to pending until `at`."""
    delivery.state, delivery.ready_at = DeliveryState.PENDING, at
    delivery.lease_owner = delivery.lease_until = None
    delivery.maybe_posted = maybe_posted
    delivery.last_error = f"waiting: {reason}"


def _sent(
    session: Session,
    delivery: Delivery,
    person: Person | None,
    outcome: Outcome,
    now: datetime,
    report: SendReport,
) -> None:
    assert outcome.channel is not None and outcome.ts is not None
    delivery.channel, delivery.slack_ts, delivery.sent_at = outcome.channel, outcome.ts, now
    finish(delivery, DeliveryState.SENT, None)
    if delivery.kind == DeliveryKind.PROMPT and person is not None:
        person.welcome_back = False
    elif delivery.kind == DeliveryKind.LOOP_ROOT:
        loop = session.get(Loop, delivery.loop_id)
        if loop is not None:
            loop.channel, loop.thread_ts = outcome.channel, outcome.ts
    elif delivery.kind == DeliveryKind.CHECKIN:
        checkin = session.get(CheckIn, delivery.checkin_id)
        if checkin is not None and checkin.asked_at is None:
            checkin.asked_at = now  # give-up counts from the day it was asked
    report.count("sent")
    if outcome.found:
        report.count("found_in_slack")


def _not_sent(
    session: Session,
    delivery: Delivery,
    person: Person | None,
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
        _retry_later(delivery, now, failure, maybe_posted, report)
        return
    finish(delivery, DeliveryState.FAILED, failure.reason)
    report.count("failed")
    if failure.verdict is Verdict.WORKSPACE_GONE:
        workspace = session.get(Workspace, delivery.workspace_id)
        if workspace is not None and workspace.uninstalled_at is None:
            mark_uninstalled(session, workspace, now)
            logger.error(
                "Slack refuses the bot token for team %s (%s): deliveries stop until reinstalled",
                workspace.team_id,
                failure.reason,
            )
    elif person is None:
        # A workspace's channel refused it (archived, the bot removed): said, not retried.
        logger.error("delivery %s to a channel refused by Slack: %s", delivery.id, failure.reason)
    elif failure.verdict is Verdict.PERSON_GONE:
        if person.blocked_reason is None:
            person.blocked_reason = failure.reason
            person.next_prompt_at = None
            logger.warning(
                "Slack refuses messages to %s (%s): their prompts stop until they are back",
                person.slack_user_id,
                failure.reason,
            )
    else:
        logger.error("delivery %s refused by Slack: %s", delivery.id, failure.reason)


def _retry_later(
    delivery: Delivery, now: datetime, failure: Failure, maybe_posted: bool, report: SendReport
) -> None:
    delivery.maybe_posted = maybe_posted
    delivery.lease_owner = delivery.lease_until = None
    delivery.last_error = failure.reason
    if failure.verdict is Verdict.RATE_LIMITED:
        # Slack asked us to wait, nothing went wrong: not an attempt that counts toward giving up.
        wait = timedelta(seconds=max(failure.retry_after, 1.0))
        delivery.state, delivery.ready_at = DeliveryState.PENDING, now + wait
        report.count("retried")
        return
    delivery.attempts += 1
    if delivery.attempts >= MAX_ATTEMPTS and delivery.kind in PATIENT:
        # A loop's thread and its second half have no later day to come back on: keep trying,
        # hourly, until Slack answers (a refusal or a person gone still ends them at once).
        delivery.attempts = 0
        delivery.state, delivery.ready_at = DeliveryState.PENDING, now + PATIENT_RETRY
        logger.warning("delivery %s: %s; trying again in an hour", delivery.id, failure.reason)
        report.count("retried")
        return
    if delivery.attempts >= MAX_ATTEMPTS:
        finish(
            delivery, DeliveryState.FAILED, f"gave up after {delivery.attempts} attempts: {failure.reason}"
        )
        logger.error("delivery %s: %s", delivery.id, delivery.last_error)
        report.count("failed")
        return
    delivery.state, delivery.ready_at = DeliveryState.PENDING, now + backoff(delivery.attempts)
    report.count("retried")
