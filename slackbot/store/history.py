"""What `/loops` and the Home tab read: one person's history, in pages, never a whole scan.

Every read here is the person's own (`person_id`, and so their workspace) and bounded:
a page of loops by number (keyset: `before`), the ships of a window of time, the prompts
of four weeks. The indexes from migration 0007 keep each to the person's own rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Generic, TypeVar

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from slackbot.core.deliveries import DeliveryKind
from slackbot.core.figures import Figures, figures
from slackbot.core.loops import SHIPPABLE, LoopState
from slackbot.core.shipments import ShipmentState
from slackbot.store.figures import standing_of
from slackbot.store.loops import shippable_loops
from slackbot.store.models import CheckIn, Delivery, Entry, Loop, Person, Reflection, SearchTerm, Shipment
from slackbot.store.shipments import Waiting, waiting_on

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
class MonthShipment:
    """A shipment of the month, its loop, and the answer that settled it (or its current ask)."""

    shipment: Shipment
    loop: Loop | None
    checkin: CheckIn | None


@dataclass
class Month:
    shipments: Page[MonthShipment]
    opened: int = 0
    closed: int = 0
    reflections: list[Reflection] = field(default_factory=list)


def shipments_between(
    session: Session, person: Person, start: datetime, end: datetime, *, before: int | None, size: int
) -> Page[MonthShipment]:
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
    items = [MonthShipment(s, loops.get(s.loop_id or 0), asks.get(s.id)) for s in found]
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
    month = Month(shipments_between(session, person, start, end, before=before, size=size))
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
