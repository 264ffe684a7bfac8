"""`/loops` rendered ahead: one row per person, so that the summary is one row to read.

The clock renders each person's summary (outbox.summary) and keeps it with the version of
their history it was rendered from. Every flush that changes what a summary shows (a loop, a
shipment or a check-in of the person's) moves that version on in the same
transaction (`outdate_summaries`, listened to on every session a `Database` makes). So a kept
summary is shown only while nothing it shows has changed, only in the zone it was rendered
in (a zone move changes its dates), and only until its `valid_until`;
a read that finds none current builds the answer as before, and the clock's next tick
renders it again.

The version is read before the rows the summary is rendered from, and the summary is kept
only if the version is still that one (`keep_summary`). A change committed in between has
moved it on, so what is kept is never older than its version, on either engine.

Writes made with Core statements (UPDATE or DELETE without the ORM) pass no flush. Of the
tables a summary shows, only forgetting a person writes so (store.leaving), and it deletes
their summary too.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, or_, select, update
from sqlalchemy.orm import Session

from slackbot.store.models import CheckIn, Loop, Person, PersonSummary, Shipment, Workspace
from slackbot.store.upsert import conflict_insert

if TYPE_CHECKING:  # the database module listens with this one's `outdate_summaries`
    from slackbot.store.db import Database

# Rows whose change a summary shows (each carries its person_id).
SHOWN_IN_SUMMARY = (Loop, Shipment, CheckIn)


def outdate_summaries(session: Session, _flush_context: object) -> None:
    """After a flush: the summaries of everyone whose loops, ships or check-ins changed no
    longer hold (their version moves on, in this transaction). A zone that moved needs no
    write: a summary is only read for the zone it was rendered in."""
    people: set[int] = set()
    for row in (*session.new, *session.dirty, *session.deleted):
        if isinstance(row, SHOWN_IN_SUMMARY):
            if row in session.dirty and not session.is_modified(row):
                continue
            if row.person_id is not None:
                people.add(row.person_id)
    if people:
        _move_versions_on(session.connection(), sorted(people))


def _move_versions_on(connection: Connection, person_ids: list[int]) -> None:
    """One statement: a row for whoever has none, and the version of the others moved on.

    In id order, so that two transactions moving the same people on never deadlock.
    """
    statement = conflict_insert(connection, PersonSummary).values(
        [{"person_id": person_id} for person_id in person_ids]
    )
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[PersonSummary.person_id], set_={"version": PersonSummary.version + 1}
        )
    )


# Built once: the ack runs it, and building a statement costs more than running this one.
_KEPT = (
    select(PersonSummary.body)
    .join(Person, Person.id == PersonSummary.person_id)
    .join(Workspace, Workspace.id == Person.workspace_id)
    .where(
        Workspace.team_id == bindparam("team_id"),
        # An uninstalled workspace's summaries are not answered: its next command marks the
        # install back (app.history.came_back) on the way that builds the answer.
        Workspace.uninstalled_at.is_(None),
        Person.slack_user_id == bindparam("user_id"),
        PersonSummary.rendered_version == PersonSummary.version,
        PersonSummary.rendered_zone.is_not_distinct_from(Person.tz),
        PersonSummary.valid_until > bindparam("now"),
    )
)


def kept_summary(database: Database, team_id: str, user_id: str, now: datetime) -> str | None:
    """The caller's summary as the clock rendered it (the message as JSON), if nothing it
    shows changed since and it still holds at `now`; None otherwise (build it). One indexed
    row, the caller's own, read on the driver's cursor (`Database.quick_row`): an ORM
    session, or even Core's execution, would cost the ack more than the read."""
    row = database.quick_row(_KEPT, {"team_id": team_id, "user_id": user_id, "now": now})
    return None if row is None else str(row[0])


def due_summaries(session: Session, now: datetime, limit: int) -> list[tuple[Person, int]]:
    """Up to `limit` people whose summary is missing, outdated or expired, each with the
    version it would be rendered from (read before their rows are)."""
    rows = session.execute(
        select(Person, PersonSummary.version)
        .join(PersonSummary, PersonSummary.person_id == Person.id)
        .where(
            or_(
                PersonSummary.rendered_version.is_(None),
                PersonSummary.rendered_version != PersonSummary.version,
                PersonSummary.rendered_zone.is_distinct_from(Person.tz),
                PersonSummary.valid_until.is_(None),
                PersonSummary.valid_until <= now,
            )
        )
        .order_by(Person.id)
        .limit(limit)
    )
    return [(person, int(version)) for person, version in rows]


def keep_summary(
    session: Session,
    person_id: int,
    version: int,
    zone: str | None,
    body: dict[str, Any],
    valid_until: datetime,
) -> bool:
    """Keep a summary rendered from `version` in `zone` (the person's, None: the default);
    False (nothing kept) if a change moved the version on since."""
    result = session.execute(
        update(PersonSummary)
        .where(PersonSummary.person_id == person_id, PersonSummary.version == version)
        .values(rendered_version=version, rendered_zone=zone, body=json.dumps(body), valid_until=valid_until)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1
