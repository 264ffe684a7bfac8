"""What each kind of delivery becomes at the moment it is sent, or why it is no longer sent.

Rendered at send time, not when planned: the prompt lists the loops open now, a nudge
about a prompt answered meanwhile is withdrawn, and a check-in is timed by the person's
schedule as it is now (a zone moved, a pause began), which may make it wait (`Later`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from slackbot.blocks.loop import loop_root_message
from slackbot.blocks.prompt import nudge_message, prompt_message
from slackbot.blocks.reflection import REFLECTION_SHIPMENTS, reflection_message
from slackbot.blocks.shipment import checkin_message, outcome_note, shipment_note, unwatched_note
from slackbot.core.deliveries import (
    PAUSED,
    PERSON_GONE_REASON,
    STOPPED,
    WORKSPACE_GONE_REASON,
    DeliveryKind,
    DeliveryState,
)
from slackbot.core.enrolment import schedule_for
from slackbot.core.loops import SHIPPABLE
from slackbot.core.reflection import month_span
from slackbot.core.schedule import PromptSchedule, zone
from slackbot.core.shipments import ShipmentState, checkin_date, checkin_moment
from slackbot.outbox.model import Draft, Ended, Later, SendRules
from slackbot.outbox.team import render_share
from slackbot.store.deliveries import owed, prompt_of
from slackbot.store.history import shipments_between
from slackbot.store.loops import add_entry
from slackbot.store.models import CheckIn, Delivery, Loop, Person, Shipment, Workspace
from slackbot.store.rows import lock
from slackbot.store.shipments import Agenda, checkin_ask


def render(
    session: Session,
    delivery: Delivery,
    person: Person,
    workspace: Workspace,
    agenda: Agenda,
    now: datetime,
    rules: SendRules,
) -> Draft | Ended | Later:
    """Where the message goes and what it says now, why it is not sent, or until when it waits."""
    kind = DeliveryKind(delivery.kind)
    reason = no_longer_wanted(delivery, person, workspace)
    if reason in {WORKSPACE_GONE_REASON, PERSON_GONE_REASON}:
        return Ended(DeliveryState.SKIPPED, reason, "skipped")  # Slack cannot be asked anyway
    if kind in SHIPMENT_KINDS:
        return _render_shipment_kind(session, delivery, person, now, rules)
    if kind is DeliveryKind.DAILY_SHARE:
        return render_share(session, delivery, person, workspace, now)
    if kind is DeliveryKind.LOOP_ROOT:
        loop = session.get(Loop, delivery.loop_id)
        assert loop is not None and loop.person_id == person.id
        if loop.thread_ts:
            return Ended(DeliveryState.SENT, None, None)
        return Draft(person.dm_channel, None, loop_root_message(loop, zone(person.tz)))
    if kind is DeliveryKind.REFLECTION:
        if reason:
            return Ended(DeliveryState.SKIPPED, reason, "skipped")
        if now - delivery.due_at > rules.catch_up:
            return Ended(
                DeliveryState.MISSED, f"{now - delivery.due_at} late; catch-up window passed", "missed"
            )
        return Draft(person.dm_channel, None, _reflection(session, delivery, person))
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
    if now - delivery.due_at > rules.catch_up:
        return Ended(
            DeliveryState.MISSED, f"{now - delivery.due_at} late; catch-up window passed", "missed", where
        )
    if kind is DeliveryKind.NUDGE:
        local = now.astimezone(zone(person.tz))
        if local.date().isoformat() != delivery.key or local.time() > rules.day_end:
            return Ended(DeliveryState.MISSED, "the working day was over", "missed", where)
        assert where is not None
        return Draft(where[0], where[1], nudge_message())
    body = prompt_message(prompt_id=delivery.id, welcome_back=person.welcome_back, agenda=agenda, now=now)
    return Draft(person.dm_channel, None, body)


def _reflection(session: Session, delivery: Delivery, person: Person) -> dict[str, Any]:
    """The month's shipments, unknown outcomes first, and the one question."""
    year, month = (int(part) for part in delivery.key.split("-"))
    start, end = month_span(year, month, zone(person.tz))
    shipments = shipments_between(session, person, start, end, before=None, size=REFLECTION_SHIPMENTS)
    return reflection_message(delivery.key, shipments)


def preload_threads(session: Session, deliveries: Sequence[Delivery]) -> list[object]:
    """Read the loops, shipments and check-ins a batch renders in three queries, not three a row.

    They land in the session's identity map, where `render`'s `session.get` finds them; the
    caller keeps the returned list while it renders (the map holds its rows weakly).
    """
    loaded: list[object] = []
    for model, ids in (
        (Loop, {d.loop_id for d in deliveries if d.loop_id}),
        (Shipment, {d.shipment_id for d in deliveries if d.shipment_id}),
        (CheckIn, {d.checkin_id for d in deliveries if d.checkin_id}),
    ):
        if ids:
            loaded += session.scalars(select(model).where(model.id.in_(ids))).all()
    return loaded


def no_longer_wanted(delivery: Delivery, person: Person, workspace: Workspace) -> str | None:
    """Why a delivery should not go out any more, or None."""
    if workspace.uninstalled_at is not None:
        return WORKSPACE_GONE_REASON
    if person.deactivated or person.blocked_reason:
        return PERSON_GONE_REASON
    if delivery.kind == DeliveryKind.REFLECTION and not person.enrolled:
        return STOPPED
    if delivery.kind in {DeliveryKind.PROMPT, DeliveryKind.NUDGE}:
        if not person.enrolled:
            return STOPPED
        if person.paused_until is not None and delivery.key < person.paused_until.isoformat():
            return PAUSED
    return None


SHIPMENT_KINDS = frozenset(
    {DeliveryKind.SHIPMENT, DeliveryKind.CHECKIN, DeliveryKind.OUTCOME, DeliveryKind.UNWATCHED}
)
# A loop's root message is normally posted within seconds; a thread note waits for it.
THREAD_WAIT = timedelta(minutes=1)


def _render_shipment_kind(
    session: Session, delivery: Delivery, person: Person, now: datetime, rules: SendRules
) -> Draft | Ended | Later:
    """The shipment note, the check-in, its answer, or the unwatched notice, in the loop's thread."""
    kind = DeliveryKind(delivery.kind)
    shipment = session.get(Shipment, delivery.shipment_id)
    loop = session.get(Loop, shipment.loop_id) if shipment is not None and shipment.loop_id else None
    checkin = session.get(CheckIn, delivery.checkin_id) if delivery.checkin_id else None
    if shipment is None or loop is None or shipment.person_id != person.id or loop.person_id != person.id:
        return Ended(DeliveryState.SKIPPED, "the shipment is gone", "skipped")
    if loop.thread_ts is None or loop.channel is None:
        # The loop's root message is a delivery of its own, posted first; if it will never
        # be posted (Slack refused it), neither can anything in its thread.
        root = owed(session, person.id, DeliveryKind.LOOP_ROOT, loop.id)
        if root is not None and root.state in {DeliveryState.FAILED, DeliveryState.SKIPPED}:
            return Ended(DeliveryState.SKIPPED, "the loop's thread was never posted", "skipped")
        return Later(now + THREAD_WAIT, "the loop's thread is not posted yet")
    where = (loop.channel, loop.thread_ts)
    if kind is DeliveryKind.SHIPMENT:
        return Draft(loop.channel, loop.thread_ts, shipment_note(shipment, shipment.checkin_on))
    assert checkin is not None and checkin.shipment_id == shipment.id
    if kind is DeliveryKind.OUTCOME:
        return Draft(loop.channel, loop.thread_ts, outcome_for(loop, shipment, checkin, session))
    # A check-in, or the notice that nobody answered it: only while it is still the question.
    if kind is DeliveryKind.UNWATCHED:
        # It changes the shipment: decide on what is stored now, not on a snapshot an answer
        # may have overtaken (the answer locks the same rows).
        lock(session, shipment)
        lock(session, checkin)
    if checkin.answered_at is not None or shipment.asks != checkin.ask:
        return Ended(DeliveryState.SKIPPED, "the check-in was answered", "skipped", where)
    if loop.state not in SHIPPABLE:
        return Ended(DeliveryState.SKIPPED, f"the loop is {loop.state}", "skipped", where)
    schedule = schedule_for(person, rules.defaults)
    if kind is DeliveryKind.CHECKIN:
        moment = checkin_moment(
            checkin.due_on, schedule, now, day_end=rules.day_end, paused_until=person.paused_until
        )
        if not moment.send_now:
            return Later(moment.at, moment.why, where)
        body = checkin_message(loop, shipment, checkin)
        # Broadcast: a reply deep in a thread would not notify the person.
        return Draft(loop.channel, loop.thread_ts, {**body, "reply_broadcast": True})
    return _render_unwatched(session, person, loop, shipment, checkin, schedule, now, rules)


def _render_unwatched(
    session: Session,
    person: Person,
    loop: Loop,
    shipment: Shipment,
    checkin: CheckIn,
    schedule: PromptSchedule,
    now: datetime,
    rules: SendRules,
) -> Draft | Ended | Later:
    """The notice that nobody answered a check-in, once LOOPS_CHECKIN_GIVE_UP has passed since it
    was asked: the shipment becomes unwatched (kept, and still answerable)."""
    assert loop.channel is not None and loop.thread_ts is not None
    where = (loop.channel, loop.thread_ts)
    if checkin.asked_at is None:
        question = owed(session, person.id, DeliveryKind.CHECKIN, checkin.id)
        if question is None or question.state in {DeliveryState.FAILED, DeliveryState.SKIPPED}:
            # The question never reached the person (they left, Slack refused it): nobody can
            # be said not to have answered it.
            return Ended(DeliveryState.SKIPPED, "the check-in was never asked", "skipped", where)
        # Not asked yet (it waits for its day): look again when it should have been.
        return Later(
            max(now + THREAD_WAIT, schedule.on(checkin.due_on)), "the check-in is not asked yet", where
        )
    asked_on = schedule.local_date(checkin.asked_at)
    give_up_on = checkin_date(asked_on, rules.checkin_give_up, schedule.workdays)
    if now < schedule.on(give_up_on):
        return Later(schedule.on(give_up_on), f"gives up on {give_up_on.isoformat()}", where)
    if shipment.state == ShipmentState.WAITING:
        shipment.state, shipment.unwatched_at = ShipmentState.UNWATCHED, now
        note = f"Nobody answered the check-in asked on {asked_on.isoformat()}."
        add_entry(session, loop, "unwatched", note, slack_ts=f"unwatched:{checkin.id}", at=now)
    return Draft(loop.channel, loop.thread_ts, unwatched_note(loop, shipment, rules.checkin_give_up.label))


def outcome_for(loop: Loop, shipment: Shipment, checkin: CheckIn, session: Session) -> dict[str, Any]:
    """The thread's read-back of one answer, with when the next ask comes after "can't tell yet"."""
    again = checkin_ask(session, shipment, checkin.ask + 1)
    return outcome_note(
        loop,
        shipment,
        checkin,
        loop_closed=checkin.closes_loop,
        ask_again_on=again.due_on if again is not None else None,
    )
