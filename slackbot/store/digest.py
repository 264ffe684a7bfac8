"""What a workspace's weekly digest reads: the shared loops and ships of one week, as of a moment.

Only people whose loops appear in the digest (`Person.in_digest`), never a private loop.
Everything is read as it stood at `moment` (the digest's Monday 09:00): a part of a long
digest worked out again later says the same, so the parts never overlap or leave a gap.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from slackbot.core.figures import WINDOW, CountedShipment, Figures, figures
from slackbot.core.schedule import zone
from slackbot.core.shipments import ShipmentState
from slackbot.store.models import CheckIn, Loop, Person, Shipment, Workspace

# One digest names at most this many items of each kind; the rest are counted.
DIGEST_ITEMS = 100


@dataclass(frozen=True)
class SharedLoop:
    loop: Loop
    slack_user_id: str


@dataclass(frozen=True)
class SharedShipment:
    shipment: Shipment
    slack_user_id: str
    checkin: CheckIn | None  # the answer that settled it, as of the moment


@dataclass
class Digest:
    opened: list[SharedLoop] = field(default_factory=list)
    opened_count: int = 0
    shipped: list[SharedShipment] = field(default_factory=list)  # shipped in the week
    shipped_count: int = 0
    learned: list[SharedShipment] = field(default_factory=list)  # an earlier ship's outcome came in the week
    learned_count: int = 0
    unwatched: list[SharedShipment] = field(default_factory=list)  # gave up unanswered, last 90 days
    unwatched_count: int = 0
    figures: Figures = field(default_factory=lambda: figures([]))
    sharing: int = 0  # people whose loops it shows


def digest_channel_of(workspace: Workspace, default: str | None) -> str | None:
    """Where the workspace's digest goes: its own choice (`/loops digest`), else the default."""
    return workspace.digest_channel or default


def team_zone(session: Session, workspace: Workspace, configured: str | None) -> str:
    """LOOPS_TEAM_TZ, else the most common zone among the workspace's enrolled people, else UTC."""
    if configured:
        return configured
    zones = Counter(
        tz
        for tz in session.scalars(
            select(Person.tz).where(
                Person.workspace_id == workspace.id, Person.enrolled.is_(True), Person.tz.is_not(None)
            )
        )
        if tz
    )
    # Most people first; a tie goes to the zone that sorts first, so every process agrees.
    return min(zones.items(), key=lambda item: (-item[1], item[0]))[0] if zones else "UTC"


def _sharing(session: Session, workspace: Workspace) -> dict[int, str]:
    return dict(
        session.execute(
            select(Person.id, Person.slack_user_id).where(
                Person.workspace_id == workspace.id,
                Person.in_digest.is_(True),
                Person.deactivated.is_(False),
            )
        ).all()
    )


def digest_of(session: Session, workspace: Workspace, start: datetime, moment: datetime) -> Digest:
    """The week [start, moment) of the workspace's shared loops; the figures over 90 days to `moment`."""
    people = _sharing(session, workspace)
    digest = Digest(sharing=len(people))
    if not people:
        return digest
    ids = list(people)
    shared = and_(Loop.person_id.in_(ids), Loop.private.is_(False))
    opened = list(
        session.scalars(
            select(Loop)
            .where(shared, Loop.opened_at >= start, Loop.opened_at < moment)
            .order_by(Loop.opened_at, Loop.id)
        )
    )
    digest.opened_count = len(opened)
    digest.opened = [SharedLoop(loop, people[loop.person_id]) for loop in opened[:DIGEST_ITEMS]]

    # Ships of shared loops (a ship always has a loop once recorded; a draft is nobody's yet).
    shipment_rows = (
        select(Shipment)
        .join(Loop, Loop.id == Shipment.loop_id)
        .where(
            shared,
            Shipment.person_id.in_(ids),
            Shipment.state != ShipmentState.DRAFT,
            Shipment.shipped_at < moment,
        )
    )
    window = list(
        session.scalars(
            shipment_rows.where(Shipment.shipped_at >= moment - WINDOW).order_by(Shipment.shipped_at)
        )
    )
    settled = _answers(session, [s.id for s in window], moment)
    in_week = [s for s in window if s.shipped_at >= start]
    digest.shipped_count = len(in_week)
    digest.shipped = [
        SharedShipment(s, people[s.person_id], settled.get(s.id)) for s in in_week[:DIGEST_ITEMS]
    ]
    learned = [
        s
        for s in window
        if s.shipped_at < start
        and (a := settled.get(s.id)) is not None
        and a.answered_at
        and a.answered_at >= start
    ]
    digest.learned = [SharedShipment(s, people[s.person_id], settled[s.id]) for s in learned[:DIGEST_ITEMS]]
    unwatched = [
        s
        for s in window
        if s.state == ShipmentState.UNWATCHED and s.unwatched_at is not None and s.unwatched_at < moment
    ]
    digest.unwatched_count = len(unwatched)
    digest.unwatched = [SharedShipment(s, people[s.person_id], None) for s in unwatched[:DIGEST_ITEMS]]
    digest.figures = figures(_as_of(s, settled.get(s.id), moment) for s in window)
    return digest


def _answers(session: Session, shipment_ids: list[int], moment: datetime) -> dict[int, CheckIn]:
    """Each shipment's newest answer given before `moment` ("can't tell yet" included)."""
    found: dict[int, CheckIn] = {}
    if not shipment_ids:
        return found
    for checkin in session.scalars(
        select(CheckIn)
        .where(
            CheckIn.shipment_id.in_(shipment_ids),
            CheckIn.answered_at.is_not(None),
            CheckIn.answered_at < moment,
        )
        .order_by(CheckIn.answered_at, CheckIn.id)
    ):
        found[checkin.shipment_id] = checkin
    return found


def _as_of(shipment: Shipment, answer: CheckIn | None, moment: datetime) -> CountedShipment:
    """The shipment as the figures saw it at `moment`: an outcome later than that is not known yet."""
    known = (
        shipment.state == ShipmentState.ANSWERED
        and shipment.checked_at is not None
        and shipment.checked_at < moment
    )
    gave_up = shipment.unwatched_at is not None and shipment.unwatched_at < moment
    return CountedShipment(
        problem_days=shipment.problem_days,
        outcome_days=shipment.outcome_days if known else None,
        answered=answer is not None,
        unwatched=gave_up and shipment.state == ShipmentState.UNWATCHED,
    )


def team_morning(
    session: Session, workspace: Workspace, team_tz: str | None, morning: time, now: datetime
) -> tuple[date, datetime]:
    """The team's local date now, and its morning (LOOPS_PROMPT_TIME in the team's zone) in UTC."""
    tz = zone(team_zone(session, workspace, team_tz))
    today = now.astimezone(tz).date()
    return today, datetime.combine(today, morning, tzinfo=tz).astimezone(UTC)
