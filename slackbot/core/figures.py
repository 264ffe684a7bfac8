"""How long a person's loops take: the three distances `/loops` shows over the last 90 days.

Problem → ship (days from a loop's opening to its first shipment), ship → known outcome
(days from a shipment to the answer that settled it), and the share of ships whose
outcome was watched (answered at all, "can't tell yet" included). A ship still waiting for
its check-in or its answer is too early to count either way; an unwatched ship (its
latest ask given up on) counts against, even if an earlier ask was answered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

WINDOW = timedelta(days=90)


@dataclass(frozen=True)
class Ship:
    """One shipment, as the figures need it."""

    loop_opened_at: datetime
    shipped_at: datetime
    first_of_loop: bool  # the loop's first shipment: counts for problem → ship
    opened_by_ship: bool  # the loop was opened by this `/shipped`: no problem → ship distance
    answered: bool  # any ask of it was answered ("can't tell yet" too: somebody looked)
    unwatched: bool  # its latest ask went unanswered until it gave up
    settled_at: datetime | None  # when an answer other than "can't tell yet" came


@dataclass(frozen=True)
class Figures:
    problem_to_ship_days: float | None
    ship_to_outcome_days: float | None
    watched_share: float | None  # 0..1
    ships: int  # shipments in the window
    watched: int
    judged: int  # shipments answered or given up on (the share's denominator)


def days_between(start: datetime, end: datetime) -> float:
    """Whole and part days, never negative (clocks and edits can put an end before its start)."""
    return max(0.0, (end - start).total_seconds() / 86_400)


def figures(ships: Iterable[Ship], now: datetime, window: timedelta = WINDOW) -> Figures:
    """The three distances over shipments made in (now - window, now]."""
    since = now - window
    recent = [s for s in ships if since < s.shipped_at <= now]
    to_ship = [
        days_between(s.loop_opened_at, s.shipped_at)
        for s in recent
        if s.first_of_loop and not s.opened_by_ship
    ]
    to_outcome = [days_between(s.shipped_at, s.settled_at) for s in recent if s.settled_at is not None]
    judged = [s for s in recent if s.answered or s.unwatched]
    watched = sum(1 for s in judged if s.answered and not s.unwatched)
    return Figures(
        problem_to_ship_days=median(to_ship) if to_ship else None,
        ship_to_outcome_days=median(to_outcome) if to_outcome else None,
        watched_share=watched / len(judged) if judged else None,
        ships=len(recent),
        watched=watched,
        judged=len(judged),
    )
