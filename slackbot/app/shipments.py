"""Recording a shipment and editing it; shared by `/shipped`, its modal and the buttons.

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

from slackbot.app.checkins import ask_checkin, owe_in_thread
from slackbot.app.loops import Broken, open_loop, redraw_sent, set_state
from slackbot.app.services import Services
from slackbot.blocks.shipment import shipment_note
from slackbot.core.deliveries import DeliveryKind, DeliveryState
from slackbot.core.enrolment import schedule_for
from slackbot.core.errors import InvalidInput
from slackbot.core.figures import problem_days
from slackbot.core.loops import SHIPPABLE, LoopState
from slackbot.core.schedule import PromptSchedule
from slackbot.core.shipments import ShipmentState, Wait, checkin_date, chosen_date, first_workday_from
from slackbot.store.deliveries import owed
from slackbot.store.loops import add_entry
from slackbot.store.models import CheckIn, Delivery, Loop, Person, Shipment
from slackbot.store.rows import lock
from slackbot.store.shipments import checkin_ask, shipment_from_source, shipped_before

# Text typed into `/shipped` is kept whole up to this (a message's own limit); more is refused.
COMMAND_TEXT_LIMIT = 40_000


@dataclass(frozen=True)
class Shipped:
    """What a person says they shipped, from `/shipped #N … expect: …` or its modal."""

    what: str
    expected: str
    link: str | None
    wait: Wait | None  # None: LOOPS_CHECKIN_AFTER for a new shipment, the day kept for an edit
    on: date | None  # a day picked instead of a wait


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


def shipped_entry(shipment: Shipment) -> str:
    """The story's line for a shipment (the entry's kind says "shipped")."""
    expected = f" Expecting: {shipment.expected_change}" if shipment.expected_change else ""
    return f"{shipment.what}.{expected}"


def record_shipment(
    session: Session,
    person: Person,
    services: Services,
    said: Shipped,
    *,
    loop: Loop | None,
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
    due_on = checkin_day(schedule, now, said.wait or services.settings.loops_checkin_after, said.on)
    loop, root = _loop_to_ship(session, person, loop, said.what, source, now)
    shipment = _store_shipment(session, person, loop, said, source, now, draft)
    checkin = ask_checkin(session, person, shipment, 1, due_on, schedule.on(due_on))
    set_state(
        session, loop, LoopState.SHIPPED, now=now, note=shipped_entry(shipment), ts=f"shipment:{shipment.id}"
    )
    loop.shipped_at = now
    note = owe_in_thread(session, person, DeliveryKind.SHIPMENT, now, shipment)
    return Recorded(shipment, loop, checkin, [d for d in (root, note) if d is not None])


def _loop_to_ship(
    session: Session, person: Person, loop: Loop | None, what: str, source: str, now: datetime
) -> tuple[Loop, int | None]:
    """The loop a shipment answers, locked and still open; or a new one it opens (with the
    delivery of its root message)."""
    if loop is None:
        return open_loop(
            session, person, Broken(what), source=f"shipment:{source}"[:64], now=now, story=False
        )
    lock(session, loop)
    if loop.state not in SHIPPABLE:
        raise InvalidInput(
            f"Loop #{loop.number} is {loop.state}. Link the shipment to a loop that is still open, "
            "or record it on its own.",
            field="shipped_loop",
        )
    return loop, None


def _store_shipment(
    session: Session,
    person: Person,
    loop: Loop,
    said: Shipped,
    source: str,
    now: datetime,
    draft: Shipment | None,
) -> Shipment:
    """The shipment's row (a draft that kept a long text becomes it), with its problem → ship days."""
    shipment = draft if draft is not None else Shipment(workspace_id=person.workspace_id, person_id=person.id)
    shipment.first_of_loop = not shipped_before(session, loop)
    shipment.problem_days = problem_days(
        loop.opened_at,
        now,
        first_of_loop=shipment.first_of_loop,
        opened_by_shipment=bool(loop.source and loop.source.startswith("shipment:")),
    )
    shipment.loop_id, shipment.what, shipment.expected_change = loop.id, said.what, said.expected
    shipment.link, shipment.state = said.link, ShipmentState.WAITING
    shipment.source, shipment.shipped_at = source, now
    session.add(shipment)
    session.flush()
    return shipment


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
    session: Session, person: Person, services: Services, shipment: Shipment, said: Shipped
) -> Recorded:
    """Change what a shipment says; its check-in day too (no wait and no day: keep it),
    while the check-in is not asked yet."""
    now = services.now()
    lock(session, shipment)
    loop = session.get(Loop, shipment.loop_id)
    checkin = checkin_ask(session, shipment, 1)
    assert loop is not None and checkin is not None
    shipment.what, shipment.expected_change, shipment.link = said.what, said.expected, said.link
    if shipment.asks == 1 and checkin.asked_at is None and (said.wait is not None or said.on is not None):
        _move_first_checkin(session, person, services, shipment, checkin, said)
    add_entry(
        session,
        loop,
        "edited",
        shipped_entry(shipment),
        slack_ts=f"edit:{shipment.id}:{now.timestamp()}",
        at=now,
    )
    recorded = Recorded(shipment, loop, checkin)
    note = owed(session, person.id, DeliveryKind.SHIPMENT, shipment.id)
    if note is not None and note.state == DeliveryState.SENT:
        recorded.update_note = note.id
    current = checkin_ask(session, shipment, shipment.asks)
    question = owed(session, person.id, DeliveryKind.CHECKIN, current.id) if current is not None else None
    if question is not None and question.state == DeliveryState.SENT:
        recorded.update_question = question.id
    return recorded


def _move_first_checkin(
    session: Session, person: Person, services: Services, shipment: Shipment, checkin: CheckIn, said: Shipped
) -> None:
    """A check-in not asked yet goes to the day the edit asks for, counted from the ship."""
    schedule = schedule_for(person, services.defaults)
    wait = said.wait or services.settings.loops_checkin_after
    due_on = checkin_day(schedule, services.now(), wait, said.on, shipped_at=shipment.shipped_at)
    at = schedule.on(due_on)
    checkin.due_on, shipment.checkin_on = due_on, due_on
    for kind in (DeliveryKind.CHECKIN, DeliveryKind.UNWATCHED):
        delivery = owed(session, person.id, kind, checkin.id)
        if delivery is not None and delivery.state == DeliveryState.PENDING:
            delivery.due_at = delivery.ready_at = at


def refresh_note(services: Services, client: WebClient, delivery_id: int) -> None:
    """Rewrite a posted shipment note after an edit."""

    def body(session: Session, delivery: Delivery) -> dict[str, Any] | None:
        shipment = session.get(Shipment, delivery.shipment_id)
        return shipment_note(shipment, shipment.checkin_on) if shipment is not None else None

    redraw_sent(services, client, delivery_id, body)
