"""What `/loops` and the Home tab read: one person's history, in pages, never a whole scan.

Every read here is the person's own (`person_id`, and so their workspace) and bounded:
a page of loops by number (keyset: `before`), the ships of a window of time, the prompts
of four weeks. The indexes from migration 0007 keep each to the person's own rows.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Generic, TypeVar

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from slackbot.core.deliveries import DeliveryKind
from slackbot.core.figures import WINDOW, Figures, Ship, figures
from slackbot.core.loops import SHIPPABLE, LoopState
from slackbot.core.shipments import ShipmentState
from slackbot.store.models import (
    CheckIn,
    Delivery,
    Entry,
    Loop,
    Person,
    PersonFigures,
    Reflection,
    SearchTerm,
    Shipment,
)
from slackbot.store.queries import Waiting, shippable_loops, waiting_on
from slackbot.store.upsert import conflict_insert

T = TypeVar("T")


@dataclass(frozen=True)
class OpenLoop:
    """A loop with where its latest shipment's check-in stands (if shipped)."""

    loop: Loop
    shipment: Shipment | None = None
    checkin: CheckIn | None = None  # the shipment's current ask


@dataclass(frozen=True)
class ClosedLoop:
    loop: Loop
    shipment: Shipment | None
    checkin: CheckIn | None  # the answer that closed it


@dataclass
class Summary:
    open: list[OpenLoop] = field(default_factory=list)
    open_count: int = 0
    closed: list[ClosedLoop] = field(default_factory=list)
    recent: Figures = field(default_factory=lambda: figures([]))  # the last 90 days
    previous: Figures = field(default_factory=lambda: figures([]))  # the 90 before
    unwatched: int = 0


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; `before` is the loop number (or shipment id) the next page starts below."""

    items: list[T]
    before: int | None  # None: this is the last page
    total: int | None = None  # None where counting would cost a second scan (search)


# Sorts before any answer (a closing answer always has its time; this only keeps sorting total).
NEVER = datetime.min.replace(tzinfo=UTC)

# Closed loops in `/loops closed`: those whose owner is done with them.
FINISHED = (LoopState.CLOSED, LoopState.DROPPED)


def count_loops(session: Session, person: Person, states: frozenset[str] | tuple[str, ...]) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(Loop).where(Loop.person_id == person.id, Loop.state.in_(states))
        )
        or 0
    )


def _loop_page(
    session: Session, person: Person, where: list[ColumnElement[bool]], before: int | None, size: int
) -> tuple[list[Loop], int | None]:
    """The person's loops matching `where`, newest number first, from below `before`."""
    query = select(Loop).where(Loop.person_id == person.id, *where)
    if before is not None:
        query = query.where(Loop.number < before)
    found = list(session.scalars(query.order_by(Loop.number.desc()).limit(size + 1)))
    more = len(found) > size
    found = found[:size]
    return found, (found[-1].number if more and found else None)


def with_shipments(session: Session, person: Person, loops: list[Loop]) -> list[OpenLoop]:
    latest = _latest_shipments(session, person, [loop.id for loop in loops])
    return [OpenLoop(loop, *latest.get(loop.id, (None, None))) for loop in loops]


def open_page(session: Session, person: Person, *, before: int | None, size: int) -> Page[OpenLoop]:
    """`/loops open`: loops not closed or dropped, newest first."""
    loops, after = _loop_page(session, person, [Loop.state.in_(SHIPPABLE)], before, size)
    return Page(with_shipments(session, person, loops), after, count_loops(session, person, SHIPPABLE))


def closed_page(session: Session, person: Person, *, before: int | None, size: int) -> Page[ClosedLoop]:
    """`/loops closed`: closed and dropped loops, newest first, each with the answer that closed it."""
    loops, after = _loop_page(session, person, [Loop.state.in_(FINISHED)], before, size)
    return Page(_closing(session, person, loops), after, count_loops(session, person, FINISHED))


def _closing(session: Session, person: Person, loops: list[Loop]) -> list[ClosedLoop]:
    rows = session.execute(
        select(CheckIn, Shipment)
        .join(Shipment, Shipment.id == CheckIn.shipment_id)
        .where(
            Shipment.person_id == person.id,
            Shipment.loop_id.in_([loop.id for loop in loops]),
            CheckIn.closes_loop.is_(True),
        )
    )
    # The last answer that closed each loop wins (ordered here, as in _latest_shipments).
    settled = {
        shipment.loop_id: (shipment, checkin)
        for checkin, shipment in sorted(rows, key=lambda row: (row[0].answered_at or NEVER, row[0].id))
    }
    return [ClosedLoop(loop, *settled.get(loop.id, (None, None))) for loop in loops]


# After every term that starts with a given prefix, in byte (code point) order.
PAST_ANY_LETTER = "\U0010ffff"


def search_page(
    session: Session, person: Person, words: list[str], *, before: int | None, size: int
) -> Page[OpenLoop]:
    """`/loops search`: the person's loops whose text or story has a word starting with each term."""
    where: list[ColumnElement[bool]] = []
    for term in words:
        # The start of a word: one range of the person's (person_id, term) index.
        having = select(SearchTerm.loop_id).where(
            SearchTerm.person_id == person.id,
            SearchTerm.term >= term,
            SearchTerm.term < term + PAST_ANY_LETTER,
        )
        where.append(Loop.id.in_(having))
    loops, after = _loop_page(session, person, where, before, size)
    return Page(with_shipments(session, person, loops), after)


@dataclass(frozen=True)
class MonthShip:
    """A shipment of the month, its loop, and the answer that settled it (or its current ask)."""

    shipment: Shipment
    loop: Loop | None
    checkin: CheckIn | None


@dataclass
class Month:
    ships: Page[MonthShip]
    opened: int = 0
    closed: int = 0
    reflections: list[Reflection] = field(default_factory=list)


def ships_between(
    session: Session, person: Person, start: datetime, end: datetime, *, before: int | None, size: int
) -> Page[MonthShip]:
    """Shipments made in [start, end), newest first; unanswered ones carry their current ask."""
    window = and_(
        Shipment.person_id == person.id,
        Shipment.shipped_at >= start,
        Shipment.shipped_at < end,
        Shipment.state != ShipmentState.DRAFT,
    )
    query = select(Shipment).where(window)
    if before is not None:
        query = query.where(Shipment.id < before)
    found = list(session.scalars(query.order_by(Shipment.id.desc()).limit(size + 1)))
    more = len(found) > size
    found = found[:size]
    total = int(session.scalar(select(func.count()).select_from(Shipment).where(window)) or 0)
    loops = {
        loop.id: loop
        for loop in session.scalars(
            select(Loop).where(
                Loop.person_id == person.id, Loop.id.in_({s.loop_id for s in found if s.loop_id})
            )
        )
    }
    # Each shipment's newest answered ask, else its current one.
    asks: dict[int, CheckIn] = {}
    for checkin in session.scalars(
        select(CheckIn)
        .where(CheckIn.person_id == person.id, CheckIn.shipment_id.in_([s.id for s in found]))
        .order_by(CheckIn.ask)
    ):
        kept = asks.get(checkin.shipment_id)
        if kept is None or kept.answered_at is None or checkin.answered_at is not None:
            asks[checkin.shipment_id] = checkin
    items = [MonthShip(s, loops.get(s.loop_id or 0), asks.get(s.id)) for s in found]
    return Page(items, found[-1].id if more and found else None, total)


def month_of(
    session: Session,
    person: Person,
    key: str,
    start: datetime,
    end: datetime,
    *,
    before: int | None,
    size: int,
) -> Month:
    """`/loops month 2026-11`: what shipped in [start, end), what changed, and the reflection on it."""
    month = Month(ships_between(session, person, start, end, before=before, size=size))
    mine = Loop.person_id == person.id
    month.opened = int(
        session.scalar(
            select(func.count()).select_from(Loop).where(mine, Loop.opened_at >= start, Loop.opened_at < end)
        )
        or 0
    )
    month.closed = int(
        session.scalar(
            select(func.count())
            .select_from(Loop)
            .where(mine, Loop.state == LoopState.CLOSED, Loop.closed_at >= start, Loop.closed_at < end)
        )
        or 0
    )
    month.reflections = list(
        session.scalars(
            select(Reflection)
            .where(Reflection.person_id == person.id, Reflection.month == key)
            .order_by(Reflection.created_at)
        )
    )
    return month


def prompt_days(session: Session, person: Person, first: date, last: date) -> dict[date, Delivery]:
    """The person's morning prompts for local days first..last (their key is the local date)."""
    rows = session.scalars(
        select(Delivery).where(
            Delivery.person_id == person.id,
            Delivery.kind == DeliveryKind.PROMPT,
            Delivery.key >= first.isoformat(),
            Delivery.key <= last.isoformat(),
        )
    )
    found: dict[date, Delivery] = {}
    for prompt in rows:
        try:
            found[date.fromisoformat(prompt.key)] = prompt
        except ValueError:
            continue
    return found


def summary_of(session: Session, person: Person, now: datetime, *, shown: int, closed: int) -> Summary:
    """What `/loops` shows: open loops (newest first), recently closed ones, and the ships of two windows.

    Every query is the person's own and bounded: `shown` open loops, `closed` closed ones, and
    shipments of the last 180 days (this window's figures and the one before, for the trend).
    """
    summary = Summary()
    standing = standing_of(session, person, now)
    summary.open_count, summary.unwatched = standing.open_count, standing.unwatched
    summary.recent, summary.previous = standing.recent, standing.previous
    summary.open = with_shipments(session, person, shippable_loops(session, person, shown))
    closed_loops = list(
        session.scalars(
            select(Loop)
            .where(Loop.person_id == person.id, Loop.state == LoopState.CLOSED)
            .order_by(Loop.closed_at.desc(), Loop.id.desc())
            .limit(closed)
        )
    )
    summary.closed = _closing(session, person, closed_loops)
    return summary


@dataclass(frozen=True)
class Standing:
    """Where a person stands: open loops, unwatched ships, and the two windows' figures."""

    open_count: int
    unwatched: int
    recent: Figures
    previous: Figures


def standing_of(session: Session, person: Person, now: datetime) -> Standing:
    """The counts and today's figures as the clock stored them, in one round trip (every
    `/loops` and Home tab asks for all three); figures not stored for today are worked out now.

    A change to the person's shipments moves their figures_version on (store/changes.py), so the
    figures read here are never older than the last ship or answer.
    """
    open_count = (
        select(func.count())
        .select_from(Loop)
        .where(Loop.person_id == person.id, Loop.state.in_(SHIPPABLE))
        .scalar_subquery()
    )
    unwatched = (
        select(func.count())
        .select_from(Shipment)
        .where(Shipment.person_id == person.id, Shipment.state == ShipmentState.UNWATCHED)
        .scalar_subquery()
    )
    row = session.execute(
        select(open_count, unwatched, PersonFigures)
        .select_from(Person)
        .outerjoin(PersonFigures, PersonFigures.person_id == Person.id)
        .where(Person.id == person.id)
    ).one()
    stored: PersonFigures | None = row[2]
    if stored is not None and _current(stored, person, now):
        recent, previous = Figures(**json.loads(stored.recent)), Figures(**json.loads(stored.previous))
    else:
        recent, previous = work_out_windows(session, person, now)
    return Standing(int(row[0] or 0), int(row[1] or 0), recent, previous)


def _latest_shipments(
    session: Session, person: Person, loop_ids: list[int]
) -> dict[int, tuple[Shipment, CheckIn | None]]:
    """Each loop's newest shipment and its current check-in ask."""
    found: dict[int, tuple[Shipment, CheckIn | None]] = {}
    if not loop_ids:
        return found
    rows = session.execute(
        select(Shipment, CheckIn)
        .outerjoin(CheckIn, and_(CheckIn.shipment_id == Shipment.id, CheckIn.ask == Shipment.asks))
        .where(
            Shipment.person_id == person.id,
            Shipment.loop_id.in_(loop_ids),
            Shipment.state != ShipmentState.DRAFT,
        )
    )
    # Ordered here, not in SQL: an ORDER BY shipped_at sends SQLite down the person's whole
    # (person_id, shipped_at) index instead of (person_id, loop_id) to these few loops.
    for shipment, checkin in sorted(rows, key=lambda row: (row[0].shipped_at, row[0].id)):
        assert shipment.loop_id is not None
        found[shipment.loop_id] = (shipment, checkin)  # newest last, so it wins
    return found


def ships_in(session: Session, person: Person, since: datetime, until: datetime) -> list[Ship]:
    """The person's ships in (since, until]: a range of ix_shipment_person_shipped, and only the
    small columns the figures need (a busy person has hundreds of ships in a window)."""
    rows = session.execute(
        select(Shipment.problem_days, Shipment.outcome_days, Shipment.watched, Shipment.state).where(
            Shipment.person_id == person.id,
            Shipment.shipped_at > since,
            Shipment.shipped_at <= until,
            Shipment.state != ShipmentState.DRAFT,
        )
    )
    return [
        Ship(
            problem_days=problem,
            outcome_days=outcome if state == ShipmentState.ANSWERED else None,
            answered=bool(watched),
            unwatched=state == ShipmentState.UNWATCHED,
        )
        for problem, outcome, watched, state in rows
    ]


def work_out_windows(session: Session, person: Person, now: datetime) -> tuple[Figures, Figures]:
    """The figures of the last 90 days, and of the 90 before (the trend), from the ships."""
    current = figures(ships_in(session, person, now - WINDOW, now))
    previous = figures(ships_in(session, person, now - 2 * WINDOW, now - WINDOW))
    return current, previous


def _current(stored: PersonFigures, person: Person, now: datetime) -> bool:
    return stored.computed_on == now.astimezone(UTC).date() and stored.version == person.figures_version


def store_figures(session: Session, now: datetime, limit: int) -> int:
    """Work out and keep today's figures for up to `limit` people who ship and have none."""
    today = now.astimezone(UTC).date()
    fresh = (
        select(PersonFigures.person_id)
        .join(Person, Person.id == PersonFigures.person_id)
        .where(PersonFigures.computed_on == today, PersonFigures.version == Person.figures_version)
    )
    due = list(
        session.scalars(
            select(Person)
            .where(
                Person.id.in_(select(Shipment.person_id).where(Shipment.state != ShipmentState.DRAFT)),
                Person.id.not_in(fresh),
            )
            .order_by(Person.id)
            .limit(limit)
        )
    )
    for person in due:
        version = person.figures_version  # read before the ships
        current, previous = work_out_windows(session, person, now)
        kept = {
            "computed_on": today,
            "version": version,
            "recent": json.dumps(asdict(current)),
            "previous": json.dumps(asdict(previous)),
        }
        # Two clock processes may both find a person's figures missing (PostgreSQL lets both
        # read before either writes): the second waits for the first's row, then writes over it.
        session.execute(
            conflict_insert(session, PersonFigures)
            .values(person_id=person.id, **kept)
            .on_conflict_do_update(index_elements=[PersonFigures.person_id], set_=kept)
        )
    return len(due)


def story_of(session: Session, loop: Loop, limit: int) -> tuple[list[Entry], int]:
    """A loop's newest `limit` entries, oldest first, and how many there are in all."""
    total = int(session.scalar(select(func.count()).select_from(Entry).where(Entry.loop_id == loop.id)) or 0)
    newest = list(
        session.scalars(
            select(Entry)
            .where(Entry.loop_id == loop.id)
            .order_by(Entry.created_at.desc(), Entry.id.desc())
            .limit(limit)
        )
    )
    return newest[::-1], total


@dataclass
class Home:
    """What the Home tab shows, read in one go: bounded however long the history is."""

    waiting: list[Waiting]
    open: list[OpenLoop]
    open_count: int
    prompts: dict[date, Delivery]  # the last four weeks' morning prompts, by local date
    recent: Figures  # the last 90 days
    previous: Figures  # the 90 days before, for the trend
    unwatched: int


def home_of(
    session: Session, person: Person, now: datetime, *, first_day: date, today: date, shown: int
) -> Home:
    standing = standing_of(session, person, now)
    return Home(
        waiting=waiting_on(session, person, shown),
        open=with_shipments(session, person, shippable_loops(session, person, shown)),
        open_count=standing.open_count,
        prompts=prompt_days(session, person, first_day, today),
        recent=standing.recent,
        previous=standing.previous,
        unwatched=standing.unwatched,
    )
