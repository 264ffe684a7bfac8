"""Deliveries owed to a workspace, not a person: the weekly digest in its channel.

Planned once per workspace per week (the partial unique index on (kind, workspace, key)),
one delivery per message of the digest; the first posts, the others wait for its ts and
reply in its thread. Each part is worked out again when it is sent, from what was stored
before the digest's moment, so every part says what it said when the digest was planned.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from slackbot.blocks.digest import digest_messages
from slackbot.core.deliveries import (
    WORKSPACE_GONE_REASON,
    DeliveryKind,
    DeliveryState,
    digest_key,
    digest_part,
)
from slackbot.outbox.model import Draft, Ended, Later
from slackbot.store.digest import digest_of
from slackbot.store.models import Delivery, Workspace, utcnow

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


def plan_digest(session: Session, workspace: Workspace, channel: str, monday: date, moment: datetime) -> int:
    """Owe the week's digest to the workspace once; how many messages this call added (0: owed already)."""
    if owed_to_team(session, workspace.id, DeliveryKind.DIGEST, digest_key(monday, 1)) is not None:
        return 0
    parts = len(digest_bodies(session, workspace, monday, moment))
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    rows = [
        {
            "workspace_id": workspace.id,
            "person_id": None,
            "kind": DeliveryKind.DIGEST,
            "key": digest_key(monday, part),
            "due_at": moment,
            "ready_at": moment,
            "state": DeliveryState.PENDING,
            "attempts": 0,
            "maybe_posted": False,
            "channel": channel,
            "created_at": utcnow(),
        }
        for part in range(1, parts + 1)
    ]
    statement = (
        insert(Delivery)
        .on_conflict_do_nothing(
            index_elements=["kind", "workspace_id", "key"], index_where=Delivery.person_id.is_(None)
        )
        .returning(Delivery.id)
    )
    return len(session.execute(statement, rows).all())


def render_team(
    session: Session, delivery: Delivery, workspace: Workspace, now: datetime
) -> Draft | Ended | Later:
    """Where a part of the digest goes and what it says, or why it is not sent."""
    if workspace.uninstalled_at is not None:
        return Ended(DeliveryState.SKIPPED, WORKSPACE_GONE_REASON, "skipped")
    assert delivery.kind == DeliveryKind.DIGEST and delivery.channel is not None
    monday, part = digest_part(delivery.key)
    bodies = digest_bodies(session, workspace, monday, delivery.due_at)
    if part > len(bodies):
        return Ended(DeliveryState.SKIPPED, "the digest is shorter than when it was planned", "skipped")
    if part == 1:
        return Draft(delivery.channel, None, bodies[0])
    root = owed_to_team(session, workspace.id, DeliveryKind.DIGEST, digest_key(monday, 1))
    if root is None or root.state in {DeliveryState.FAILED, DeliveryState.SKIPPED, DeliveryState.MISSED}:
        return Ended(DeliveryState.SKIPPED, "the digest's first message was never posted", "skipped")
    if root.slack_ts is None:
        return Later(now + ROOT_WAIT, "the digest's first message is not posted yet")
    return Draft(root.channel or delivery.channel, root.slack_ts, bodies[part - 1])
