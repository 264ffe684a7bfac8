"""Everything one person has in Loops, for `/loops export`, and their monthly reflections."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from slackbot.core.shipments import ShipmentState
from slackbot.store.models import CheckIn, Entry, Loop, Person, Reflection, Shipment


@dataclass
class Everything:
    """All of one person's loops and what hangs off them, grouped for export."""

    loops: list[Loop]
    entries: dict[int, list[Entry]]  # by loop id, oldest first
    shipments: dict[int, list[Shipment]]  # by loop id, in ship order
    checkins: dict[int, list[CheckIn]]  # by shipment id, in ask order
    reflections: list[Reflection] = field(default_factory=list)  # oldest month first


def everything_of(session: Session, person: Person) -> Everything:
    """The person's whole history in five queries, and nothing of anyone else's."""
    found = Everything(
        loops=list(session.scalars(select(Loop).where(Loop.person_id == person.id).order_by(Loop.number))),
        entries={},
        shipments={},
        checkins={},
    )
    for entry in session.scalars(
        select(Entry).where(Entry.person_id == person.id).order_by(Entry.created_at, Entry.id)
    ):
        found.entries.setdefault(entry.loop_id, []).append(entry)
    for shipment in session.scalars(
        select(Shipment)
        .where(Shipment.person_id == person.id, Shipment.state != ShipmentState.DRAFT)
        .order_by(Shipment.shipped_at, Shipment.id)
    ):
        if shipment.loop_id is not None:
            found.shipments.setdefault(shipment.loop_id, []).append(shipment)
    for checkin in session.scalars(
        select(CheckIn).where(CheckIn.person_id == person.id).order_by(CheckIn.shipment_id, CheckIn.ask)
    ):
        found.checkins.setdefault(checkin.shipment_id, []).append(checkin)
    found.reflections = list(
        session.scalars(
            select(Reflection)
            .where(Reflection.person_id == person.id)
            .order_by(Reflection.month, Reflection.created_at, Reflection.id)
        )
    )
    return found


def reflection_from_source(session: Session, person: Person, source: str) -> bool:
    """Whether this submission's reflection is stored already (Slack may send a view twice)."""
    found = session.scalar(
        select(Reflection.id).where(Reflection.person_id == person.id, Reflection.source == source)
    )
    return found is not None


def reflection_of(session: Session, person: Person, month: str) -> Reflection | None:
    """The person's newest reflection on `month` (`2026-11`)."""
    return session.scalar(
        select(Reflection)
        .where(Reflection.person_id == person.id, Reflection.month == month)
        .order_by(Reflection.created_at.desc(), Reflection.id.desc())
        .limit(1)
    )
