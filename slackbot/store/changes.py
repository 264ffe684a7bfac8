"""Whose loops a transaction changed: the one listener every session of a `Database` has.

After each flush it notes the people whose rows changed (a loop, a shipment, a check-in, a
reflection, a delivery, or the person), so the app can redraw their Home tab once the request
has committed (`changed_people`). For those whose shipments changed it also moves
their `figures_version` on, in the same transaction: stored figures of another version no
longer hold (store/figures.py). Counted in SQL (`+ 1` there), so two changes at once are two.

Writes made with Core statements pass no flush: entries and new deliveries (INSERT … ON
CONFLICT), which the Home tab does not show, and the bulk UPDATEs and DELETEs of deliveries and
people; none of them changes a shipment.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from slackbot.store.models import CheckIn, Delivery, Loop, Person, Reflection, Shipment

# Rows that belong to one person: a change to any may change what their Home tab shows.
OWNED = (Person, Loop, Shipment, CheckIn, Delivery, Reflection)
CHANGED_PEOPLE = "loops.changed_people"  # Session.info key


def changed_people(session: Session) -> set[int]:
    """The ids of the people whose rows this session changed (flushed) so far."""
    found: set[int] = session.info.setdefault(CHANGED_PEOPLE, set())
    return found


def note_changes(session: Session, _flush_context: object) -> None:
    """After a flush: note whose rows changed, and outdate the figures of whoever shipped."""
    people: set[int] = set()
    shipped: set[int] = set()
    for row in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(row, OWNED) or (row in session.dirty and not session.is_modified(row)):
            continue
        person_id = row.id if isinstance(row, Person) else row.person_id
        if person_id is None:  # a delivery owed to the workspace
            continue
        people.add(person_id)
        if isinstance(row, Shipment):
            shipped.add(person_id)
    changed_people(session).update(people)
    if shipped:
        # In id order, so two transactions moving the same people on never deadlock.
        session.connection().execute(
            update(Person)
            .where(Person.id.in_(sorted(shipped)))
            .values(figures_version=Person.figures_version + 1)
        )
        for person in session.identity_map.values():
            if isinstance(person, Person) and person.id in shipped:
                session.expire(person, ["figures_version"])
