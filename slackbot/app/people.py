"""Starting, stopping, pausing and resuming the morning prompt, for `/loops` and the Home tab.

Each function changes the caller's schedule through `core.enrolment`, withdraws what
should no longer be sent, and returns the sentence to show the person.
"""

from __future__ import annotations

import logging
from datetime import date

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from slackbot.app.blocks.kit import local_time
from slackbot.app.services import Services
from slackbot.core import enrolment
from slackbot.core.parse import PAUSED_INDEFINITELY, parse_pause
from slackbot.core.schedule import zone
from slackbot.store.models import Person
from slackbot.store.queries import skip_pending_prompts

logger = logging.getLogger(__name__)


def refresh_from_slack(person: Person, client: WebClient, services: Services) -> bool:
    """Read the person's time zone, name and activity from users.info; False if Slack would not say."""
    try:
        user = client.users_info(user=person.slack_user_id)["user"]
    except Exception:
        logger.warning("users.info failed for %s", person.slack_user_id, exc_info=True)
        return False
    person.name = str(user.get("real_name") or user.get("name") or "") or person.name
    enrolment.refresh_profile(
        person, services.defaults, services.now(), tz=user.get("tz"), deleted=bool(user.get("deleted"))
    )
    person.tz_checked_at = services.now()
    return True


def next_prompt_words(person: Person) -> str:
    if person.next_prompt_at is None:
        return "no prompt is planned"
    return f"your next prompt comes {local_time(person.next_prompt_at, zone(person.tz))}"


def start(person: Person, client: WebClient, services: Services) -> str:
    known = refresh_from_slack(person, client, services)
    was_enrolled = person.enrolled
    enrolment.enrol(person, services.defaults, services.now(), by="self")
    if person.paused_until is not None:
        enrolment.resume(person, services.defaults, services.now())
    where = person.tz or "UTC"
    note = "" if known and person.tz else " (Slack didn't tell me your time zone, so I'm using UTC for now)"
    if was_enrolled:
        return f"You're already getting the morning prompt: {next_prompt_words(person)}{note}."
    return (
        f"You're in. Every workday I'll ask *what's broken right now, and for whom?* "
        f"Your first prompt comes {local_time(person.next_prompt_at, zone(where))}{note}."
        if person.next_prompt_at
        else "You're in."
    )


def stop(person: Person, session: Session) -> str:
    if not person.enrolled:
        # Said before the channel sync enrolled them: it must not enrol them later.
        enrolment.unenrol(person, opted_out=True)
        return "You aren't getting the morning prompt, and won't unless you say `/loops start`."
    enrolment.unenrol(person, opted_out=True)
    skip_pending_prompts(session, person, before=None, reason="the person stopped the morning prompt")
    return (
        "Done: no more morning prompts. Your loops stay as they are; `/loops start` brings the prompt back."
    )


def pause(person: Person, argument: str, session: Session, services: Services) -> str:
    if not person.enrolled:
        return (
            "You aren't getting the morning prompt, so there is nothing to pause. `/loops start` starts it."
        )
    today = services.now().astimezone(zone(person.tz)).date()
    resume_on = parse_pause(argument, today)
    enrolment.pause(person, resume_on)
    skip_pending_prompts(
        session,
        person,
        before=None if resume_on == PAUSED_INDEFINITELY else resume_on.isoformat(),
        reason="the person paused the morning prompt",
    )
    if resume_on == PAUSED_INDEFINITELY:
        return "Paused. No prompts until you say `/loops resume`."
    return (
        f"Paused. No prompts until {_day(resume_on)}; I'll say welcome back then. "
        "`/loops resume` ends the pause sooner."
    )


def resume(person: Person, services: Services) -> str:
    if not person.enrolled:
        return "You aren't getting the morning prompt. `/loops start` starts it."
    if person.paused_until is None:
        return f"You aren't paused: {next_prompt_words(person)}."
    enrolment.resume(person, services.defaults, services.now())
    return f"Welcome back: {next_prompt_words(person)}."


def _day(day: date) -> str:
    return f"{day:%A %-d %B}"
