"""A person's three distances (core/figures.py), kept per person by the clock once a day.

The clock works everyone's figures out once a day and keeps them in `person_figures` with the
person's `figures_version` then; a change to their shipments moves that version on
(store/changes.py), and until the clock works them out again they are worked out from the
shipments of the two 90-day windows, read through `(person_id, shipped_at)`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from slackbot.core.figures import WINDOW, CountedShipment, Figures, figures
from slackbot.core.loops import SHIPPABLE
from slackbot.core.shipments import ShipmentState
from slackbot.store.models import Loop, Person, PersonFigures, Shipment
from slackbot.store.rows import conflict_insert


@dataclass(frozen=True)
class Standing:
    """Where a person stands: open loops, unwatched ships, and the two windows' figures."""

    open_count: int
    unwatched: int
    recent: Figures
    previous: Figures


def standing_of(session: Session, person: Person, now: datetime) -> Standing:
    """The counts and today's figures as the clock stored them, in one round trip (every
    `/loops` and Home tab asks for all three); figures not stored for today are worked out now.

    A change to the person's shipments moves their figures_version on (store/changes.py), so the
    figures read here are never older than the last ship or answer.
    """
    open_count = (
        select(func.count())
        .select_from(Loop)
        .where(Loop.person_id == person.id, Loop.state.in_(SHIPPABLE))
        .scalar_subquery()
    )
    unwatched = (
        select(func.count())
        .select_from(Shipment)
        .where(Shipment.person_id == person.id, Shipment.state == ShipmentState.UNWATCHED)
        .scalar_subquery()
    )
    row = session.execute(
        select(open_count, unwatched, PersonFigures)
        .select_from(Person)
        .outerjoin(PersonFigures, PersonFigures.person_id == Person.id)
        .where(Person.id == person.id)
    ).one()
    stored: PersonFigures | None = row[2]
    if stored is not None and _current(stored, person, now):
        recent, previous = _loaded(stored.recent), _loaded(stored.previous)
    else:
        recent, previous = work_out_windows(session, person, now)
    return Standing(int(row[0] or 0), int(row[1] or 0), recent, previous)


def shipments_in(session: Session, person: Person, since: datetime, until: datetime) -> list[CountedShipment]:
    """The person's ships in (since, until]: a range of ix_shipment_person_shipped, and only the
    small columns the figures need (a busy person has hundreds of ships in a window)."""
    rows = session.execute(
        select(Shipment.problem_days, Shipment.outcome_days, Shipment.watched, Shipment.state).where(
            Shipment.person_id == person.id,
            Shipment.shipped_at > since,
            Shipment.shipped_at <= until,
            Shipment.state != ShipmentState.DRAFT,
        )
    )
    return [
        CountedShipment(
            problem_days=problem,
            outcome_days=outcome if state == ShipmentState.ANSWERED else None,
            answered=bool(watched),
            unwatched=state == ShipmentState.UNWATCHED,
        )
        for problem, outcome, watched, state in rows
    ]


def work_out_windows(session: Session, person: Person, now: datetime) -> tuple[Figures, Figures]:
    """The figures of the last 90 days, and of the 90 before (the trend), from the ships."""
    current = figures(shipments_in(session, person, now - WINDOW, now))
    previous = figures(shipments_in(session, person, now - 2 * WINDOW, now - WINDOW))
    return current, previous


def _current(stored: PersonFigures, person: Person, now: datetime) -> bool:
    return stored.computed_on == now.astimezone(UTC).date() and stored.version == person.figures_version


def store_figures(session: Session, now: datetime, limit: int) -> int:
    """Work out and keep today's figures for up to `limit` people who ship and have none."""
    today = now.astimezone(UTC).date()
    fresh = (
        select(PersonFigures.person_id)
        .join(Person, Person.id == PersonFigures.person_id)
        .where(PersonFigures.computed_on == today, PersonFigures.version == Person.figures_version)
    )
    due = list(
        session.scalars(
            select(Person)
            .where(
                Person.id.in_(select(Shipment.person_id).where(Shipment.state != ShipmentState.DRAFT)),
                Person.id.not_in(fresh),
            )
            .order_by(Person.id)
            .limit(limit)
        )
    )
    for person in due:
        version = person.figures_version  # read before the ships
        current, previous = work_out_windows(session, person, now)
        kept = {
            "computed_on": today,
            "version": version,
            "recent": _stored(current),
            "previous": _stored(previous),
        }
        # Two clock processes may both find a person's figures missing (PostgreSQL lets both
        # read before either writes): the second waits for the first's row, then writes over it.
        session.execute(
            conflict_insert(session, PersonFigures)
            .values(person_id=person.id, **kept)
            .on_conflict_do_update(index_elements=[PersonFigures.person_id], set_=kept)
        )
    return len(due)


# Kept figures are JSON under the names they were first kept with, so that rows written by this
# version and by the one before read the same in both (a deploy runs the two side by side).
_STORED_NAMES = {
    "problem_to_shipment_days": "problem_to_ship_days",
    "shipment_to_outcome_days": "ship_to_outcome_days",
    "shipments": "ships",
}


def _stored(figures: Figures) -> str:
    return json.dumps({_STORED_NAMES.get(name, name): value for name, value in asdict(figures).items()})


def _loaded(text: str) -> Figures:
    kept = json.loads(text)
    return Figures(**{name: kept[_STORED_NAMES.get(name, name)] for name in Figures.__dataclass_fields__})
