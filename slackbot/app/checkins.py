"""A shipment's check-in: each ask of it, and the person's answer; shared by the modal and the buttons.

Everything is stored inside the request's unit of work; the messages in the loop's thread
(the question, its read-back, the notice when nobody answers) are deliveries, so the clock
posts (or re-posts) them if sending right away fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from slackbot.app.loops import redraw_sent, set_state
from slackbot.app.services import Services
from slackbot.blocks.shipment import checkin_message
from slackbot.core.deliveries import DeliveryKind
from slackbot.core.enrolment import schedule_for
from slackbot.core.figures import days_between
from slackbot.core.loops import SHIPPABLE, LoopState
from slackbot.core.shipments import ANSWER_LABELS, CheckinAnswer, ShipmentState, Wait, checkin_date
from slackbot.store.deliveries import Owed, owe, owed
from slackbot.store.loops import add_entry
from slackbot.store.models import CheckIn, Delivery, Loop, Person, Shipment
from slackbot.store.rows import lock
from slackbot.store.shipments import Waiting


def owe_in_thread(
    session: Session,
    person: Person,
    kind: DeliveryKind,
    at: datetime,
    shipment: Shipment,
    checkin: CheckIn | None = None,
) -> int | None:
    """A message in the loop's thread about a shipment (or one ask of its check-in), owed once:
    its id when this call owed it."""
    key = checkin.id if checkin is not None else shipment.id
    owed_here = Owed(
        kind,
        person.workspace_id,
        person.id,
        str(key),
        at,
        loop_id=shipment.loop_id,
        shipment_id=shipment.id,
        checkin_id=checkin.id if checkin is not None else None,
    )
    return owe(session, owed_here)


def ask_checkin(
    session: Session, person: Person, shipment: Shipment, ask: int, due_on: date, at: datetime
) -> CheckIn:
    """Ask a shipment's check-in (again, for `ask` > 1) on a local date: one row per ask, and its
    question owed at `at`, with the notice that goes out if nobody answers it."""
    checkin = CheckIn(shipment_id=shipment.id, person_id=person.id, ask=ask, due_on=due_on)
    session.add(checkin)
    session.flush()
    shipment.asks, shipment.checkin_on = ask, due_on
    owe_in_thread(session, person, DeliveryKind.CHECKIN, at, shipment, checkin)
    # Rendered when due: it works out the give-up day from when the check-in was asked.
    owe_in_thread(session, person, DeliveryKind.UNWATCHED, at, shipment, checkin)
    return checkin


@dataclass(frozen=True)
class CheckinReply:
    """What the person said in the check-in's form."""

    answer: CheckinAnswer
    happened: str
    next_step: str | None
    closes: bool  # "close the loop" ticked (only a "yes" closes it)
    again: Wait | None  # "can't tell yet": when to ask again
    tellable: str | None  # after two "can't tell yet": what would make it tellable


@dataclass
class Answered:
    """What answering a check-in stored: the read-back to post, and the messages to redraw."""

    checkin: CheckIn
    outcome: int | None
    question: int | None  # the check-in's own message, redrawn without its buttons
    first: bool  # False: this ask was answered before (a double submit); nothing changed


def answer_checkin(
    session: Session, person: Person, services: Services, item: Waiting, reply: CheckinReply
) -> Answered:
    """Store one answer per ask; the loop closes on "yes" + closed, else carries on with its next step."""
    now = services.now()
    shipment, loop, checkin = item.shipment, item.loop, item.checkin
    lock(session, shipment)
    lock(session, checkin)
    question = owed(session, person.id, DeliveryKind.CHECKIN, checkin.id)
    question_id = question.id if question is not None else None
    if checkin.answered_at is not None or shipment.asks != checkin.ask:
        return Answered(checkin, None, question_id, first=False)
    closes = reply.closes and reply.answer is CheckinAnswer.CHANGED
    checkin.answer, checkin.what_happened, checkin.next_step = reply.answer, reply.happened, reply.next_step
    checkin.tellable, checkin.closes_loop, checkin.answered_at = reply.tellable, closes, now
    shipment.watched = True
    sentence = f"{ANSWER_LABELS[reply.answer]}. I shipped {shipment.what}, {reply.happened}" + (
        f", next: {reply.next_step}" if reply.next_step else ""
    )
    add_entry(session, loop, "checkin", sentence, slack_ts=f"checkin:{checkin.id}", at=now)
    _move_loop_on(session, loop, checkin, closes, reply.next_step, now)
    if reply.answer is CheckinAnswer.CANT_TELL:
        assert reply.again is not None
        schedule = schedule_for(person, services.defaults)
        due_on = checkin_date(schedule.local_date(now), reply.again, schedule.workdays)
        shipment.state = ShipmentState.WAITING
        shipment.cant_tell_streak += 1
        ask_checkin(session, person, shipment, checkin.ask + 1, due_on, schedule.on(due_on))
    else:
        shipment.state, shipment.outcome = ShipmentState.ANSWERED, reply.answer
        shipment.next_step, shipment.checked_at, shipment.cant_tell_streak = reply.next_step, now, 0
        shipment.outcome_days = days_between(shipment.shipped_at, now)
    outcome = owe_in_thread(session, person, DeliveryKind.OUTCOME, now, shipment, checkin)
    return Answered(checkin, outcome, question_id, first=True)


def _move_loop_on(
    session: Session, loop: Loop, checkin: CheckIn, closes: bool, next_step: str | None, now: datetime
) -> None:
    """The loop closes, or carries on with its next step (unless it was closed or dropped meanwhile)."""
    lock(session, loop)
    if loop.state not in SHIPPABLE:
        return
    if closes:
        set_state(session, loop, LoopState.CLOSED, now=now, note="Closed after its check-in.", ts=None)
        return
    set_state(session, loop, LoopState.CONTINUED, now=now, note=next_step or "", ts=f"next:{checkin.id}")
    loop.next_step = next_step


def refresh_question(services: Services, client: WebClient, delivery_id: int) -> None:
    """Redraw a sent check-in from what is stored now: its answer instead of the buttons."""

    def body(session: Session, delivery: Delivery) -> dict[str, Any] | None:
        checkin = session.get(CheckIn, delivery.checkin_id)
        shipment = session.get(Shipment, delivery.shipment_id)
        loop = session.get(Loop, delivery.loop_id)
        if checkin is None or shipment is None or loop is None:
            return None
        return checkin_message(loop, shipment, checkin)

    redraw_sent(services, client, delivery_id, body)
