"""The named queries the rest of the bot uses; each is scoped to a workspace or person."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, Table, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from slackbot.core.deliveries import DeliveryKind, DeliveryState
from slackbot.core.loops import SHIPPABLE, STILL_OPEN
from slackbot.core.parse import search_terms
from slackbot.core.shipments import ShipmentState
from slackbot.store.models import (
    Base,
    CheckIn,
    Delivery,
    Entry,
    Loop,
    Person,
    Reflection,
    SearchTerm,
    SeenEvent,
    Shipment,
    Workspace,
    utcnow,
)
from slackbot.store.upsert import conflict_insert


def _insert_ignoring_conflict(
    session: Session, model: type[Base], values: dict[str, Any], conflict_columns: list[str]
) -> Any:
    """INSERT … ON CONFLICT DO NOTHING; the new row's primary key, or None when it existed.

    Two requests racing to create the same row both succeed, and exactly one of them
    learns it was first: no exception handling, no savepoints.
    """
    table = model.__table__
    assert isinstance(table, Table)
    statement = (
        conflict_insert(session, table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=conflict_columns)
        .returning(*table.primary_key.columns)
    )
    row = session.execute(statement).first()
    return None if row is None else row[0]


def lock(session: Session, row: Base) -> None:
    """Read `row` again, for writing: a check-then-set decides on what is stored now.

    A request's session reads from the snapshot of its first read (two clicks of one
    button would both see "not answered yet"). PostgreSQL locks the row (FOR UPDATE) until
    the commit; SQLite takes its write lock before reading.
    """
    session.refresh(row, with_for_update=True)


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
    row = session.execute(
        select(Workspace, Person)
        .outerjoin(Person, and_(Person.workspace_id == Workspace.id, Person.slack_user_id == slack_user_id))
        .where(Workspace.team_id == team_id)
    ).first()
    return (None, None) if row is None else (row[0], row[1])


def ensure_workspace(session: Session, team_id: str) -> Workspace:
    """The workspace row for a Slack team, created on first sight."""
    found = find_workspace(session, team_id)
    if found is not None:
        return found
    _insert_ignoring_conflict(session, Workspace, {"team_id": team_id, "created_at": utcnow()}, ["team_id"])
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


def remember_event(session: Session, event_id: str, team_id: str | None) -> bool:
    """Record an Events API delivery; False when this event_id was handled before.

    The row is part of the caller's transaction: if handling fails and rolls back,
    Slack's next retry is handled rather than dropped.
    """
    inserted = _insert_ignoring_conflict(
        session,
        SeenEvent,
        {"event_id": event_id, "team_id": team_id, "received_at": utcnow()},
        ["event_id"],
    )
    return inserted is not None


def forget_events_before(session: Session, cutoff: datetime) -> int:
    """Drop dedupe records older than any retry Slack would still send."""
    result = session.execute(delete(SeenEvent).where(SeenEvent.received_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


# -- people and their schedule ------------------------------------------------------------


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


# -- deliveries ---------------------------------------------------------------------------


def add_delivery(session: Session, **values: Any) -> int | None:
    """Owe a message once: its id when this call created it, None when it was owed already."""
    values.setdefault("ready_at", values["due_at"])
    values.setdefault("created_at", utcnow())
    values.setdefault("state", DeliveryState.PENDING)
    values.setdefault("attempts", 0)
    values.setdefault("maybe_posted", False)
    delivery_id = _insert_ignoring_conflict(session, Delivery, values, ["kind", "person_id", "key"])
    return None if delivery_id is None else int(delivery_id)


def add_deliveries(session: Session, rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """`add_delivery` for many at once; returns (kind, state) of the ones this call created."""
    if not rows:
        return []
    for values in rows:
        values.setdefault("ready_at", values["due_at"])
        values.setdefault("created_at", utcnow())
        values.setdefault("state", DeliveryState.PENDING)
        values.setdefault("attempts", 0)
        values.setdefault("maybe_posted", False)
        values.setdefault("last_error", None)
    statement = (
        conflict_insert(session, Delivery)
        .on_conflict_do_nothing(index_elements=["kind", "person_id", "key"])
        .returning(Delivery.kind, Delivery.state)
    )
    # Executed with many parameter sets: SQLAlchemy's "insertmanyvalues" batches the rows.
    return [(str(kind), str(state)) for kind, state in session.execute(statement, rows)]


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
            first_attempt_at=func.coalesce(Delivery.first_attempt_at, utcnow()),
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


# -- loops --------------------------------------------------------------------------------


def open_loops(session: Session, person: Person, limit: int) -> list[Loop]:
    """The person's loops still waiting on them, newest first."""
    return open_loops_of(session, [person], limit).get(person.id, [])


def open_loops_of(session: Session, people: list[Person], limit: int) -> dict[int, list[Loop]]:
    """`open_loops` for many people in one query: person id → their newest open loops.

    Ranked in the database, so someone with hundreds of open loops costs `limit` rows.
    """
    found: dict[int, list[Loop]] = {}
    if not people:
        return found
    ranked = (
        select(
            Loop.id.label("loop_id"),
            func.row_number()
            .over(partition_by=Loop.person_id, order_by=(Loop.opened_at.desc(), Loop.id.desc()))
            .label("rank"),
        )
        .where(Loop.person_id.in_({p.id for p in people}), Loop.state.in_(STILL_OPEN))
        .subquery()
    )
    query = (
        select(Loop)
        .join(ranked, ranked.c.loop_id == Loop.id)
        .where(ranked.c.rank <= limit)
        .order_by(Loop.person_id, Loop.opened_at.desc(), Loop.id.desc())
    )
    for loop in session.scalars(query):
        found.setdefault(loop.person_id, []).append(loop)
    return found


def loop_of(session: Session, person: Person, loop_id: int) -> Loop | None:
    """One of the person's own loops; another person's loop id finds nothing."""
    return session.scalars(select(Loop).where(Loop.id == loop_id, Loop.person_id == person.id)).first()


def loop_in_thread(session: Session, person: Person, channel: str, thread_ts: str) -> Loop | None:
    return session.scalars(
        select(Loop).where(
            Loop.person_id == person.id,
            Loop.workspace_id == person.workspace_id,
            Loop.channel == channel,
            Loop.thread_ts == thread_ts,
        )
    ).first()


def loop_from_source(session: Session, person: Person, source: str) -> Loop | None:
    return session.scalars(select(Loop).where(Loop.person_id == person.id, Loop.source == source)).first()


def latest_loop_from_prompt(session: Session, person: Person, prompt: Delivery) -> Loop | None:
    return session.scalars(
        select(Loop)
        .where(Loop.person_id == person.id, Loop.prompt_id == prompt.id)
        .order_by(Loop.id.desc())
        .limit(1)
    ).first()


def next_loop_number(session: Session, person: Person) -> int:
    """The owner's next "Loop #N"; the unique (person, number) constraint settles races."""
    highest = session.scalar(select(func.max(Loop.number)).where(Loop.person_id == person.id))
    return int(highest or 0) + 1


def add_entry(session: Session, **values: Any) -> bool:
    """Store one line of a loop's story once per Slack message (True when new), and its words."""
    values.setdefault("created_at", utcnow())
    added = _insert_ignoring_conflict(session, Entry, values, ["loop_id", "slack_ts"]) is not None
    if added:
        index_terms(session, values["person_id"], values["loop_id"], values.get("text"))
    return added


def index_terms(session: Session, person_id: int, loop_id: int, *texts: str | None) -> None:
    """Keep the words of `texts` findable by `/loops search` for this loop (once each)."""
    terms = set().union(*(search_terms(text) for text in texts))
    if not terms:
        return
    rows = [{"person_id": person_id, "term": term, "loop_id": loop_id} for term in sorted(terms)]
    session.execute(conflict_insert(session, SearchTerm).on_conflict_do_nothing(), rows)


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


# -- shipments and check-ins --------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    """A check-in that was asked and not answered yet, with its shipment and loop."""

    checkin: CheckIn
    shipment: Shipment
    loop: Loop


@dataclass
class Agenda:
    """What a person's morning prompt and Home tab list: check-ins waiting, open loops, unwatched ships."""

    loops: list[Loop] = field(default_factory=list)
    waiting: list[Waiting] = field(default_factory=list)
    unwatched: int = 0


# A check-in ask waiting on its person: asked, not answered, the shipment's current ask, its loop open.
_WAITING = (
    CheckIn.answered_at.is_(None),
    CheckIn.asked_at.is_not(None),
    CheckIn.ask == Shipment.asks,
    Shipment.state == ShipmentState.WAITING,
    Loop.state.in_(SHIPPABLE),
)


def waiting_on(session: Session, person: Person, limit: int) -> list[Waiting]:
    """One person's check-ins waiting on them, oldest ask first: a range of ix_checkin_person_waiting
    (agendas_of ranks every open ask of many people, which a single person does not need)."""
    rows = session.execute(
        select(CheckIn, Shipment, Loop)
        .join(Shipment, Shipment.id == CheckIn.shipment_id)
        .join(Loop, Loop.id == Shipment.loop_id)
        .where(CheckIn.person_id == person.id, Shipment.person_id == person.id, *_WAITING)
        .order_by(CheckIn.asked_at, CheckIn.id)
        .limit(limit)
    )
    return [Waiting(checkin, shipment, loop) for checkin, shipment, loop in rows]


def agenda_of(session: Session, person: Person, limit: int) -> Agenda:
    return agendas_of(session, [person], limit).get(person.id) or Agenda()


def agendas_of(session: Session, people: list[Person], limit: int) -> dict[int, Agenda]:
    """`agenda_of` for many people in three queries (a tick renders hundreds of prompts at once)."""
    agendas: dict[int, Agenda] = {p.id: Agenda() for p in people}
    if not people:
        return agendas
    ids = set(agendas)
    for person_id, loops in open_loops_of(session, people, limit).items():
        agendas[person_id].loops = loops
    # The oldest asks first, `limit` a person, ranked in the database.
    ranked = (
        select(
            CheckIn.id.label("checkin_id"),
            func.row_number()
            .over(partition_by=CheckIn.person_id, order_by=(CheckIn.asked_at, CheckIn.id))
            .label("rank"),
        )
        .join(Shipment, Shipment.id == CheckIn.shipment_id)
        .join(Loop, Loop.id == Shipment.loop_id)
        .where(CheckIn.person_id.in_(ids), Shipment.person_id.in_(ids), *_WAITING)
        .subquery()
    )
    waiting = session.execute(
        select(CheckIn, Shipment, Loop)
        .join(ranked, ranked.c.checkin_id == CheckIn.id)
        .join(Shipment, Shipment.id == CheckIn.shipment_id)
        .join(Loop, Loop.id == Shipment.loop_id)
        .where(ranked.c.rank <= limit)
        .order_by(CheckIn.person_id, CheckIn.asked_at, CheckIn.id)
    )
    for checkin, shipment, loop in waiting:
        agendas[checkin.person_id].waiting.append(Waiting(checkin, shipment, loop))
    unwatched = session.execute(
        select(Shipment.person_id, func.count())
        .where(Shipment.person_id.in_(ids), Shipment.state == ShipmentState.UNWATCHED)
        .group_by(Shipment.person_id)
    )
    for person_id, count in unwatched:
        agendas[person_id].unwatched = int(count)
    return agendas


def shippable_loops(session: Session, person: Person, limit: int) -> list[Loop]:
    """The loops a shipment can answer (not closed, not dropped), newest first."""
    return list(
        session.scalars(
            select(Loop)
            .where(Loop.person_id == person.id, Loop.state.in_(SHIPPABLE))
            .order_by(Loop.opened_at.desc(), Loop.id.desc())
            .limit(limit)
        )
    )


def loop_numbered(session: Session, person: Person, number: int) -> Loop | None:
    """The person's own "Loop #N"; another person's number finds nothing."""
    return session.scalars(select(Loop).where(Loop.person_id == person.id, Loop.number == number)).first()


def shipment_of(session: Session, person: Person, shipment_id: int) -> Shipment | None:
    return session.scalars(
        select(Shipment).where(Shipment.id == shipment_id, Shipment.person_id == person.id)
    ).first()


def shipment_from_source(session: Session, person: Person, source: str) -> Shipment | None:
    return session.scalars(
        select(Shipment).where(Shipment.person_id == person.id, Shipment.source == source)
    ).first()


def checkin_of(session: Session, person: Person, checkin_id: int) -> Waiting | None:
    """One of the person's own check-ins, answered or not; another person's id finds nothing."""
    row = session.execute(
        select(CheckIn, Shipment, Loop)
        .join(Shipment, Shipment.id == CheckIn.shipment_id)
        .join(Loop, Loop.id == Shipment.loop_id)
        .where(CheckIn.id == checkin_id, CheckIn.person_id == person.id, Shipment.person_id == person.id)
    ).first()
    return None if row is None else Waiting(row[0], row[1], row[2])


def checkin_ask(session: Session, shipment: Shipment, ask: int) -> CheckIn | None:
    """One ask of a shipment's check-in (1: the first; `shipment.asks`: the current one)."""
    return session.scalars(
        select(CheckIn).where(CheckIn.shipment_id == shipment.id, CheckIn.ask == ask)
    ).first()


def not_asked_yet(session: Session, shipment: Shipment) -> bool:
    """True while the shipment's first check-in has not reached the person: its day may change."""
    first = checkin_ask(session, shipment, 1)
    return shipment.asks == 1 and first is not None and first.asked_at is None


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


def shipped_before(session: Session, loop: Loop) -> bool:
    """Whether the loop has a shipment already (a draft is none yet)."""
    found = session.scalar(
        select(Shipment.id).where(Shipment.loop_id == loop.id, Shipment.state != ShipmentState.DRAFT).limit(1)
    )
    return found is not None


@dataclass
class Everything:
    """All of one person's loops and what hangs off them, grouped for export."""

    loops: list[Loop]
    entries: dict[int, list[Entry]]  # by loop id, oldest first
    shipments: dict[int, list[Shipment]]  # by loop id, in ship order
    checkins: dict[int, list[CheckIn]]  # by shipment id, in ask order
    reflections: list[Reflection] = field(default_factory=list)  # oldest month first


def everything_of(session: Session, person: Person) -> Everything:
    """The person's whole history in five queries, and nothing of anyone else's."""
    found = Everything(
        loops=list(session.scalars(select(Loop).where(Loop.person_id == person.id).order_by(Loop.number))),
        entries={},
        shipments={},
        checkins={},
    )
    for entry in session.scalars(
        select(Entry).where(Entry.person_id == person.id).order_by(Entry.created_at, Entry.id)
    ):
        found.entries.setdefault(entry.loop_id, []).append(entry)
    for shipment in session.scalars(
        select(Shipment)
        .where(Shipment.person_id == person.id, Shipment.state != ShipmentState.DRAFT)
        .order_by(Shipment.shipped_at, Shipment.id)
    ):
        if shipment.loop_id is not None:
            found.shipments.setdefault(shipment.loop_id, []).append(shipment)
    for checkin in session.scalars(
        select(CheckIn).where(CheckIn.person_id == person.id).order_by(CheckIn.shipment_id, CheckIn.ask)
    ):
        found.checkins.setdefault(checkin.shipment_id, []).append(checkin)
    found.reflections = list(
        session.scalars(
            select(Reflection)
            .where(Reflection.person_id == person.id)
            .order_by(Reflection.month, Reflection.created_at, Reflection.id)
        )
    )
    return found


def reflection_from_source(session: Session, person: Person, source: str) -> bool:
    """Whether this submission's reflection is stored already (Slack may send a view twice)."""
    found = session.scalar(
        select(Reflection.id).where(Reflection.person_id == person.id, Reflection.source == source)
    )
    return found is not None


def reflection_of(session: Session, person: Person, month: str) -> Reflection | None:
    """The person's newest reflection on `month` (`2026-11`)."""
    return session.scalar(
        select(Reflection)
        .where(Reflection.person_id == person.id, Reflection.month == month)
        .order_by(Reflection.created_at.desc(), Reflection.id.desc())
        .limit(1)
    )
