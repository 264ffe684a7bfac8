"""The monthly reflection: which month a morning looks back on, if any.

It goes out with the first morning prompt of a month, which is the first workday's
unless the person was paused, stopped or the clock missed it; a prompt in the month's
first week still brings it, later ones do not (someone who starts on the 20th is not
asked about a month they were not here for). Its delivery key is the month looked
back on, so a person gets it exactly once a month however many prompts try.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

# A prompt this many days into a month or fewer still brings the reflection on the last one.
REFLECTION_DAYS = 7


def previous_month(day: date) -> tuple[int, int]:
    return (day.year - 1, 12) if day.month == 1 else (day.year, day.month - 1)


def month_key(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def reflection_month(local_date: date) -> str | None:
    """The month a prompt on `local_date` reflects on (`2026-11`), or None after the first week."""
    if local_date.day > REFLECTION_DAYS:
        return None
    return month_key(*previous_month(local_date))


def month_span(year: int, month: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """A local calendar month as a UTC [start, end): what `/loops month` and the reflection read."""
    start = datetime(year, month, 1, tzinfo=tz)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)
