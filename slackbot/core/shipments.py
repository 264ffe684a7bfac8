"""The second half of a loop: what shipped, when to look, and what the answer means for the loop.

A check-in is counted in the person's own workdays and zone: "2 workdays" after a ship
on Friday is Tuesday, at their prompt time. All maths here is on local dates; the UTC
instant comes from the person's schedule (`PromptSchedule.on`) at the edges.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from slackbot.core.schedule import PromptSchedule

# The longest wait a person may pick (a date or a span): a year, as for a pause.
LONGEST_WAIT_DAYS = 366


@dataclass(frozen=True)
class Wait:
    """How long after a ship (or a "can't tell yet") to ask: N workdays, or N weeks."""

    workdays: int = 0
    weeks: int = 0

    def __post_init__(self) -> None:
        if (self.workdays > 0) == (self.weeks > 0):
            raise ValueError("a wait is a number of workdays or a number of weeks, not both or neither")

    @property
    def value(self) -> str:
        """How a modal option names it (`workdays:2`, `weeks:2`); `parse_wait` reads it back."""
        return f"workdays:{self.workdays}" if self.workdays else f"weeks:{self.weeks}"

    @property
    def label(self) -> str:
        if self.workdays:
            return f"{self.workdays} workday{'s' if self.workdays != 1 else ''}"
        return f"{self.weeks} week{'s' if self.weeks != 1 else ''}"


# What the modals offer, shortest first.
WAIT_CHOICES = (Wait(workdays=1), Wait(workdays=2), Wait(workdays=3), Wait(workdays=5), Wait(weeks=2))
# "Can't tell yet" asks again after this, unless the person picks another wait.
ASK_AGAIN = Wait(workdays=2)

# `2 workdays`, `2 wd`, `2` (workdays), `2 weeks`, `2w`; or a modal option's `workdays:2`.
_WAIT = re.compile(
    r"^(?:(?P<n>[0-9]{1,3})\s*(?P<unit>workdays?|wd|weeks?|w)?|(?P<option>workdays|weeks):(?P<m>[0-9]{1,3}))$"
)


def parse_wait(text: str) -> Wait:
    """A wait as settings, modals and people write it; ValueError saying why otherwise."""
    match = _WAIT.match(text.strip().lower())
    if not match:
        raise ValueError(f"{text.strip()!r} is not a wait such as `2 workdays` or `2 weeks`")
    n = int(match.group("n") or match.group("m"))
    unit = match.group("unit") or match.group("option") or "workdays"
    weeks = unit.startswith("w") and unit != "wd" and not unit.startswith("workday")
    days = n * 7 if weeks else n
    if not 1 <= days <= LONGEST_WAIT_DAYS:
        raise ValueError(f"a wait is from 1 workday to {LONGEST_WAIT_DAYS} days")
    return Wait(weeks=n) if weeks else Wait(workdays=n)


def add_workdays(day: date, count: int, workdays: frozenset[int]) -> date:
    """The `count`-th workday strictly after `day` (a Saturday ship plus 1 is Monday)."""
    if not workdays:
        raise ValueError("a schedule needs at least one workday")
    while count > 0:
        day += timedelta(days=1)
        if day.weekday() in workdays:
            count -= 1
    return day


def first_workday_from(day: date, workdays: frozenset[int]) -> date:
    """`day` itself when it is a workday, else the next one."""
    return day if day.weekday() in workdays else add_workdays(day, 1, workdays)


def checkin_date(start: date, wait: Wait, workdays: frozenset[int]) -> date:
    """The local date to ask on, `wait` after `start` (the local date of the ship or answer)."""
    if wait.workdays:
        return add_workdays(start, wait.workdays, workdays)
    return first_workday_from(start + timedelta(weeks=wait.weeks), workdays)


def chosen_date(picked: date, today: date) -> date:
    """A date the person picked in the modal, or ValueError saying why it cannot be used."""
    if picked <= today:
        raise ValueError("Pick a day after today.")
    if picked > today + timedelta(days=LONGEST_WAIT_DAYS):
        raise ValueError("Pick a day within a year.")
    return picked


@dataclass(frozen=True)
class Moment:
    """When a check-in goes out: now, or not before `at` (with why, for the delivery's log)."""

    send_now: bool
    at: datetime
    why: str = ""


def checkin_moment(
    due_on: date,
    schedule: PromptSchedule,
    now: datetime,
    *,
    day_end: time,
    paused_until: date | None,
) -> Moment:
    """Whether a check-in for local date `due_on` goes out now, and if not, when to look again.

    The morning prompt's catch-up window does not apply: a check-in the clock missed is
    sent later the same working day (prompt time to day end) or at the next prompt time.
    A paused person is asked on their first workday back.
    """
    earliest = due_on
    if paused_until is not None and paused_until > earliest:
        earliest = (
            first_workday_from(paused_until, schedule.workdays) if paused_until != date.max else date.max
        )
    if earliest == date.max:
        # Paused until they resume: look again tomorrow (resuming looks at once).
        return Moment(False, now + timedelta(days=1), "paused until /loops resume")
    due = schedule.on(earliest)
    if now < due:
        return Moment(False, due, f"due {earliest.isoformat()}")
    local = now.astimezone(schedule.tz)
    today = local.date()
    if today.weekday() in schedule.workdays and schedule.at <= local.time() <= day_end:
        return Moment(True, now)
    return Moment(False, schedule.next_after(now), "outside the working day")


class CheckinAnswer(StrEnum):
    """The four answers a check-in offers."""

    CHANGED = "changed"
    NO_CHANGE = "no_change"
    CANT_TELL = "cant_tell"
    WORSE = "worse"


ANSWER_LABELS = {
    CheckinAnswer.CHANGED: "Yes, it changed",
    CheckinAnswer.NO_CHANGE: "No change",
    CheckinAnswer.CANT_TELL: "Can't tell yet",
    CheckinAnswer.WORSE: "It got worse",
}


class ShipmentState(StrEnum):
    """Where a shipment's check-in stands."""

    WAITING = "waiting"  # a check-in is planned or asked, not answered
    ANSWERED = "answered"  # answered: the loop closed or carries on with its next step
    UNWATCHED = "unwatched"  # asked and never answered within LOOPS_CHECKIN_GIVE_UP: kept, counted
    DRAFT = "draft"  # only the whole text of a long `/shipped`, while its modal is open


# After this many "can't tell yet" in a row, the re-ask asks what would make it tellable.
TELLABLE_AFTER = 2
