"""The named queries the rest of the bot uses; each is scoped to a workspace or person."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from slackbot.store.models import Base, Person, SeenEvent, Workspace, utcnow


def _insert_ignoring_conflict(
    session: Session, model: type[Base], values: dict[str, Any], conflict_columns: list[str]
) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when this call inserted the row.

    Two requests racing to create the same row both succeed, and exactly one of them
    learns it was first: no exception handling, no savepoints.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = model.__table__
    assert isinstance(table, Table)
    statement = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=conflict_columns)
        .returning(*table.primary_key.columns)
    )
    return session.execute(statement).first() is not None


def ensure_workspace(session: Session, team_id: str) -> Workspace:
    """The workspace row for a Slack team, created on first sight."""
    found = session.scalars(select(Workspace).where(Workspace.team_id == team_id)).first()
    if found is not None:
        return found
    _insert_ignoring_conflict(session, Workspace, {"team_id": team_id, "created_at": utcnow()}, ["team_id"])
    return session.scalars(select(Workspace).where(Workspace.team_id == team_id)).one()


def _person_query(workspace: Workspace, slack_user_id: str) -> Select[Person]:
    return select(Person).where(Person.workspace_id == workspace.id, Person.slack_user_id == slack_user_id)


def find_person(session: Session, workspace: Workspace, slack_user_id: str) -> Person | None:
    """The person behind a Slack user id in this workspace, if Loops knows them."""
    return session.scalars(_person_query(workspace, slack_user_id)).first()


def ensure_person(session: Session, workspace: Workspace, slack_user_id: str) -> Person:
    """The person behind a Slack user id in this workspace, created on first sight."""
    found = find_person(session, workspace, slack_user_id)
    if found is not None:
        return found
    _insert_ignoring_conflict(
        session,
        Person,
        {
            "workspace_id": workspace.id,
            "slack_user_id": slack_user_id,
            "enrolled": False,
            "deactivated": False,
            "created_at": utcnow(),
        },
        ["workspace_id", "slack_user_id"],
    )
    return session.scalars(_person_query(workspace, slack_user_id)).one()


def remember_event(session: Session, event_id: str, team_id: str | None) -> bool:
    """Record an Events API delivery; False when this event_id was handled before.

    The row is part of the caller's transaction: if handling fails and rolls back,
    Slack's next retry is handled rather than dropped.
    """
    return _insert_ignoring_conflict(
        session,
        SeenEvent,
        {"event_id": event_id, "team_id": team_id, "received_at": utcnow()},
        ["event_id"],
    )


def forget_events_before(session: Session, cutoff: datetime) -> int:
    """Drop dedupe records older than any retry Slack would still send."""
    result = session.execute(delete(SeenEvent).where(SeenEvent.received_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
