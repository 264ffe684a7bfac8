"""Leaving: a workspace that uninstalls, a person who asks to be forgotten, an account Slack ends.

What is owed to them is withdrawn at once (no further Slack call for them), and put back
if they come back; what they wrote is deleted for good, by one function for both cases,
so a person forgotten and a workspace purged lose exactly the same rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session

from slackbot.core.deliveries import (
    PERSON_GONE_REASON,
    WORKSPACE_GONE_REASON,
    DeliveryKind,
    DeliveryState,
)
from slackbot.store.deliveries import owed_to_team
from slackbot.store.models import (
    CheckIn,
    Delivery,
    Entry,
    ForgottenPerson,
    Loop,
    Person,
    PersonFigures,
    Reflection,
    SearchTerm,
    Shipment,
    Workspace,
    slack_bots,
    slack_installations,
)

_UNSENT = (DeliveryState.PENDING,)


def _withdraw(session: Session, where: ColumnElement[bool], reason: str) -> int:
    result = session.execute(
        update(Delivery)
        .where(where, Delivery.state.in_(_UNSENT))
        .values(state=DeliveryState.SKIPPED, last_error=reason, lease_owner=None, lease_until=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _put_back(session: Session, where: ColumnElement[bool], reason: str) -> int:
    # Owed from when they were due: sending decides again (a morning prompt long past is
    # missed, a check-in still asks).
    result = session.execute(
        update(Delivery)
        .where(where, Delivery.state == DeliveryState.SKIPPED, Delivery.last_error == reason)
        .values(state=DeliveryState.PENDING, last_error=None, ready_at=Delivery.due_at)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def mark_uninstalled(session: Session, workspace: Workspace, now: datetime) -> int:
    """The workspace removed Loops: nothing more goes out with its token; deliveries withdrawn."""
    if workspace.uninstalled_at is None:
        workspace.uninstalled_at = now
    return _withdraw(session, Delivery.workspace_id == workspace.id, WORKSPACE_GONE_REASON)


def mark_reinstalled(session: Session, workspace: Workspace) -> int:
    """Installed again within the retention: its data was kept, and what it was owed comes back."""
    workspace.uninstalled_at = None
    return _put_back(session, Delivery.workspace_id == workspace.id, WORKSPACE_GONE_REASON)


def withdraw_for_person(session: Session, person: Person) -> int:
    """Slack ended the person's account: no prompt, nudge or check-in goes to them."""
    return _withdraw(session, Delivery.person_id == person.id, PERSON_GONE_REASON)


def put_back_for_person(session: Session, person: Person) -> int:
    """The account is active again: what was withdrawn for its deactivation comes back."""
    return _put_back(session, Delivery.person_id == person.id, PERSON_GONE_REASON)


@dataclass(frozen=True)
class Holdings:
    """What Loops holds about one person: what `/loops forget-me` says it will delete."""

    loops: int
    entries: int
    shipments: int
    check_ins: int
    deliveries: int
    reflections: int


def holdings_of(session: Session, person: Person) -> Holdings:
    def count(model: type[Loop | Entry | Shipment | CheckIn | Delivery | Reflection]) -> int:
        return int(
            session.scalar(select(func.count()).select_from(model).where(model.person_id == person.id)) or 0
        )

    return Holdings(
        loops=count(Loop),
        entries=count(Entry),
        shipments=count(Shipment),
        check_ins=count(CheckIn),
        deliveries=count(Delivery),
        reflections=count(Reflection),
    )


def owe_removals(session: Session, person: Person, now: datetime) -> list[Delivery]:
    """What Loops posted about the person in a team channel (the daily thread), owed for deletion.

    Deliveries, so that Slack failing (or the process stopping) does not leave them behind. A
    share that was being sent (claimed, or tried with no answer) may land after this: it is
    looked for in its thread once its lease has run out, and deleted if found.
    """
    removals = []
    shares = session.scalars(
        select(Delivery).where(Delivery.person_id == person.id, Delivery.kind == DeliveryKind.DAILY_SHARE)
    )
    for share in shares:
        if share.slack_ts and share.channel:
            key, channel, ts, ready = f"{share.channel} {share.slack_ts}", share.channel, share.slack_ts, now
        elif share.state == DeliveryState.CLAIMED or share.maybe_posted:
            day = share.key.partition("#")[0]
            root = owed_to_team(session, share.workspace_id, DeliveryKind.DAILY_THREAD, day)
            if root is None or root.slack_ts is None or root.channel is None:
                continue  # no thread yet: the share cannot have been posted
            key, channel, ts = f"{share.id}@{root.slack_ts}", root.channel, None
            ready = max(now, share.lease_until or now)  # a claim's send is over when its lease is
        else:
            continue
        removal = Delivery(
            workspace_id=share.workspace_id,
            kind=DeliveryKind.REMOVAL,
            key=key,
            due_at=now,
            ready_at=ready,
            channel=channel,
            slack_ts=ts,
            first_attempt_at=share.first_attempt_at,
            created_at=now,
        )
        session.add(removal)
        removals.append(removal)
    session.flush()
    return removals


def delete_people(session: Session, person_ids: list[int]) -> int:
    """Delete these people and everything of theirs, children first (SQLite enforces no cascade)."""
    if not person_ids:
        return 0
    mine = Loop.person_id.in_(person_ids)
    session.execute(update(Loop).where(mine).values(prompt_id=None))
    for model in (
        Delivery,
        CheckIn,
        SearchTerm,
        Entry,
        Shipment,
        Reflection,
        PersonFigures,
        Loop,
    ):
        session.execute(delete(model).where(model.person_id.in_(person_ids)))
    result = session.execute(delete(Person).where(Person.id.in_(person_ids)))
    session.expire_all()
    return int(getattr(result, "rowcount", 0) or 0)


def fingerprint(team_id: str, slack_user_id: str) -> str:
    """A one-way mark of a forgotten person, so the channel sync does not sign them up again."""
    return hashlib.sha256(f"loops-forgotten:{team_id}:{slack_user_id}".encode()).hexdigest()


def forget_person(
    session: Session, person: Person, team_id: str, now: datetime
) -> tuple[Holdings, list[int]]:
    """`/loops forget-me`: the person's loops, entries, shipments, deliveries and row, gone;
    and the deliveries that delete their posts in team channels (see `owe_removals`)."""
    held = holdings_of(session, person)
    removals = [removal.id for removal in owe_removals(session, person, now)]
    mark = fingerprint(team_id, person.slack_user_id)
    if session.get(ForgottenPerson, (person.workspace_id, mark)) is None:
        session.add(ForgottenPerson(workspace_id=person.workspace_id, fingerprint=mark, forgotten_at=now))
    delete_people(session, [person.id])
    return held, removals


def forgotten_among(session: Session, workspace_id: int, team_id: str, slack_user_ids: set[str]) -> set[str]:
    """Those of these Slack ids who said `/loops forget-me` here (one read of the workspace's marks)."""
    marks = set(
        session.scalars(
            select(ForgottenPerson.fingerprint).where(ForgottenPerson.workspace_id == workspace_id)
        )
    )
    return {user_id for user_id in slack_user_ids if fingerprint(team_id, user_id) in marks}


def remember_again(session: Session, workspace_id: int, team_id: str, slack_user_id: str) -> None:
    """They came back of their own accord (`/loops start`): the channel may enrol them again."""
    session.execute(
        delete(ForgottenPerson).where(
            ForgottenPerson.workspace_id == workspace_id,
            ForgottenPerson.fingerprint == fingerprint(team_id, slack_user_id),
        )
    )


def purge_workspaces(session: Session, now: datetime, retention: timedelta, limit: int = 10) -> list[str]:
    """Delete workspaces uninstalled at least `retention` ago, with all their data; their team ids."""
    gone = list(
        session.scalars(
            select(Workspace)
            .where(Workspace.uninstalled_at.is_not(None), Workspace.uninstalled_at <= now - retention)
            .order_by(Workspace.uninstalled_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for workspace in gone:
        delete_people(
            session, list(session.scalars(select(Person.id).where(Person.workspace_id == workspace.id)))
        )
        session.execute(delete(ForgottenPerson).where(ForgottenPerson.workspace_id == workspace.id))
        # Bolt's revocation listeners removed the install; a missed event leaves nothing behind.
        for table in (slack_bots, slack_installations):
            session.execute(delete(table).where(table.c.team_id == workspace.team_id))
        session.execute(delete(Workspace).where(Workspace.id == workspace.id))
    session.expire_all()
    return [workspace.team_id for workspace in gone]
