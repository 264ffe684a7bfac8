"""How long a person's loops take: the three distances `/loops` shows over the last 90 days.

Problem → ship (days from a loop's opening to its first shipment), ship → known outcome
(days from a shipment to the answer that settled it), and the share of ships whose
outcome was watched (answered at all, "can't tell yet" included). A ship still waiting for
its check-in or its answer is too early to count either way; an unwatched ship (its
latest ask given up on) counts against, even if an earlier ask was answered.

Each shipment keeps its own two distances from the moment they are known
(`problem_days` when it is recorded, `outcome_days` when an answer settles it), so the
figures read a window of small rows and never work through a history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

WINDOW = timedelta(days=90)


@dataclass(frozen=True)
class CountedShipment:
    """One shipment of the window, as the figures need it."""

    problem_days: float | None  # the loop's first ship, of a loop the ship did not open itself
    outcome_days: float | None  # to the answer other than "can't tell yet" that settled it
    answered: bool  # any ask of it was answered ("can't tell yet" too: somebody looked)
    unwatched: bool  # its latest ask went unanswered until it gave up


@dataclass(frozen=True)
class Figures:
    problem_to_shipment_days: float | None
    shipment_to_outcome_days: float | None
    watched_share: float | None  # 0..1
    shipments: int  # in the window
    watched: int
    judged: int  # shipments answered or given up on (the share's denominator)


def days_between(start: datetime, end: datetime) -> float:
    """Whole and part days, never negative (clocks and edits can put an end before its start)."""
    return max(0.0, (end - start).total_seconds() / 86_400)


def problem_days(
    loop_opened_at: datetime, shipped_at: datetime, *, first_of_loop: bool, opened_by_shipment: bool
) -> float | None:
    """What a shipment adds to problem → ship: only a loop's first, for a problem opened before it."""
    if not first_of_loop or opened_by_shipment:
        return None
    return days_between(loop_opened_at, shipped_at)


def figures(shipments: Iterable[CountedShipment]) -> Figures:
    """The three distances over the shipments of one window."""
    window = list(shipments)
    to_shipment = [s.problem_days for s in window if s.problem_days is not None]
    to_outcome = [s.outcome_days for s in window if s.outcome_days is not None]
    judged = [s for s in window if s.answered or s.unwatched]
    watched = sum(1 for s in judged if s.answered and not s.unwatched)
    return Figures(
        problem_to_shipment_days=median(to_shipment) if to_shipment else None,
        shipment_to_outcome_days=median(to_outcome) if to_outcome else None,
        watched_share=watched / len(judged) if judged else None,
        shipments=len(window),
        watched=watched,
        judged=len(judged),
    )
