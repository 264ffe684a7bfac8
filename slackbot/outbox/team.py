"""Deliveries owed to a workspace, not a person: the weekly digest and the daily thread in
the digest channel, and the shared morning answers posted in that thread.

Planned once per workspace per week (the partial unique index on (kind, workspace, key)),
one delivery per message of the digest; the first posts, the others wait for its ts and
reply in its thread. Each part is worked out again when it is sent, from what was stored
before the digest's moment, so every part says what it said when the digest was planned.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from slackbot.blocks.digest import daily_root, daily_share, digest_messages
from slackbot.blocks.text import thread_url
from slackbot.core.deliveries import (
    WORKSPACE_GONE_REASON,
    DeliveryKind,
    DeliveryState,
    digest_key,
    digest_part,
    share_key,
)
from slackbot.core.schedule import zone
from slackbot.outbox.model import Draft, Ended, Later
from slackbot.store.digest import digest_of, team_zone
from slackbot.store.models import Delivery, Loop, Person, Workspace, utcnow
from slackbot.store.queries import add_delivery
from slackbot.store.upsert import conflict_insert

WEEK = timedelta(days=7)
# The first message of a digest is normally posted within seconds; its replies wait for it.
ROOT_WAIT = timedelta(minutes=1)


def digest_bodies(
    session: Session, workspace: Workspace, monday: date, moment: datetime
) -> list[dict[str, object]]:
    """The digest of the week before `moment` (the Monday's 09:00), message by message."""
    return digest_messages(digest_of(session, workspace, moment - WEEK, moment), monday - WEEK)


def owed_to_team(session: Session, workspace_id: int, kind: DeliveryKind, key: str) -> Delivery | None:
    return session.scalars(
        select(Delivery).where(
            Delivery.workspace_id == workspace_id,
            Delivery.person_id.is_(None),
            Delivery.kind == kind,
            Delivery.key == key,
        )
    ).first()


def _owe_to_team(session: Session, rows: list[dict[str, object]]) -> int:
    """Insert what is owed to workspaces, each (kind, workspace, key) once; how many were new."""
    if not rows:
        return 0
    for row in rows:
        row.setdefault("ready_at", row["due_at"])
        row.setdefault("state", DeliveryState.PENDING)
        row.setdefault("attempts", 0)
        row.setdefault("maybe_posted", False)
        row.setdefault("created_at", utcnow())
        row["person_id"] = None
    statement = (
        conflict_insert(session, Delivery)
        .on_conflict_do_nothing(
            index_elements=["kind", "workspace_id", "key"], index_where=Delivery.person_id.is_(None)
        )
        .returning(Delivery.id)
    )
    return len(session.execute(statement, rows).all())


def plan_daily_thread(
    session: Session, workspace: Workspace, channel: str, on: date, moment: datetime
) -> int:
    """Owe the day's thread (at the team's morning, or at once for a share that comes first)."""
    key = on.isoformat()
    return _owe_to_team(
        session,
        [
            {
                "workspace_id": workspace.id,
                "kind": DeliveryKind.DAILY_THREAD,
                "key": key,
                "due_at": moment,
                "channel": channel,
            }
        ],
    )


def owe_daily_share(
    session: Session,
    workspace: Workspace,
    person: Person,
    loop: Loop,
    *,
    channel: str,
    on: date,
    thread_at: datetime,
    now: datetime,
) -> int | None:
    """A shared morning answer, owed to the day's thread (owed too, if nobody shared before)."""
    plan_daily_thread(session, workspace, channel, on, thread_at)
    return add_delivery(
        session,
        workspace_id=workspace.id,
        person_id=person.id,
        kind=DeliveryKind.DAILY_SHARE,
        key=share_key(on, loop.id),
        due_at=now,
        loop_id=loop.id,
        channel=channel,
    )


def plan_digest(session: Session, workspace: Workspace, channel: str, monday: date, moment: datetime) -> int:
    """Owe the week's digest to the workspace once; how many messages this call added (0: owed already)."""
    if owed_to_team(session, workspace.id, DeliveryKind.DIGEST, digest_key(monday, 1)) is not None:
        return 0
    parts = len(digest_bodies(session, workspace, monday, moment))
    return _owe_to_team(
        session,
        [
            {
                "workspace_id": workspace.id,
                "kind": DeliveryKind.DIGEST,
                "key": digest_key(monday, part),
                "due_at": moment,
                "channel": channel,
            }
            for part in range(1, parts + 1)
        ],
    )


def team_morning(
    session: Session, workspace: Workspace, team_tz: str | None, morning: time, now: datetime
) -> tuple[date, datetime]:
    """The team's local date now, and its morning (LOOPS_PROMPT_TIME in the team's zone) in UTC."""
    tz = zone(team_zone(session, workspace, team_tz))
    today = now.astimezone(tz).date()
    return today, datetime.combine(today, morning, tzinfo=tz).astimezone(UTC)


def render_team(
    session: Session, delivery: Delivery, workspace: Workspace, now: datetime
) -> Draft | Ended | Later:
    """Where a part of the digest (or the day's thread) goes and what it says, or why not."""
    if workspace.uninstalled_at is not None:
        return Ended(DeliveryState.SKIPPED, WORKSPACE_GONE_REASON, "skipped")
    assert delivery.channel is not None
    if delivery.kind == DeliveryKind.DAILY_THREAD:
        return Draft(delivery.channel, None, daily_root(date.fromisoformat(delivery.key)))
    assert delivery.kind == DeliveryKind.DIGEST
    monday, part = digest_part(delivery.key)
    bodies = digest_bodies(session, workspace, monday, delivery.due_at)
    if part > len(bodies):
        return Ended(DeliveryState.SKIPPED, "the digest is shorter than when it was planned", "skipped")
    if part == 1:
        return Draft(delivery.channel, None, bodies[0])
    root = owed_to_team(session, workspace.id, DeliveryKind.DIGEST, digest_key(monday, 1))
    waiting = _root_not_ready(root, now, "the digest's first message")
    if waiting is not None:
        return waiting
    assert root is not None
    return Draft(root.channel or delivery.channel, root.slack_ts, bodies[part - 1])


def _root_not_ready(root: Delivery | None, now: datetime, what: str) -> Ended | Later | None:
    """Why a reply cannot go in its thread yet (or ever), or None once the root is posted."""
    if root is None or root.state in {DeliveryState.FAILED, DeliveryState.SKIPPED, DeliveryState.MISSED}:
        return Ended(DeliveryState.SKIPPED, f"{what} was never posted", "skipped")
    if root.slack_ts is None:
        return Later(max(now + ROOT_WAIT, root.ready_at), f"{what} is not posted yet")
    return None


def render_share(
    session: Session, delivery: Delivery, person: Person, workspace: Workspace, now: datetime
) -> Draft | Ended | Later:
    """A shared morning answer in the day's thread: only while its owner still shares it."""
    loop = session.get(Loop, delivery.loop_id)
    if loop is None or loop.person_id != person.id:
        return Ended(DeliveryState.SKIPPED, "the loop is gone", "skipped")
    if loop.private or not person.in_digest:
        return Ended(DeliveryState.SKIPPED, "no longer shared with the team", "skipped")
    on = date.fromisoformat(delivery.key.partition("#")[0])
    root = owed_to_team(session, workspace.id, DeliveryKind.DAILY_THREAD, on.isoformat())
    waiting = _root_not_ready(root, now, "the day's thread")
    if waiting is not None:
        return waiting
    assert root is not None
    link = (
        thread_url(workspace.url, loop.channel, loop.thread_ts)
        if workspace.url and loop.channel and loop.thread_ts
        else None
    )
    return Draft(
        root.channel or delivery.channel, root.slack_ts, daily_share(person.slack_user_id, loop, link)
    )
