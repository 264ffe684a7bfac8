"""A person's Slack profile (users.info) read into their row: for `/loops start` and the clock's roster.

Fetching and applying are separate steps so the Slack call is made before the
transaction that stores its answer writes anything.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_sdk import WebClient

from slackbot.core import enrolment
from slackbot.core.enrolment import Defaults
from slackbot.slack.client import WriteTransactionOpen
from slackbot.store.models import Person

logger = logging.getLogger(__name__)


def fetch_profile(client: WebClient, user_id: str) -> dict[str, Any] | None:
    """users.info's `user`, or None when Slack would not say (logged, never raised)."""
    try:
        user = client.users_info(user=user_id)["user"]
    except WriteTransactionOpen:
        raise  # a bug of the caller's, not Slack's
    except Exception:
        # Slack refused, timed out, or answered something odd: the roster and /loops start go on.
        logger.warning("users.info failed for %s", user_id, exc_info=True)
        return None
    return user if isinstance(user, dict) else None


def apply_profile(person: Person, user: dict[str, Any], defaults: Defaults, now: datetime) -> bool:
    """Name, time zone and (de)activation from a profile; the schedule follows a new zone.

    True when the schedule moved: the caller then has the person's check-ins looked at again.
    """
    name = user.get("real_name") or user.get("name")
    person.name = str(name) if isinstance(name, str) and name else person.name
    tz = user.get("tz")
    moved = enrolment.refresh_profile(
        person,
        defaults,
        now,
        tz=tz if isinstance(tz, str) and tz else None,
        deleted=user.get("deleted") is True,
    )
    person.tz_checked_at = now
    return moved
