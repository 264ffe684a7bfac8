"""Events API deliveries already handled: Slack retries, Loops acts once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from slackbot.store.models import SeenEvent, utcnow
from slackbot.store.rows import insert_ignoring_conflict


def remember_event(session: Session, event_id: str, team_id: str | None) -> bool:
    """Record an Events API delivery; False when this event_id was handled before.

    The row is part of the caller's transaction: if handling fails and rolls back,
    Slack's next retry is handled rather than dropped.
    """
    inserted = insert_ignoring_conflict(
        session,
        SeenEvent,
        {"event_id": event_id, "team_id": team_id, "received_at": utcnow()},
        ["event_id"],
    )
    return inserted is not None


def forget_events_before(session: Session, cutoff: datetime) -> int:
    """Drop dedupe records older than any retry Slack would still send."""
    result = session.execute(delete(SeenEvent).where(SeenEvent.received_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
