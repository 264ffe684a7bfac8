"""When the morning prompt is due: local time, workdays and time zone in, UTC instants out.

All maths goes through the IANA zone (never a fixed offset), so daylight-saving days
neither skip nor double a prompt: on a spring-forward day a prompt set inside the
missing hour comes at the same distance after the jump (09:30 never falls in a gap in
practice, 02:30 does), and on a fall-back day the first of the two readings counts.
A prompt belongs to the person's local date, which is what keeps it to one per day.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# A clock that was down for longer than this does not replay the days in between.
MAX_DAYS_REPLAYED = 14


def zone(name: str | None) -> ZoneInfo:
    """The person's zone; an unknown or missing name falls back to UTC rather than failing."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


def known_zone(name: str) -> bool:
    """True for an IANA zone name this machine knows (`Europe/Berlin`), never for an offset."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def parse_workdays(text: str) -> frozenset[int]:
    """`mon-fri`, `mon,tue,thu` or `sun-thu` → ISO weekday numbers 0 (Mon) .. 6 (Sun).

    A range wraps around the week (`fri-mon` is Fri, Sat, Sun, Mon) because some
    teams work Sunday to Thursday.
    """
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        if not part:
            continue
        first, sep, last = part.partition("-")
        if first not in WEEKDAYS or (sep and last not in WEEKDAYS):
            raise ValueError(f"{part!r} is not a day or a range of days such as mon-fri")
        start = WEEKDAYS.index(first)
        end = WEEKDAYS.index(last) if sep else start
        days.add(start)
        while start != end:
            start = (start + 1) % 7
            days.add(start)
    if not days:
        raise ValueError("name at least one day, such as mon-fri")
    return frozenset(days)


def format_workdays(days: frozenset[int]) -> str:
    """The inverse of `parse_workdays`, as a comma list (`mon,tue,wed,thu,fri`)."""
    return ",".join(WEEKDAYS[d] for d in sorted(days))


@dataclass(frozen=True)
class PromptSchedule:
    """One person's rule: this local time, on these weekdays (0 = Monday), in this zone."""

    tz: ZoneInfo
    at: time
    workdays: frozenset[int]

    def on(self, day: date) -> datetime:
        """The UTC instant of the prompt on a local date (whether or not it is a workday)."""
        local = datetime.combine(day, self.at, tzinfo=self.tz)  # fold=0: first reading, gap → after
        return local.astimezone(UTC)

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.tz).date()

    def next_after(self, instant: datetime) -> datetime:
        """The first prompt strictly after `instant`."""
        start = self.local_date(instant)
        for offset in range(8):
            day = start + timedelta(days=offset)
            if day.weekday() in self.workdays:
                due = self.on(day)
                if due > instant:
                    return due
        raise ValueError("a schedule needs at least one workday")

    def between(self, after: datetime, until: datetime) -> Iterator[datetime]:
        """Every prompt in (after, until], oldest first."""
        due = self.next_after(after)
        while due <= until:
            yield due
            due = self.next_after(due)


class Decision(StrEnum):
    SEND = "send"
    MISSED = "missed"  # later than the catch-up window: not sent at a silly hour
    PAUSED = "paused"


@dataclass(frozen=True)
class Occurrence:
    due: datetime
    local_date: date
    decision: Decision


@dataclass(frozen=True)
class Plan:
    """What one planning pass owes a person, and when to look at them next."""

    occurrences: tuple[Occurrence, ...]
    next_due: datetime
    pause_ended: bool


def plan_prompts(
    schedule: PromptSchedule,
    next_due: datetime,
    now: datetime,
    *,
    catch_up: timedelta,
    paused_until: date | None,
) -> Plan:
    """Decide every prompt due at or before `now`, starting from the stored `next_due`.

    A prompt within `catch_up` of its time is sent; older ones are missed. Local dates
    before `paused_until` are paused; the first prompt on or after it ends the pause.
    """
    occurrences: list[Occurrence] = []
    pause_ended = False
    floor = now - timedelta(days=MAX_DAYS_REPLAYED)
    due = next_due if next_due > floor else schedule.next_after(floor)
    while due <= now:
        day = schedule.local_date(due)
        if paused_until is not None and day < paused_until:
            decision = Decision.PAUSED
        else:
            if paused_until is not None:
                pause_ended = True
            decision = Decision.SEND if now - due <= catch_up else Decision.MISSED
        occurrences.append(Occurrence(due, day, decision))
        due = schedule.next_after(due)
    return Plan(tuple(occurrences), due, pause_ended)


def nudge_due(
    prompt_due: datetime, schedule: PromptSchedule, *, after: timedelta, day_end: time
) -> datetime | None:
    """When to nudge about an unanswered prompt, or None: never when off, never after the working day."""
    if after <= timedelta(0):
        return None
    due = prompt_due + after
    local_due = due.astimezone(schedule.tz)
    if local_due.date() != schedule.local_date(prompt_due) or local_due.time() > day_end:
        return None
    return due
