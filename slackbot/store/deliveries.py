"""Deliveries: messages Loops owes, each owed once (its unique key), claimed under a lease to send."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from slackbot.core.deliveries import DeliveryKind, DeliveryState, share_key
from slackbot.store.models import Delivery, Loop, Person, Workspace, utcnow
from slackbot.store.rows import conflict_insert


@dataclass(frozen=True)
class Owed:
    """One message Loops owes: to a person, or to their workspace (`person_id` None: the
    digest and the daily thread). Each is owed once: (kind, person, key), or (kind,
    workspace, key) for a workspace's."""

    kind: DeliveryKind
    workspace_id: int
    person_id: int | None
    key: str  # the person's local date, a loop, a shipment, a check-in's ask, a month …
    due_at: datetime
    loop_id: int | None = None
    shipment_id: int | None = None
    checkin_id: int | None = None
    channel: str | None = None
    # Why it is owed as missed already (a prompt the clock reached past its catch-up window).
    missed: str | None = None

    def row(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "workspace_id": self.workspace_id,
            "person_id": self.person_id,
            "key": self.key,
            "due_at": self.due_at,
            "ready_at": self.due_at,
            "loop_id": self.loop_id,
            "shipment_id": self.shipment_id,
            "checkin_id": self.checkin_id,
            "channel": self.channel,
            "state": DeliveryState.MISSED if self.missed else DeliveryState.PENDING,
            "last_error": self.missed,
            "attempts": 0,
            "maybe_posted": False,
            "created_at": utcnow(),
        }


def owe(session: Session, owed: Owed) -> int | None:
    """Owe one message: its id when this call owed it, None when it was owed already."""
    created = owe_all(session, [owed])
    return created[0][0] if created else None


def owe_all(session: Session, owed: Sequence[Owed]) -> list[tuple[int, str, str]]:
    """Owe each message once; (id, kind, state) of those this call owed.

    INSERT … ON CONFLICT DO NOTHING on the unique key: two processes planning the same
    message at once owe it once, and neither fails.
    """
    created: list[tuple[int, str, str]] = []
    to_people = [o.row() for o in owed if o.person_id is not None]
    to_teams = [o.row() for o in owed if o.person_id is None]
    insert = conflict_insert(session, Delivery)
    for rows, statement in (
        (to_people, insert.on_conflict_do_nothing(index_elements=["kind", "person_id", "key"])),
        (
            to_teams,
            insert.on_conflict_do_nothing(
                index_elements=["kind", "workspace_id", "key"], index_where=Delivery.person_id.is_(None)
            ),
        ),
    ):
        if rows:
            # Many parameter sets: SQLAlchemy's "insertmanyvalues" batches the rows.
            returned = session.execute(statement.returning(Delivery.id, Delivery.kind, Delivery.state), rows)
            created += [(int(id_), str(kind), str(state)) for id_, kind, state in returned]
    return created


def claim_deliveries(
    session: Session, now: datetime, *, owner: str, lease: timedelta, limit: int, only: int | None = None
) -> list[tuple[int, bool]]:
    """Take up to `limit` deliveries that are ready (or whose lease ran out) for this owner.

    Returns (id, maybe_posted) pairs; `maybe_posted` says an earlier attempt may have
    reached Slack. PostgreSQL skips rows another claimer holds (FOR UPDATE SKIP LOCKED);
    on SQLite the caller's `Database.transaction()` holds the write lock from its first
    read, so claimers take turns.
    """
    ready = or_(
        and_(Delivery.state == DeliveryState.PENDING, Delivery.ready_at <= now),
        and_(Delivery.state == DeliveryState.CLAIMED, Delivery.lease_until < now),
    )
    query = select(Delivery.id, Delivery.maybe_posted).where(ready)
    if only is not None:
        query = query.where(Delivery.id == only)
    rows = session.execute(
        query.order_by(Delivery.ready_at, Delivery.id).limit(limit).with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return []
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_([row.id for row in rows]))
        .values(
            state=DeliveryState.CLAIMED,
            lease_owner=owner,
            lease_until=now + lease,
            # The start of the earliest attempt that may have posted and was not looked for
            # since: a claim with nothing unknown before it starts that anew.
            first_attempt_at=case(
                (Delivery.maybe_posted, func.coalesce(Delivery.first_attempt_at, utcnow())), else_=utcnow()
            ),
            # Stays true until an attempt ends knowing what Slack did, so a claim whose lease
            # ran out (its process stopped mid-send) is looked up in Slack before re-sending.
            maybe_posted=True,
        )
    )
    return [(row.id, bool(row.maybe_posted)) for row in rows]


def owed(session: Session, person_id: int, kind: DeliveryKind, key: object) -> Delivery | None:
    """The person's delivery of this kind under this key (a local date, a loop, a shipment, an ask)."""
    return session.scalars(
        select(Delivery).where(
            Delivery.person_id == person_id, Delivery.kind == kind, Delivery.key == str(key)
        )
    ).first()


def prompt_of(session: Session, person: Person, key: str) -> Delivery | None:
    """The person's morning prompt for one local date."""
    return owed(session, person.id, DeliveryKind.PROMPT, key)


def prompt_in_thread(session: Session, person: Person, channel: str, ts: str) -> Delivery | None:
    """The person's prompt whose message is `ts` in `channel` (a reply's thread root)."""
    return session.scalars(
        select(Delivery).where(
            Delivery.person_id == person.id,
            Delivery.kind == DeliveryKind.PROMPT,
            Delivery.channel == channel,
            Delivery.slack_ts == ts,
        )
    ).first()


def skip_pending_prompts(
    session: Session,
    person: Person,
    *,
    before: str | None,
    reason: str,
    kinds: tuple[DeliveryKind, ...] = (DeliveryKind.PROMPT, DeliveryKind.NUDGE),
) -> int:
    """Withdraw prompts and nudges (or only `kinds`) not yet sent: all, or for local dates before `before`."""
    query = update(Delivery).where(
        Delivery.person_id == person.id,
        Delivery.kind.in_(kinds),
        Delivery.state == DeliveryState.PENDING,
    )
    if before is not None:
        query = query.where(Delivery.key < before)
    result = session.execute(query.values(state=DeliveryState.SKIPPED, last_error=reason))
    return int(getattr(result, "rowcount", 0) or 0)


def revive_withdrawn_prompts(session: Session, person: Person, *, reasons: list[str], since: datetime) -> int:
    """Put back prompts and nudges withdrawn for `reasons` that are due at or after `since`.

    A pause (or stop) and a resume the same morning must not cost the day's prompt: the
    delivery's key is taken, so planning alone would never owe it again.
    """
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.person_id == person.id,
            Delivery.kind.in_([DeliveryKind.PROMPT, DeliveryKind.NUDGE]),
            Delivery.state == DeliveryState.SKIPPED,
            Delivery.last_error.in_(reasons),
            Delivery.due_at >= since,
        )
        .values(state=DeliveryState.PENDING, last_error=None, ready_at=Delivery.due_at)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def recheck_checkins(session: Session, person: Person, now: datetime) -> int:
    """Look again now at the person's check-ins not yet sent: their zone or pause changed.

    A check-in's moment is worked out from the person's schedule when it is sent (see
    outbox.render), so pulling it forward to now is enough; it waits again if not due.
    """
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.person_id == person.id,
            Delivery.kind.in_([DeliveryKind.CHECKIN, DeliveryKind.UNWATCHED]),
            Delivery.state == DeliveryState.PENDING,
            Delivery.ready_at > now,
        )
        .values(ready_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def owed_to_team(session: Session, workspace_id: int, kind: DeliveryKind, key: str) -> Delivery | None:
    """The workspace's delivery of this kind under this key (the digest's part, the day's thread)."""
    return session.scalars(
        select(Delivery).where(
            Delivery.workspace_id == workspace_id,
            Delivery.person_id.is_(None),
            Delivery.kind == kind,
            Delivery.key == key,
        )
    ).first()


def owe_daily_thread(session: Session, workspace: Workspace, channel: str, on: date, moment: datetime) -> int:
    """Owe the day's thread (at the team's morning, or at once for a share that comes first);
    1 when this call owed it."""
    owed = Owed(DeliveryKind.DAILY_THREAD, workspace.id, None, on.isoformat(), moment, channel=channel)
    return len(owe_all(session, [owed]))


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
    owe_daily_thread(session, workspace, channel, on, thread_at)
    return owe(
        session,
        Owed(
            DeliveryKind.DAILY_SHARE,
            workspace.id,
            person.id,
            share_key(on, loop.id),
            now,
            loop_id=loop.id,
            channel=channel,
        ),
    )
