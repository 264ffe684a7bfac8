"""Workspaces and the people in them, as Slack names them (team id, user id)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.orm import Session

from slackbot.store.models import Person, Workspace, utcnow
from slackbot.store.rows import conflict_insert, insert_ignoring_conflict


def find_workspace(session: Session, team_id: str) -> Workspace | None:
    """The workspace row for a Slack team, if Loops knows it."""
    return session.scalars(select(Workspace).where(Workspace.team_id == team_id)).first()


def find_caller(
    session: Session, team_id: str, slack_user_id: str | None
) -> tuple[Workspace | None, Person | None]:
    """The workspace of a Slack team and the person behind a user id in it, as far as Loops knows
    them, in one query (every request asks)."""
    if slack_user_id is None:
        return find_workspace(session, team_id), None
    row = session.execute(_CALLER, {"team_id": team_id, "user_id": slack_user_id}).first()
    return (None, None) if row is None else (row[0], row[1])


# Built once: building the statement cost every request more than running it.
_CALLER = (
    select(Workspace, Person)
    .outerjoin(
        Person, and_(Person.workspace_id == Workspace.id, Person.slack_user_id == bindparam("user_id"))
    )
    .where(Workspace.team_id == bindparam("team_id"))
)


def ensure_workspace(session: Session, team_id: str) -> Workspace:
    """The workspace row for a Slack team, created on first sight."""
    found = find_workspace(session, team_id)
    if found is not None:
        return found
    insert_ignoring_conflict(session, Workspace, {"team_id": team_id, "created_at": utcnow()}, ["team_id"])
    return session.scalars(select(Workspace).where(Workspace.team_id == team_id)).one()


def _person_query(workspace: Workspace, slack_user_id: str) -> Select[Person]:
    return select(Person).where(Person.workspace_id == workspace.id, Person.slack_user_id == slack_user_id)


def find_person(session: Session, workspace: Workspace, slack_user_id: str) -> Person | None:
    """The person behind a Slack user id in this workspace, if Loops knows them."""
    return session.scalars(_person_query(workspace, slack_user_id)).first()


def ensure_person(
    session: Session, workspace: Workspace, slack_user_id: str, *, known_missing: bool = False
) -> Person:
    """The person behind a Slack user id in this workspace, created on first sight.

    `known_missing`: the caller has just looked and not found them, so go straight to the
    insert (which still does nothing if another request created them meanwhile).
    """
    found = None if known_missing else find_person(session, workspace, slack_user_id)
    if found is not None:
        return found
    created = session.scalars(
        conflict_insert(session, Person)
        .values(
            workspace_id=workspace.id,
            slack_user_id=slack_user_id,
            enrolled=False,
            deactivated=False,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["workspace_id", "slack_user_id"])
        .returning(Person)
    ).first()
    # None: another request created them first; theirs is the row to use.
    return created or session.scalars(_person_query(workspace, slack_user_id)).one()


def people_due(session: Session, now: datetime, limit: int) -> list[Person]:
    """Enrolled people whose next prompt is due; rows another tick is planning are skipped."""
    query = (
        select(Person)
        .join(Workspace, Workspace.id == Person.workspace_id)
        .where(
            Person.enrolled.is_(True),
            Person.deactivated.is_(False),
            Person.blocked_reason.is_(None),
            Person.next_prompt_at <= now,
            Workspace.uninstalled_at.is_(None),
        )
        .order_by(Person.next_prompt_at)
        .limit(limit)
        .with_for_update(of=Person, skip_locked=True)
    )
    return list(session.scalars(query))
