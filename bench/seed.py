"""A database with three years of history: 1,000 people and 500,000 entries, for the read benchmarks.

    python bench/seed.py --database-url sqlite:////tmp/loops-seed.db
    python bench/seed.py --postgres --keep       # a throwaway PostgreSQL, left running; prints its URL
    python bench/seed.py --database-url URL --people 50 --entries 20000

The database is migrated first (`python -m slackbot migrate`), then filled through the models
with the ORM's bulk INSERT, in batches. One workspace (team TBENCH); UHEAVY has 5,000 loops,
ULIGHT 10, everyone else (U0001…) 5 to 15. Loops open over the past three years; about 70 %
are closed, 10 % dropped, 10 % shipped and waiting (some unwatched) and 10 % open or continued.
Every shipped, continued or closed loop has one shipment and one check-in; everyone has a
morning prompt for each weekday of the last 30 days. About 2 % of loops mention "checkout".

Ids are given explicitly (so rows can point at each other without reading them back); on
PostgreSQL the id sequences are moved past them afterwards and the tables are ANALYZEd, as
autovacuum would soon do. SQLite is left unanalyzed, as the app leaves it.

Importable: `seed(database_url, people=…, entries=…, seed=…) -> SeedReport`; the database must
be migrated already.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from slackbot.clock.runner import FIGURES_BATCH  # noqa: E402
from slackbot.config import normalize_database_url  # noqa: E402
from slackbot.core.deliveries import DeliveryKind, DeliveryState  # noqa: E402
from slackbot.core.figures import days_between, problem_days  # noqa: E402
from slackbot.core.loops import LoopState, PromptAnswer  # noqa: E402
from slackbot.core.parse import search_terms  # noqa: E402
from slackbot.core.shipments import CheckinAnswer, ShipmentState  # noqa: E402
from slackbot.store.db import Database  # noqa: E402
from slackbot.store.figures import store_figures  # noqa: E402
from slackbot.store.models import (  # noqa: E402
    Base,
    CheckIn,
    Delivery,
    Entry,
    Loop,
    Person,
    SearchTerm,
    Shipment,
    Workspace,
)

# Slack ids are [A-Z0-9] only, and the app refuses a payload with any other (400): no underscores.
TEAM = "TBENCH"
HEAVY, LIGHT = "UHEAVY", "ULIGHT"
HEAVY_LOOPS, LIGHT_LOOPS = 5_000, 10
HEAVY_ENTRIES_PER_LOOP = 5
RARE_WORD = "checkout"
RARE_SHARE = 0.02
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo")
HISTORY = timedelta(days=3 * 365)
PROMPT_DAYS = 30
PROMPT_AT = clock_time(9, 30)  # LOOPS_PROMPT_TIME's default
BATCH = 5_000
# The order a batch of each table may be written in: every row's parents are in already.
PARENTS_FIRST: list[type[Base]] = [Person, Loop, Shipment, CheckIn, Entry, SearchTerm, Delivery]

# State of a loop, and how often: closed 70 %, dropped 10 %, shipped 10 %, open 5 %, continued 5 %.
STATES = (
    (LoopState.CLOSED, 70),
    (LoopState.DROPPED, 10),
    (LoopState.SHIPPED, 10),
    (LoopState.OPEN, 5),
    (LoopState.CONTINUED, 5),
)
UNWATCHED_SHARE = 0.3  # of shipped loops, whose check-in nobody answered
PROMPT_ANSWERS = ((PromptAnswer.LOOP, 15), (PromptAnswer.NOTHING, 45), (PromptAnswer.SKIP, 10), (None, 30))

# Words for loops and entries; RARE_WORD is in none of them (nor inside any).
THINGS = (
    "search results",
    "CSV export",
    "invoice PDF",
    "login page",
    "password reset email",
    "onboarding checklist",
    "dashboard chart",
    "calendar sync",
    "file upload",
    "billing page",
    "mobile app",
    "API webhook",
    "report builder",
    "dark mode",
    "team invite link",
    "notification digest",
    "audit log",
    "SSO redirect",
    "usage graph",
    "import wizard",
    "tax field",
    "refund flow",
    "pricing table",
    "settings page",
    "comment editor",
)
RARE_THINGS = ("checkout page", "checkout button", "guest checkout", "checkout total")
FAULTS = (
    "times out",
    "shows the wrong total",
    "is blank",
    "crashes on save",
    "loads very slowly",
    "sends twice",
    "drops the last row",
    "ignores the time zone",
    "rejects valid emails",
    "loses unsaved changes",
    "shows a 500 error",
    "double counts refunds",
    "cuts off long names",
    "spins forever",
    "logs people out",
)
WHEN = (
    "on Safari",
    "after the last release",
    "for accounts with SSO",
    "when the list is long",
    "on Monday mornings",
    "for new signups",
    "in Japanese",
    "on slow connections",
    "on Android",
    "for admins only",
    "with more than 500 rows",
    "since the migration",
    "in the EU region",
    "when two people edit at once",
    "behind the corporate proxy",
)
WHOM = (
    "the support team",
    "enterprise customers",
    "our on-call engineer",
    "Acme Corp",
    "new signups",
    "finance",
    "the sales team",
    "mobile users",
    "Globex",
    "trial accounts",
    "the ops team",
    "partners in Japan",
    "Initech",
    "everyone on the free plan",
    "the data team",
)
EVIDENCE = (
    "3 tickets this week",
    "Sentry shows about 120 errors a day",
    "Mia from support flagged it",
    "screenshot in #bugs",
    "came up on the churn call",
    "p95 went up to 4 seconds",
    "two angry tweets",
    "the weekly metrics dipped",
    "a customer sent a screen recording",
    "our own QA run caught it",
    "NPS comments mention it",
    "logs show timeouts since Tuesday",
)
NAMES = ("Mia", "Jonas", "Aiko", "Sam", "Priya", "Lukas", "Haruto", "Grace", "Omar", "Lena", "Diego", "Yuki")
REPLIES = (
    "Still seeing it {when}.",
    "Asked {name} to reproduce it.",
    "Happened again for {whom}.",
    "Looked at the logs: {evidence}.",
    "Workaround for now: ask them to refresh.",
    "{name} thinks it is the cache.",
    "Could not reproduce locally, trying staging.",
    "It only {fault} {when}.",
    "Paired with {name} on it, found the query.",
    "Moved it up: {evidence}.",
    "Talked to {whom}; they can live with it for a week.",
    "The fix is in review.",
)
FIXES = (
    "a retry with backoff",
    "an index on the slow query",
    "a fix for the time zone maths",
    "a cache bust on deploy",
    "a guard against the double submit",
    "the new pagination",
    "a longer timeout",
    "a rewrite of the totals",
    "validation that accepts plus signs",
    "a feature flag rollback",
)
EXPECT = (
    "fewer tickets about it",
    "no more errors in Sentry",
    "p95 back under a second",
    "{whom} stop asking",
    "the weekly metric recovers",
    "no complaints next week",
)
HAPPENED = (
    "tickets stopped",
    "errors went to zero",
    "{whom} said it works now",
    "p95 is back to 800 ms",
    "the metric recovered",
    "nobody mentioned it since",
)
NO_CHANGE = ("still the same for {whom}", "errors went down a little", "tickets keep coming")
NEXT_STEPS = ("try the second fix", "ask {name} for a trace", "look at the mobile side", "profile the query")


@dataclass
class SeedReport:
    team_id: str
    heavy: str  # the slack user id of the person with 5,000 loops
    light: str  # … and of the one with 10
    people: list[tuple[str, str, str]]  # (slack user id, dm channel, tz) of everyone seeded
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class _Ids:
    """The next free id of each table."""

    loop: int
    entry: int
    shipment: int
    checkin: int
    delivery: int


class _Writer:
    """Rows in batches of BATCH through the ORM's bulk INSERT, counted per table."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.pending: dict[type[Base], list[dict[str, Any]]] = {}
        self.counts: dict[str, int] = {}

    def add(self, model: type[Base], row: dict[str, Any]) -> None:
        rows = self.pending.setdefault(model, [])
        rows.append(row)
        if len(rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Everything pending, parents before the rows that point at them."""
        for each in sorted(self.pending, key=PARENTS_FIRST.index):
            rows = self.pending[each]
            if rows:
                self.session.execute(insert(each), rows)
                name = str(each.__tablename__)
                self.counts[name] = self.counts.get(name, 0) + len(rows)
                self.pending[each] = []


class _Words:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def fill(self, template: str) -> str:
        pick = self.rng.choice
        return template.format(
            when=pick(WHEN), name=pick(NAMES), whom=pick(WHOM), evidence=pick(EVIDENCE), fault=pick(FAULTS)
        )

    def problem(self, rare: bool) -> tuple[str, str, str]:
        pick = self.rng.choice
        thing = pick(RARE_THINGS if rare else THINGS)
        what = f"{thing[0].upper()}{thing[1:]} {pick(FAULTS)} {pick(WHEN)}"
        return what, pick(WHOM), pick(EVIDENCE)

    def reply(self) -> str:
        return self.fill(self.rng.choice(REPLIES))


def seed(database_url: str, *, people: int = 1000, entries: int = 500_000, seed: int = 1) -> SeedReport:
    """Fill a migrated, empty-of-TBENCH database; see the module's docstring for the shape."""
    if people < 2:
        raise ValueError("people must be at least 2 (UHEAVY and ULIGHT)")
    if entries < 0:
        raise ValueError("entries must not be negative")
    started = time.monotonic()
    rng = random.Random(seed)
    words = _Words(rng)
    now = datetime.now(UTC)
    database = Database(normalize_database_url(database_url))
    try:
        with database.transaction() as session:
            if session.scalar(select(Workspace.id).where(Workspace.team_id == TEAM)) is not None:
                raise RuntimeError(f"team {TEAM} is in this database already: seed an empty one")
            writer = _Writer(session)
            workspace = Workspace(team_id=TEAM, name="Bench", created_at=now - HISTORY - timedelta(days=7))
            session.add(workspace)
            session.flush()
            writer.counts["workspace"] = 1
            roster = _people(session, writer, workspace.id, people, now)
            ids = _Ids(*(_next_id(session, model) for model in (Loop, Entry, Shipment, CheckIn, Delivery)))
            loops = _loops(writer, ids, workspace.id, roster, now, rng, words)
            _entries(writer, ids, loops, roster, entries, now, rng, words)
            _prompts(writer, ids, workspace.id, roster, now, rng)
            writer.flush()
            if session.bind is not None and session.bind.dialect.name == "postgresql":
                _after_postgres_load(session)
        if database.engine.dialect.name == "postgresql":
            # As a database that has been running a while is: its planner statistics known, and
            # vacuumed (visibility map, hint bits), so no autovacuum of the fresh tables competes
            # with what a benchmark measures, and no read pays for the load's first look at a row.
            with database.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM (ANALYZE)"))
    finally:
        database.dispose()
    heavy = roster[0]
    light = roster[1]
    return SeedReport(
        team_id=TEAM,
        heavy=heavy["slack_user_id"],
        light=light["slack_user_id"],
        people=[(p["slack_user_id"], p["dm_channel"], p["tz"]) for p in roster],
        counts=writer.counts,
        seconds=time.monotonic() - started,
    )


def _next_id(session: Session, model: type[Loop | Entry | Shipment | CheckIn | Delivery | Person]) -> int:
    return int(session.scalar(select(func.max(model.id))) or 0) + 1


def _people(
    session: Session, writer: _Writer, workspace_id: int, count: int, now: datetime
) -> list[dict[str, Any]]:
    first = _next_id(session, Person)
    users = [HEAVY, LIGHT] + [f"U{n:04d}" for n in range(1, count - 1)]
    roster = []
    for n, user in enumerate(users):
        tz = ZONES[n % len(ZONES)]
        person = {
            "id": first + n,
            "workspace_id": workspace_id,
            "slack_user_id": user,
            "name": f"bench{n}",
            "tz": tz,
            "tz_checked_at": now - timedelta(hours=n % 24),
            "enrolled": True,
            "enrolled_by": "self",
            "dm_channel": "D" + user,
            "home_opened_at": now - HISTORY + timedelta(days=n % 30),
            "next_prompt_at": _next_prompt(tz, now),
            "created_at": now - HISTORY - timedelta(days=1),
        }
        writer.add(Person, person)
        roster.append(person)
    writer.flush()
    return roster


def _local_prompt(tz: str, day: date) -> datetime:
    return datetime.combine(day, PROMPT_AT, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def _next_prompt(tz: str, now: datetime) -> datetime:
    day = now.astimezone(ZoneInfo(tz)).date()
    while day.weekday() >= 5 or _local_prompt(tz, day) <= now:
        day += timedelta(days=1)
    return _local_prompt(tz, day)


def _loop_counts(people: int, rng: random.Random) -> list[int]:
    return [HEAVY_LOOPS, LIGHT_LOOPS] + [rng.randint(5, 15) for _ in range(people - 2)]


@dataclass
class _SeededLoop:
    """What the entries of a loop need to know about it."""

    id: int
    person: int  # index into the roster
    state: LoopState
    opened_at: datetime
    shipped_at: datetime | None
    checked_at: datetime | None
    closed_at: datetime | None
    what: str
    rare: bool
    # The words of its own text; its story's are added when the entries are written.
    terms: set[str] = field(default_factory=set)


def _loops(
    writer: _Writer,
    ids: _Ids,
    workspace_id: int,
    roster: list[dict[str, Any]],
    now: datetime,
    rng: random.Random,
    words: _Words,
) -> list[_SeededLoop]:
    seeded: list[_SeededLoop] = []
    states = [state for state, _ in STATES]
    weights = [weight for _, weight in STATES]
    latest = now - timedelta(hours=1)
    span = (latest - (now - HISTORY)).total_seconds()
    for index, (person, count) in enumerate(zip(roster, _loop_counts(len(roster), rng), strict=True)):
        opened = sorted(latest - timedelta(seconds=rng.random() * span) for _ in range(count))
        for number, opened_at in enumerate(opened, start=1):
            loop_id = ids.loop
            ids.loop += 1
            state = rng.choices(states, weights)[0]
            rare = rng.random() < RARE_SHARE
            what, for_whom, evidence = words.problem(rare)

            state, shipped_at, checked_at, closed_at = _timeline(state, opened_at, latest, rng)
            writer.add(
                Loop,
                {
                    "id": loop_id,
                    "workspace_id": workspace_id,
                    "person_id": person["id"],
                    "number": number,
                    "what": what,
                    "for_whom": for_whom,
                    "evidence": evidence,
                    "state": state.value,
                    "opened_at": opened_at,
                    "shipped_at": shipped_at,
                    "closed_at": closed_at,
                    "next_step": words.fill(rng.choice(NEXT_STEPS)) if state is LoopState.CONTINUED else None,
                    "channel": person["dm_channel"],
                    # A root message's ts: its second, and the loop id (< 10⁶) to keep it unique.
                    "thread_ts": f"{int(opened_at.timestamp())}.{loop_id % 1_000_000:06d}",
                    "source": f"bench:{loop_id}",
                },
            )
            loop = _SeededLoop(
                loop_id, index, state, opened_at, shipped_at, checked_at, closed_at, what, rare
            )
            loop.terms = search_terms(what) | search_terms(for_whom) | search_terms(evidence)
            seeded.append(loop)
            if shipped_at is not None:
                _shipment(writer, ids, workspace_id, person, loop, now, rng, words)
    writer.flush()
    return seeded


def _timeline(
    state: LoopState, opened_at: datetime, latest: datetime, rng: random.Random
) -> tuple[LoopState, datetime | None, datetime | None, datetime | None]:
    """(state, shipped_at, checked_at, closed_at); a loop too young for its state's steps is not there yet."""
    shipped_at = opened_at + timedelta(days=rng.uniform(0.5, 10))
    checked_at = shipped_at + timedelta(days=rng.uniform(3, 7))
    if state is LoopState.DROPPED:
        closed_at = opened_at + timedelta(days=rng.uniform(1, 30))
        return (state, None, None, closed_at) if closed_at <= latest else (LoopState.OPEN, None, None, None)
    if state is LoopState.OPEN or shipped_at > latest:
        return LoopState.OPEN, None, None, None
    if state is LoopState.SHIPPED or checked_at > latest:
        return LoopState.SHIPPED, shipped_at, None, None
    return state, shipped_at, checked_at, checked_at if state is LoopState.CLOSED else None


def _shipment(
    writer: _Writer,
    ids: _Ids,
    workspace_id: int,
    person: dict[str, Any],
    loop: _SeededLoop,
    now: datetime,
    rng: random.Random,
    words: _Words,
) -> None:
    """One shipment of a shipped, continued or closed loop, with its first (and only) ask."""
    assert loop.shipped_at is not None
    shipment_id, checkin_id = ids.shipment, ids.checkin
    ids.shipment += 1
    ids.checkin += 1
    zone = ZoneInfo(person["tz"])
    due_on = loop.shipped_at.astimezone(zone).date() + timedelta(days=3)
    asked_at = _local_prompt(person["tz"], due_on)
    asked: datetime | None = asked_at if asked_at <= now else None
    unwatched = loop.state is LoopState.SHIPPED and asked is not None and rng.random() < UNWATCHED_SHARE
    answer: CheckinAnswer | None = None
    if loop.state is LoopState.CLOSED:
        state, answer = ShipmentState.ANSWERED, CheckinAnswer.CHANGED
    elif loop.state is LoopState.CONTINUED:
        state, answer = ShipmentState.ANSWERED, CheckinAnswer.NO_CHANGE
    else:
        state = ShipmentState.UNWATCHED if unwatched else ShipmentState.WAITING
    if loop.checked_at is not None and asked is not None:
        asked = min(asked, loop.checked_at)
    if answer is not None and asked is None:
        asked = loop.checked_at
    next_step = words.fill(rng.choice(NEXT_STEPS)) if answer is CheckinAnswer.NO_CHANGE else None
    happened = None
    if answer is CheckinAnswer.CHANGED:
        happened = words.fill(rng.choice(HAPPENED))
    elif answer is CheckinAnswer.NO_CHANGE:
        happened = words.fill(rng.choice(NO_CHANGE))
    writer.add(
        Shipment,
        {
            "id": shipment_id,
            "workspace_id": workspace_id,
            "loop_id": loop.id,
            "person_id": person["id"],
            "what": f"Shipped {rng.choice(FIXES)}",
            "expected_change": words.fill(rng.choice(EXPECT)),
            "state": state.value,
            "source": f"bench:s{shipment_id}",
            "asks": 1,
            "checkin_on": due_on,
            "outcome": answer.value if answer is not None else None,
            "next_step": next_step,
            "shipped_at": loop.shipped_at,
            "first_of_loop": True,
            # The distances the app keeps on each ship (core.figures), from the same moments.
            "problem_days": problem_days(
                loop.opened_at, loop.shipped_at, first_of_loop=True, opened_by_shipment=False
            ),
            "outcome_days": days_between(loop.shipped_at, loop.checked_at)
            if answer is not None and loop.checked_at is not None
            else None,
            "watched": answer is not None,
            "checked_at": loop.checked_at if answer is not None else None,
            "unwatched_at": asked + timedelta(days=7) if unwatched and asked is not None else None,
        },
    )
    writer.add(
        CheckIn,
        {
            "id": checkin_id,
            "shipment_id": shipment_id,
            "person_id": person["id"],
            "ask": 1,
            "due_on": due_on,
            "asked_at": asked,
            "answer": answer.value if answer is not None else None,
            "what_happened": happened,
            "next_step": next_step,
            "closes_loop": answer is CheckinAnswer.CHANGED,
            "answered_at": loop.checked_at if answer is not None else None,
            "created_at": loop.shipped_at,
        },
    )


def _shares(total: int, weights: list[float]) -> list[int]:
    """`total` split in proportion to `weights`, summing to exactly `total`."""
    whole = sum(weights)
    if not weights or whole <= 0:
        return [0] * len(weights)
    exact = [total * w / whole for w in weights]
    shares = [int(x) for x in exact]
    left = total - sum(shares)
    by_remainder = sorted(range(len(weights)), key=lambda i: exact[i] - shares[i], reverse=True)
    for i in by_remainder[:left]:
        shares[i] += 1
    return shares


def _entries(
    writer: _Writer,
    ids: _Ids,
    loops: list[_SeededLoop],
    roster: list[dict[str, Any]],
    total: int,
    now: datetime,
    rng: random.Random,
    words: _Words,
) -> None:
    """Exactly `total` entries: about 5 for each of UHEAVY's loops, the rest over everyone else's."""
    heavy = [loop for loop in loops if loop.person == 0]
    others = [loop for loop in loops if loop.person != 0]
    heavy_total = min(total, HEAVY_ENTRIES_PER_LOOP * len(heavy)) if others else total
    shares = _shares(heavy_total, [1.0] * len(heavy))
    shares += _shares(total - heavy_total, [rng.uniform(0.5, 1.5) for _ in others])
    for loop, count in zip(heavy + others, shares, strict=True):
        person_id = roster[loop.person]["id"]
        for kind, created_at, body in _story(loop, count, now, rng, words):
            writer.add(
                Entry,
                {
                    "id": ids.entry,
                    "loop_id": loop.id,
                    "person_id": person_id,
                    "kind": kind,
                    "text": body,
                    # Unique within the loop: the second it was said, and its place in the story.
                    "slack_ts": f"{int(created_at.timestamp())}.{ids.entry % 1_000_000:06d}",
                    "created_at": created_at,
                },
            )
            ids.entry += 1
            loop.terms |= search_terms(body)
        # The words `/loops search` reads, as the app keeps them (store.queries.index_terms).
        for term in sorted(loop.terms):
            writer.add(SearchTerm, {"person_id": person_id, "term": term, "loop_id": loop.id})
        loop.terms = set()


def _story(
    loop: _SeededLoop, count: int, now: datetime, rng: random.Random, words: _Words
) -> Iterator[tuple[str, datetime, str]]:
    """`count` entries of one loop, oldest first: the answer that opened it, replies, then its ending."""
    if count <= 0:
        return
    tail: list[tuple[str, datetime, str]] = []
    if loop.shipped_at is not None:
        tail.append(("shipped", loop.shipped_at, f"Shipped: {rng.choice(FIXES)}."))
    if loop.checked_at is not None:
        label = "Yes, it changed" if loop.state is LoopState.CLOSED else "No change yet"
        tail.append(("checkin", loop.checked_at, f"{label}. {words.fill(rng.choice(HAPPENED))}"))
    if loop.state is LoopState.CLOSED and loop.closed_at is not None:
        tail.append(("closed", loop.closed_at, "Closed after its check-in."))
    elif loop.state is LoopState.DROPPED and loop.closed_at is not None:
        tail.append(("dropped", loop.closed_at, "Dropped: not worth it any more."))
    tail = tail[: max(0, count - 1)]
    middle = count - 1 - len(tail)
    end = loop.shipped_at or loop.closed_at or now
    span = max(1.0, (end - loop.opened_at).total_seconds())
    yield "answer", loop.opened_at, loop.what
    for at in sorted(loop.opened_at + timedelta(seconds=rng.random() * span) for _ in range(middle)):
        kind = "still_broken" if rng.random() < 0.15 else "reply"
        body = f"Still broken: {loop.what}" if kind == "still_broken" and loop.rare else words.reply()
        yield kind, min(at, now), body
    yield from tail


def _prompts(
    writer: _Writer,
    ids: _Ids,
    workspace_id: int,
    roster: list[dict[str, Any]],
    now: datetime,
    rng: random.Random,
) -> None:
    """Everyone's morning prompt of each weekday of the last PROMPT_DAYS days, sent, mostly answered."""
    answers = [answer for answer, _ in PROMPT_ANSWERS]
    weights = [weight for _, weight in PROMPT_ANSWERS]
    for person in roster:
        today = now.astimezone(ZoneInfo(person["tz"])).date()
        for back in range(PROMPT_DAYS, -1, -1):
            day = today - timedelta(days=back)
            due_at = _local_prompt(person["tz"], day)
            if day.weekday() >= 5 or due_at > now:
                continue
            sent_at = due_at + timedelta(seconds=rng.uniform(0.2, 5))
            answer = rng.choices(answers, weights)[0]
            answered_at = min(now, sent_at + timedelta(minutes=rng.uniform(2, 300))) if answer else None
            writer.add(
                Delivery,
                {
                    "id": ids.delivery,
                    "workspace_id": workspace_id,
                    "person_id": person["id"],
                    "kind": DeliveryKind.PROMPT.value,
                    "key": day.isoformat(),
                    "due_at": due_at,
                    "ready_at": due_at,
                    "state": DeliveryState.SENT.value,
                    "attempts": 1,
                    "first_attempt_at": due_at,
                    "channel": person["dm_channel"],
                    "slack_ts": f"{int(sent_at.timestamp())}.{ids.delivery % 1_000_000:06d}",
                    "created_at": due_at - timedelta(hours=12),
                    "sent_at": sent_at,
                    "answer": answer.value if answer is not None else None,
                    "answered_at": answered_at,
                },
            )
            ids.delivery += 1


def _after_postgres_load(session: Session) -> None:
    """Move each id sequence past the ids given explicitly, so the app's own inserts do not collide."""
    for model in (Workspace, Person, Loop, Entry, Shipment, CheckIn, Delivery):
        table = model.__tablename__
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "  # noqa: S608 - our own names
                f'(SELECT coalesce(max(id), 0) + 1 FROM "{table}"), false)'
            )
        )


@dataclass
class FiguresReport:
    people: int
    seconds: float


def work_out_figures(database_url: str) -> FiguresReport:
    """Today's figures for everyone who ships, as the clock's first ticks of a day store them.

    A deployment's clock keeps them (store.history.store_figures), so a read finds them stored;
    a benchmark that skipped this would time every read working them out again.
    """
    started, worked_out = time.monotonic(), 0
    database = Database(normalize_database_url(database_url))
    try:
        while True:
            with database.transaction() as session:
                done = store_figures(session, datetime.now(UTC), FIGURES_BATCH)
            worked_out += done
            if done < FIGURES_BATCH:
                break
    finally:
        database.dispose()
    return FiguresReport(worked_out, time.monotonic() - started)


def print_figures(report: FiguresReport) -> None:
    print(f"the clock worked out {report.people:,} people's figures in {report.seconds:.1f} s")


def print_report(report: SeedReport) -> None:
    counts = ", ".join(f"{table} {n:,}" for table, n in report.counts.items())
    print(f"seeded team {report.team_id} in {report.seconds:.1f} s: {counts}")
    print(f"  heavy {report.heavy}, light {report.light}, {len(report.people):,} people")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--database-url", help="sqlite:///path or postgresql://…")
    where.add_argument("--postgres", action="store_true", help="start a throwaway PostgreSQL and seed it")
    parser.add_argument("--keep", action="store_true", help="with --postgres: leave the server running")
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=1, help="of the random numbers")
    args = parser.parse_args()
    if args.keep and not args.postgres:
        parser.error("--keep is for --postgres")

    from burst import migrate

    server = None
    try:
        if args.postgres:
            from tests.support.pgserver import PostgresServer

            server = PostgresServer.start()
            database_url = server.admin_url
            print(f"PostgreSQL at {database_url}")
        else:
            database_url = args.database_url
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="loops-seed-") as folder:  # no .env of the checkout
            if not migrate(database_url, Path(folder)):
                return 1
        print(f"migrated in {time.monotonic() - started:.1f} s")
        print_report(seed(database_url, people=args.people, entries=args.entries, seed=args.seed))
        return 0
    finally:
        if server is not None:
            if args.keep:
                runner = f"runuser -u {server.run_as} -- " if server.run_as else ""
                print(f"left running: {server.admin_url}")
                print(f"  stop it with: {runner}{server.bindir}/pg_ctl -D {server.root}/data -m fast stop")
                print(f"  then remove {server.root}")
            else:
                server.stop()


if __name__ == "__main__":
    sys.exit(main())
