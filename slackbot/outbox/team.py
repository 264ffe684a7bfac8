"""What the deliveries of the team become when sent: the weekly digest and the daily thread in
the digest channel, the shared morning answers posted in that thread, and their removal.

A digest is one delivery per message (clock/team.py owes them); the first posts, the others
wait for its ts and reply in its thread. Each part is worked out again when it is sent, from
what was stored before the digest's moment, so every part says what it said when the digest
was planned.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from slackbot.blocks.digest import daily_root, daily_share, digest_messages
from slackbot.blocks.text import thread_url
from slackbot.core.deliveries import (
    WORKSPACE_GONE_REASON,
    DeliveryKind,
    DeliveryState,
    digest_key,
    digest_part,
)
from slackbot.outbox.model import Draft, Ended, Later, Removal
from slackbot.store.deliveries import owed_to_team
from slackbot.store.digest import digest_of
from slackbot.store.models import Delivery, Loop, Person, Workspace

WEEK = timedelta(days=7)
# The first message of a digest is normally posted within seconds; its replies wait for it.
ROOT_WAIT = timedelta(minutes=1)


def digest_bodies(
    session: Session, workspace: Workspace, monday: date, moment: datetime
) -> list[dict[str, object]]:
    """The digest of the week before `moment` (the Monday's 09:00), message by message."""
    return digest_messages(digest_of(session, workspace, moment - WEEK, moment), monday - WEEK)


def render_team(
    session: Session, delivery: Delivery, workspace: Workspace, now: datetime
) -> Draft | Ended | Later:
    """Where a part of the digest (or the day's thread) goes and what it says, or why not."""
    if workspace.uninstalled_at is not None:
        return Ended(DeliveryState.SKIPPED, WORKSPACE_GONE_REASON, "skipped")
    assert delivery.channel is not None
    if delivery.kind == DeliveryKind.REMOVAL:
        return removal_of(delivery)
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


def removal_of(delivery: Delivery) -> Draft:
    """Which post a removal deletes: its ts, or the share (by id) to find in the thread first."""
    assert delivery.channel is not None
    if delivery.slack_ts is not None:
        return Draft(delivery.channel, None, {}, Removal(delivery.slack_ts))
    share, _, thread_ts = delivery.key.partition("@")
    return Draft(delivery.channel, thread_ts, {}, Removal(None, of_delivery=int(share)))
