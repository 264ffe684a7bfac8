"""A person's loops and the entries of their stories, each scoped to its owner."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from slackbot.core.loops import SHIPPABLE, STILL_OPEN
from slackbot.core.parse import search_terms
from slackbot.store.models import Delivery, Entry, Loop, Person, SearchTerm
from slackbot.store.rows import conflict_insert, insert_ignoring_conflict


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


def add_entry(
    session: Session, loop: Loop, kind: str, text: str, *, slack_ts: str | None, at: datetime
) -> bool:
    """Add one line to a loop's story, once per Slack message or action (`slack_ts`), and keep its
    words findable; True when it is new."""
    values = {
        "loop_id": loop.id,
        "person_id": loop.person_id,
        "kind": kind,
        "text": text,
        "slack_ts": slack_ts,
        "created_at": at,
    }
    added = insert_ignoring_conflict(session, Entry, values, ["loop_id", "slack_ts"]) is not None
    if added:
        index_terms(session, loop.person_id, loop.id, text)
    return added


def index_terms(session: Session, person_id: int, loop_id: int, *texts: str | None) -> None:
    """Keep the words of `texts` findable by `/loops search` for this loop (once each)."""
    terms = set().union(*(search_terms(text) for text in texts))
    if not terms:
        return
    rows = [{"person_id": person_id, "term": term, "loop_id": loop_id} for term in sorted(terms)]
    session.execute(conflict_insert(session, SearchTerm).on_conflict_do_nothing(), rows)


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
