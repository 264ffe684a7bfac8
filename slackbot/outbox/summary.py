"""The `/loops` summary: built from what is stored now, and rendered ahead by the clock.

The app builds it when a person asks and none is kept (app/history.py); the clock renders
everyone's whose summary is missing, outdated or expired (store.summaries), so that the
next `/loops` reads one row and answers in its ack.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from slackbot.blocks.history import summary_message
from slackbot.core.loops import age_in_days
from slackbot.core.schedule import zone
from slackbot.store.db import Database
from slackbot.store.history import Summary, summary_of
from slackbot.store.models import Person
from slackbot.store.summaries import due_summaries, keep_summary

# `/loops` lists this many open loops (newest first) and recently closed ones.
OPEN_SHOWN = 15
CLOSED_SHOWN = 5


def summary_answer(session: Session, person: Person, now: datetime) -> dict[str, Any]:
    """The person's summary message as it reads at `now`."""
    return _rendered(session, person, now)[0]


def _rendered(session: Session, person: Person, now: datetime) -> tuple[dict[str, Any], datetime]:
    summary = summary_of(session, person, now, shown=OPEN_SHOWN, closed=CLOSED_SHOWN)
    tz = zone(person.tz)
    return summary_message(summary, tz, now), holds_until(summary, tz, now)


def holds_until(summary: Summary, tz: ZoneInfo, now: datetime) -> datetime:
    """When the summary, unchanged, would first read differently: the next midnight in UTC
    (the figures are the UTC day's) or in the person's zone (dates), or the next moment a
    shown loop's age in days moves on."""
    utc = now.astimezone(UTC)
    moments = [datetime.combine(utc.date() + timedelta(days=1), time(), tzinfo=UTC)]
    local = now.astimezone(tz)
    # The first instant of tomorrow's local date (a gap at midnight puts it after the gap).
    moments.append(datetime.combine(local.date() + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC))
    for item in summary.open:
        opened = item.loop.opened_at
        moments.append(opened + timedelta(days=age_in_days(opened, now) + 1))
    return min(moments)


def render_due_summaries(database: Database, now: datetime, limit: int) -> int:
    """Render and keep up to `limit` summaries that are missing, outdated or expired.

    Read in one session (one snapshot on SQLite, with no write lock held while rendering),
    then kept in one short transaction; a summary whose version moved on meanwhile is not
    kept, and is rendered again on a later pass. Returns how many were due.
    """
    with database.session() as session:
        due = due_summaries(session, now, limit)
        rendered = [
            (person.id, version, person.tz, *_rendered(session, person, now)) for person, version in due
        ]
    if not rendered:
        return 0
    with database.transaction() as session:
        for person_id, version, tz, body, until in rendered:
            keep_summary(session, person_id, version, tz, body, until)
    return len(due)
