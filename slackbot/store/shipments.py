"""A person's shipments and their check-ins: what waits on them, and each ask of a check-in."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from slackbot.core.loops import SHIPPABLE
from slackbot.core.shipments import ShipmentState
from slackbot.store.loops import open_loops_of
from slackbot.store.models import CheckIn, Loop, Person, Shipment


@dataclass(frozen=True)
class Waiting:
    """A check-in that was asked and not answered yet, with its shipment and loop."""

    checkin: CheckIn
    shipment: Shipment
    loop: Loop


@dataclass
class Agenda:
    """What a person's morning prompt and Home tab list: check-ins waiting, open loops, unwatched ships."""

    loops: list[Loop] = field(default_factory=list)
    waiting: list[Waiting] = field(default_factory=list)
    unwatched: int = 0


# A check-in ask waiting on its person: asked, not answered, the shipment's current ask, its loop open.
_WAITING = (
    CheckIn.answered_at.is_(None),
    CheckIn.asked_at.is_not(None),
    CheckIn.ask == Shipment.asks,
    Shipment.state == ShipmentState.WAITING,
    Loop.state.in_(SHIPPABLE),
)


def waiting_on(session: Session, person: Person, limit: int) -> list[Waiting]:
    """One person's check-ins waiting on them, oldest ask first: a range of ix_checkin_person_waiting
    (agendas_of ranks every open ask of many people, which a single person does not need)."""
    rows = session.execute(
        select(CheckIn, Shipment, Loop)
        .join(Shipment, Shipment.id == CheckIn.shipment_id)
        .join(Loop, Loop.id == Shipment.loop_id)
        .where(CheckIn.person_id == person.id, Shipment.person_id == person.id, *_WAITING)
        .order_by(CheckIn.asked_at, CheckIn.id)
        .limit(limit)
    )
    return [Waiting(checkin, shipment, loop) for checkin, shipment, loop in rows]


def agenda_of(session: Session, person: Person, limit: int) -> Agenda:
    return agendas_of(session, [person], limit).get(person.id) or Agenda()


def agendas_of(session: Session, people: list[Person], limit: int) -> dict[int, Agenda]:
    """`agenda_of` for many people in three queries (a tick renders hundreds of prompts at once)."""
    agendas: dict[int, Agenda] = {p.id: Agenda() for p in people}
    if not people:
        return agendas
    ids = set(agendas)
    for person_id, loops in open_loops_of(session, people, limit).items():
        agendas[person_id].loops = loops
    # The oldest asks first, `limit` a person, ranked in the database.
    ranked = (
        select(
            CheckIn.id.label("checkin_id"),
            func.row_number()
            .over(partition_by=CheckIn.person_id, order_by=(CheckIn.asked_at, CheckIn.id))
            .label("rank"),
        )
        .join(Shipment, Shipment.id == CheckIn.shipment_id)
        .join(Loop, Loop.id == Shipment.loop_id)
        .where(CheckIn.person_id.in_(ids), Shipment.person_id.in_(ids), *_WAITING)
        .subquery()
    )
    waiting = session.execute(
        select(CheckIn, Shipment, Loop)
        .join(ranked, ranked.c.checkin_id == CheckIn.id)
        .join(Shipment, Shipment.id == CheckIn.shipment_id)
        .join(Loop, Loop.id == Shipment.loop_id)
        .where(ranked.c.rank <= limit)
        .order_by(CheckIn.person_id, CheckIn.asked_at, CheckIn.id)
    )
    for checkin, shipment, loop in waiting:
        agendas[checkin.person_id].waiting.append(Waiting(checkin, shipment, loop))
    unwatched = session.execute(
        select(Shipment.person_id, func.count())
        .where(Shipment.person_id.in_(ids), Shipment.state == ShipmentState.UNWATCHED)
        .group_by(Shipment.person_id)
    )
    for person_id, count in unwatched:
        agendas[person_id].unwatched = int(count)
    return agendas


def shipment_of(session: Session, person: Person, shipment_id: int) -> Shipment | None:
    return session.scalars(
        select(Shipment).where(Shipment.id == shipment_id, Shipment.person_id == person.id)
    ).first()


def shipment_from_source(session: Session, person: Person, source: str) -> Shipment | None:
    return session.scalars(
        select(Shipment).where(Shipment.person_id == person.id, Shipment.source == source)
    ).first()


def checkin_of(session: Session, person: Person, checkin_id: int) -> Waiting | None:
    """One of the person's own check-ins, answered or not; another person's id finds nothing."""
    row = session.execute(
        select(CheckIn, Shipment, Loop)
        .join(Shipment, Shipment.id == CheckIn.shipment_id)
        .join(Loop, Loop.id == Shipment.loop_id)
        .where(CheckIn.id == checkin_id, CheckIn.person_id == person.id, Shipment.person_id == person.id)
    ).first()
    return None if row is None else Waiting(row[0], row[1], row[2])


def checkin_ask(session: Session, shipment: Shipment, ask: int) -> CheckIn | None:
    """One ask of a shipment's check-in (1: the first; `shipment.asks`: the current one)."""
    return session.scalars(
        select(CheckIn).where(CheckIn.shipment_id == shipment.id, CheckIn.ask == ask)
    ).first()


def not_asked_yet(session: Session, shipment: Shipment) -> bool:
    """True while the shipment's first check-in has not reached the person: its day may change."""
    first = checkin_ask(session, shipment, 1)
    return shipment.asks == 1 and first is not None and first.asked_at is None


def shipped_before(session: Session, loop: Loop) -> bool:
    """Whether the loop has a shipment already (a draft is none yet)."""
    found = session.scalar(
        select(Shipment.id).where(Shipment.loop_id == loop.id, Shipment.state != ShipmentState.DRAFT).limit(1)
    )
    return found is not None
