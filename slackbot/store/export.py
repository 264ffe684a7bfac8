"""Everything one person has in Loops, for `/loops export`, and their monthly reflections."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from slackbot.core.shipments import ShipmentState
from slackbot.store.models import CheckIn, Entry, Loop, Person, Reflection, Shipment

# Loops read at a time, and entries fetched at a time: an export's memory does not grow with
# the history it writes out.
LOOP_BATCH = 100
ENTRY_BATCH = 500
# A claim older than this is from an export that died (a crash, a restart): a new one may start.
CLAIM_LASTS = timedelta(hours=1)


def claim_export(session: Session, person_id: int, now: datetime) -> bool:
    """Whether the person may have an export made now: none is on its way, in any process.

    One conditional UPDATE, so two requests (in two web processes) cannot both claim it.
    """
    claimed = session.execute(
        update(Person)
        .where(
            Person.id == person_id,
            or_(Person.export_started_at.is_(None), Person.export_started_at < now - CLAIM_LASTS),
        )
        .values(export_started_at=now)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], claimed).rowcount == 1


def release_export(session: Session, person_id: int, started: datetime) -> None:
    """The export started at `started` is over: the person may ask for the next one."""
    session.execute(
        update(Person)
        .where(Person.id == person_id, Person.export_started_at == started)
        .values(export_started_at=None)
        .execution_options(synchronize_session=False)
    )


@dataclass
class LoopRows:
    """One loop for the export: its shipments (with their check-ins) and its entries, oldest first.

    `entries` reads from the database as it is iterated: read it before asking for the next loop.
    """

    loop: Loop
    shipments: list[Shipment]  # in ship order
    checkins: dict[int, list[CheckIn]]  # by shipment id, in ask order
    entries: Iterator[Any]  # rows of .kind, .text, .created_at


def loops_of(session: Session, person: Person) -> Iterator[LoopRows]:
    """The person's loops in number order, a batch at a time, and nothing of anyone else's."""
    after = 0
    while loops := list(
        session.scalars(
            select(Loop)
            .where(Loop.person_id == person.id, Loop.number > after)
            .order_by(Loop.number)
            .limit(LOOP_BATCH)
        )
    ):
        after = loops[-1].number
        ids = [loop.id for loop in loops]
        shipments: dict[int, list[Shipment]] = {}
        for shipment in session.scalars(
            select(Shipment)
            .where(
                Shipment.person_id == person.id,
                Shipment.loop_id.in_(ids),
                Shipment.state != ShipmentState.DRAFT,
            )
            .order_by(Shipment.shipped_at, Shipment.id)
        ):
            shipments.setdefault(shipment.loop_id or 0, []).append(shipment)
        checkins: dict[int, list[CheckIn]] = {}
        shipment_ids = [s.id for found in shipments.values() for s in found]
        for checkin in session.scalars(
            select(CheckIn)
            .where(CheckIn.person_id == person.id, CheckIn.shipment_id.in_(shipment_ids))
            .order_by(CheckIn.shipment_id, CheckIn.ask)
        ):
            checkins.setdefault(checkin.shipment_id, []).append(checkin)
        rows = session.execute(
            select(Entry.loop_id, Entry.kind, Entry.text, Entry.created_at)
            .join(Loop, Loop.id == Entry.loop_id)
            .where(Entry.person_id == person.id, Entry.loop_id.in_(ids))
            .order_by(Loop.number, Entry.created_at, Entry.id)
            .execution_options(yield_per=ENTRY_BATCH)
        )
        groups = groupby(rows, key=lambda row: row.loop_id)
        group = next(groups, None)
        for loop in loops:
            entries: Iterator[Any] = iter(())
            if group is not None and group[0] == loop.id:
                entries, group = group[1], None
            yield LoopRows(loop, shipments.get(loop.id, []), checkins, entries)
            if group is None:
                group = next(groups, None)


def reflections_of(session: Session, person: Person) -> Iterator[Reflection]:
    """The person's monthly reflections, oldest month first."""
    return iter(
        session.scalars(
            select(Reflection)
            .where(Reflection.person_id == person.id)
            .order_by(Reflection.month, Reflection.created_at, Reflection.id)
            .execution_options(yield_per=ENTRY_BATCH)
        )
    )


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
