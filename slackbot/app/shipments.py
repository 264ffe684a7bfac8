"""Recording a shipment and answering its check-in; shared by `/shipped`, its modal and the buttons.

Each function stores everything inside the request's unit of work and returns the
deliveries to send once it has committed: the thread notes and the check-in are
deliveries, so the clock posts (or re-posts) them if sending right away fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from slackbot.app.loops import open_loop, redraw_sent, set_state
from slackbot.app.services import Services
from slackbot.blocks.shipment import checkin_message, shipment_note
from slackbot.core.deliveries import DeliveryKind, DeliveryState
from slackbot.core.enrolment import schedule_for
from slackbot.core.errors import InvalidInput
from slackbot.core.figures import days_between, problem_days
from slackbot.core.loops import SHIPPABLE, LoopState
from slackbot.core.schedule import PromptSchedule
from slackbot.core.shipments import (
    ANSWER_LABELS,
    CheckinAnswer,
    ShipmentState,
    Wait,
    checkin_date,
    chosen_date,
    first_workday_from,
)
from slackbot.outbox.sender import tick_clock
from slackbot.store.models import CheckIn, Delivery, Loop, Person, Shipment
from slackbot.store.queries import (
    Waiting,
    add_delivery,
    add_entry,
    checkin_ask,
    lock,
    owed,
    shipment_from_source,
    shipped_before,
)

# Text typed into `/shipped` is kept whole up to this (a message's own limit); more is refused.
COMMAND_TEXT_LIMIT = 40_000


@dataclass
class Recorded:
    """What a request stored, and the deliveries to send now (a new loop's root first)."""

    shipment: Shipment
    loop: Loop
    checkin: CheckIn
    send: list[int] = field(default_factory=list)
    # Messages already in Slack that an edit changed (delivery ids), to update in place.
    update_note: int | None = None
    update_question: int | None = None


def checkin_day(
    schedule: PromptSchedule,
    now: datetime,
    wait: Wait,
    on: date | None,
    *,
    shipped_at: datetime | None = None,
) -> date:
    """The local date to ask on: a day the person picked (the first workday from it), or `wait`
    in their workdays from the moment of `/shipped` (`shipped_at`, else now)."""
    if on is not None:
        try:
            picked = chosen_date(on, schedule.local_date(now))
        except ValueError as problem:
            raise InvalidInput(str(problem), field="shipped_on_date") from None
        return first_workday_from(picked, schedule.workdays)
    return checkin_date(schedule.local_date(shipped_at or now), wait, schedule.workdays)


def _owe(
    session: Session, person: Person, kind: DeliveryKind, key: int, at: datetime, **links: int | None
) -> int | None:
    """A message of the loop's second half, owed once per (kind, key): its id when new."""
    return add_delivery(
        session,
        workspace_id=person.workspace_id,
        person_id=person.id,
        kind=kind,
        key=str(key),
        due_at=at,
        **links,
    )


def _owe_checkin(
    session: Session, person: Person, shipment: Shipment, checkin: CheckIn, at: datetime
) -> None:
    """The check-in message, and the notice that goes out if nobody answers it."""
    links = {"loop_id": shipment.loop_id, "shipment_id": shipment.id, "checkin_id": checkin.id}
    _owe(session, person, DeliveryKind.CHECKIN, checkin.id, at, **links)
    # Rendered when due: it works out the give-up day from when the check-in was asked.
    _owe(session, person, DeliveryKind.UNWATCHED, checkin.id, at, **links)


def _ask(
    session: Session, person: Person, shipment: Shipment, ask: int, due_on: date, at: datetime
) -> CheckIn:
    checkin = CheckIn(shipment_id=shipment.id, person_id=person.id, ask=ask, due_on=due_on)
    session.add(checkin)
    session.flush()
    shipment.asks, shipment.checkin_on = ask, due_on
    _owe_checkin(session, person, shipment, checkin, at)
    return checkin


def shipped_entry(shipment: Shipment) -> str:
    """The story's line for a shipment (the entry's kind says "shipped")."""
    expected = f" Expecting: {shipment.expected_change}" if shipment.expected_change else ""
    return f"{shipment.what}.{expected}"


def record_shipment(
    session: Session,
    person: Person,
    services: Services,
    *,
    loop: Loop | None,
    what: str,
    expected: str,
    link: str | None,
    wait: Wait,
    on: date | None,
    source: str,
    draft: Shipment | None = None,
) -> Recorded:
    """Store a shipment once per `source`, move its loop (or open one), and owe its messages."""
    now = services.now()
    lock(session, person)
    existing = shipment_from_source(session, person, source)
    if existing is not None:
        # The same submission again (a retry, a double click): what the first one stored.
        loop_of_existing = session.get(Loop, existing.loop_id)
        first = checkin_ask(session, existing, 1)
        assert loop_of_existing is not None and first is not None
        return Recorded(existing, loop_of_existing, first)
    schedule = schedule_for(person, services.defaults)
    due_on = checkin_day(schedule, now, wait, on)
    send: list[int] = []
    if loop is None:
        loop, root = open_loop(
            session,
            person,
            what=what,
            for_whom=None,
            evidence=None,
            source=f"shipment:{source}"[:64],
            prompt=None,
            entry_ts=None,
            now=now,
            story=False,
        )
        if root is not None:
            send.append(root)
    else:
        lock(session, loop)
        if loop.state not in SHIPPABLE:
            raise InvalidInput(
                f"Loop #{loop.number} is {loop.state}. Link the shipment to a loop that is still open, "
                "or record it on its own.",
                field="shipped_loop",
            )
    shipment = draft if draft is not None else Shipment(workspace_id=person.workspace_id, person_id=person.id)
    shipment.first_of_loop = not shipped_before(session, loop)
    shipment.problem_days = problem_days(
        loop.opened_at,
        now,
        first_of_loop=shipment.first_of_loop,
        opened_by_ship=bool(loop.source and loop.source.startswith("shipment:")),
    )
    shipment.loop_id, shipment.what, shipment.expected_change, shipment.link = loop.id, what, expected, link
    shipment.state, shipment.source, shipment.shipped_at = ShipmentState.WAITING, source, now
    session.add(shipment)
    session.flush()
    checkin = _ask(session, person, shipment, 1, due_on, schedule.on(due_on))
    set_state(
        session, loop, LoopState.SHIPPED, now=now, note=shipped_entry(shipment), ts=f"shipment:{shipment.id}"
    )
    loop.shipped_at = now
    note = _owe(
        session, person, DeliveryKind.SHIPMENT, shipment.id, now, loop_id=loop.id, shipment_id=shipment.id
    )
    if note is not None:
        send.append(note)
    return Recorded(shipment, loop, checkin, send)


def draft_shipment(session: Session, person: Person, *, what: str, expected: str | None, source: str) -> None:
    """Keep the whole of a `/shipped` text too long for the modal's inputs while the modal is open."""
    if shipment_from_source(session, person, source) is None:
        session.add(
            Shipment(
                workspace_id=person.workspace_id,
                person_id=person.id,
                what=what,
                expected_change=expected,
                state=ShipmentState.DRAFT,
                source=source,
            )
        )


def edit_shipment(
    session: Session,
    person: Person,
    services: Services,
    shipment: Shipment,
    *,
    what: str,
    expected: str,
    link: str | None,
    wait: Wait | None,
    on: date | None,
) -> Recorded:
    """Change what a shipment says; its check-in day too (`wait` None and no `on`: keep it),
    while the check-in is not asked yet."""
    lock(session, shipment)
    loop = session.get(Loop, shipment.loop_id)
    assert loop is not None
    checkin = checkin_ask(session, shipment, 1)
    assert checkin is not None
    shipment.what, shipment.expected_change, shipment.link = what, expected, link
    schedule = schedule_for(person, services.defaults)
    if shipment.asks == 1 and checkin.asked_at is None and (wait is not None or on is not None):
        due_on = checkin_day(
            schedule,
            services.now(),
            wait or services.settings.loops_checkin_after,
            on,
            shipped_at=shipment.shipped_at,
        )
        at = schedule.on(due_on)
        checkin.due_on, shipment.checkin_on = due_on, due_on
        for kind in (DeliveryKind.CHECKIN, DeliveryKind.UNWATCHED):
            delivery = owed(session, person.id, kind, checkin.id)
            if delivery is not None and delivery.state == DeliveryState.PENDING:
                delivery.due_at = delivery.ready_at = at
    add_entry(
        session,
        loop_id=loop.id,
        person_id=person.id,
        kind="edited",
        text=shipped_entry(shipment),
        slack_ts=f"edit:{shipment.id}:{services.now().timestamp()}",
        created_at=services.now(),
    )
    note = owed(session, person.id, DeliveryKind.SHIPMENT, shipment.id)
    recorded = Recorded(shipment, loop, checkin)
    if note is not None and note.state == DeliveryState.SENT:
        recorded.update_note = note.id
    current = checkin_ask(session, shipment, shipment.asks)
    question = owed(session, person.id, DeliveryKind.CHECKIN, current.id) if current is not None else None
    if question is not None and question.state == DeliveryState.SENT:
        recorded.update_question = question.id
    return recorded


@dataclass
class Answered:
    """What answering a check-in stored: the read-back to post, and the messages to redraw."""

    checkin: CheckIn
    outcome: int | None
    question: int | None  # the check-in's own message, redrawn without its buttons
    first: bool  # False: this ask was answered before (a double submit); nothing changed


def answer_checkin(
    session: Session,
    person: Person,
    services: Services,
    item: Waiting,
    answer: CheckinAnswer,
    *,
    happened: str,
    next_step: str | None,
    closes: bool,
    again: Wait | None,
    tellable: str | None,
) -> Answered:
    """Store one answer per ask; the loop closes on "yes" + closed, else carries on with its next step."""
    now = services.now()
    shipment, loop = item.shipment, item.loop
    lock(session, shipment)
    lock(session, item.checkin)
    checkin = item.checkin
    question = owed(session, person.id, DeliveryKind.CHECKIN, checkin.id)
    question_id = question.id if question is not None else None
    if checkin.answered_at is not None or shipment.asks != checkin.ask:
        return Answered(checkin, None, question_id, first=False)
    closes = closes and answer is CheckinAnswer.CHANGED
    checkin.answer, checkin.what_happened, checkin.next_step = answer, happened, next_step
    checkin.tellable, checkin.closes_loop, checkin.answered_at = tellable, closes, now
    shipment.watched = True
    sentence = f"{ANSWER_LABELS[answer]}. I shipped {shipment.what}, {happened}" + (
        f", next: {next_step}" if next_step else ""
    )
    add_entry(
        session,
        loop_id=loop.id,
        person_id=person.id,
        kind="checkin",
        text=sentence,
        slack_ts=f"checkin:{checkin.id}",
        created_at=now,
    )
    lock(session, loop)
    if loop.state in SHIPPABLE:
        if closes:
            set_state(session, loop, LoopState.CLOSED, now=now, note="Closed after its check-in.", ts=None)
        else:
            set_state(
                session,
                loop,
                LoopState.CONTINUED,
                now=now,
                note=next_step or "",
                ts=f"next:{checkin.id}",
            )
            loop.next_step = next_step
    if answer is CheckinAnswer.CANT_TELL:
        assert again is not None
        schedule = schedule_for(person, services.defaults)
        due_on = checkin_date(schedule.local_date(now), again, schedule.workdays)
        shipment.state = ShipmentState.WAITING
        shipment.cant_tell_streak += 1
        _ask(session, person, shipment, checkin.ask + 1, due_on, schedule.on(due_on))
    else:
        shipment.state, shipment.outcome, shipment.next_step = ShipmentState.ANSWERED, answer, next_step
        shipment.checked_at, shipment.cant_tell_streak = now, 0
        shipment.outcome_days = days_between(shipment.shipped_at, now)
    links = {"loop_id": loop.id, "shipment_id": shipment.id, "checkin_id": checkin.id}
    outcome = _owe(session, person, DeliveryKind.OUTCOME, checkin.id, now, **links)
    return Answered(checkin, outcome, question_id, first=True)


def send_now(services: Services, deliveries: list[int]) -> None:
    """Post what a request owes, in order; whatever fails here the clock sends on its next tick."""
    for delivery_id in deliveries:
        services.sender.send_now(delivery_id, tick_clock(services.now()))


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


def refresh_note(services: Services, client: WebClient, delivery_id: int) -> None:
    """Rewrite a posted shipment note after an edit."""

    def body(session: Session, delivery: Delivery) -> dict[str, Any] | None:
        shipment = session.get(Shipment, delivery.shipment_id)
        return shipment_note(shipment, shipment.checkin_on) if shipment is not None else None

    redraw_sent(services, client, delivery_id, body)
