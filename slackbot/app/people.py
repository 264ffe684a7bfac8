"""Starting, stopping, pausing and resuming the morning prompt, for `/loops` and the Home tab,
and the person's settings form.

Each function changes the caller's schedule through `core.enrolment`, withdraws what
should no longer be sent, and returns the sentence to show the person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Any

from sqlalchemy.orm import Session

from slackbot.app.services import Services
from slackbot.blocks.kit import local_time
from slackbot.blocks.modals.settings import settings_modal
from slackbot.core import enrolment
from slackbot.core.deliveries import PAUSED, STOPPED, DeliveryKind
from slackbot.core.enrolment import schedule_for
from slackbot.core.parse import PAUSED_INDEFINITELY, parse_pause
from slackbot.core.schedule import zone
from slackbot.core.shipments import Wait, parse_wait
from slackbot.slack.profile import apply_profile
from slackbot.store.deliveries import recheck_checkins, revive_withdrawn_prompts, skip_pending_prompts
from slackbot.store.digest import digest_channel_of
from slackbot.store.leaving import remember_again
from slackbot.store.models import Person


def next_prompt_words(person: Person) -> str:
    if person.next_prompt_at is None:
        return "no prompt is planned"
    return f"your next prompt comes {local_time(person.next_prompt_at, zone(person.tz))}"


def start(person: Person, profile: dict[str, Any] | None, session: Session, services: Services) -> str:
    """Enrol the caller; `profile` is their users.info, fetched before this request wrote anything."""
    known = profile is not None
    if profile is not None and apply_profile(person, profile, services.defaults, services.now()):
        recheck_checkins(session, person, services.now())
    was_enrolled = person.enrolled
    # Back of their own accord after forget-me: the channel may count them again.
    remember_again(session, person.workspace_id, person.workspace.team_id, person.slack_user_id)
    # Only someone who stopped or paused can have a prompt withdrawn today.
    may_have_withdrawn = person.opted_out or person.paused_until is not None
    enrolment.enrol(person, services.defaults, services.now(), by="self")
    if person.paused_until is not None:
        enrolment.resume(person, services.defaults, services.now())
        recheck_checkins(session, person, services.now())
    if may_have_withdrawn:
        _bring_back_todays_prompt(person, session, services)
    where = person.tz or "UTC"
    note = "" if known and person.tz else " (Slack didn't tell me your time zone, so I'm using UTC for now)"
    if was_enrolled:
        return f"You're already getting the morning prompt: {next_prompt_words(person)}{note}."
    channel = digest_channel_of(person.workspace, services.settings.default_digest_channel)
    shared = (
        f" Your loops also appear in the team digest in <#{channel}> (never those you open as "
        "private); `/loops settings` turns that off."
        if channel and person.in_digest
        else ""
    )
    return (
        f"You're in. Every workday I'll ask *what's broken right now, and for whom?* "
        f"Your first prompt comes {local_time(person.next_prompt_at, zone(where))}{note}.{shared}"
        if person.next_prompt_at
        else f"You're in.{shared}"
    )


def stop(person: Person, session: Session) -> str:
    if not person.enrolled:
        # Said before the channel sync enrolled them: it must not enrol them later.
        enrolment.unenrol(person, opted_out=True)
        return "You aren't getting the morning prompt, and won't unless you say `/loops start`."
    enrolment.unenrol(person, opted_out=True)
    skip_pending_prompts(session, person, before=None, reason=STOPPED)
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
        reason=PAUSED,
    )
    if resume_on == PAUSED_INDEFINITELY:
        return "Paused. No prompts until you say `/loops resume`."
    return (
        f"Paused. No prompts until {_day(resume_on)}; I'll say welcome back then. "
        "`/loops resume` ends the pause sooner."
    )


def resume(person: Person, session: Session, services: Services) -> str:
    if not person.enrolled:
        return "You aren't getting the morning prompt. `/loops start` starts it."
    if person.paused_until is None:
        return f"You aren't paused: {next_prompt_words(person)}."
    enrolment.resume(person, services.defaults, services.now())
    _bring_back_todays_prompt(person, session, services)
    recheck_checkins(session, person, services.now())  # those held back by the pause
    return f"Welcome back: {next_prompt_words(person)}."


def _bring_back_todays_prompt(person: Person, session: Session, services: Services) -> None:
    """A prompt withdrawn by a pause or a stop comes back if its time has not passed, or
    passed within the catch-up window: the same rule as for a prompt the clock missed."""
    revive_withdrawn_prompts(
        session, person, reasons=[PAUSED, STOPPED], since=services.now() - services.settings.loops_catch_up
    )


@dataclass(frozen=True)
class PersonalSettings:
    """The settings form: the person's prompt time, workdays, zone, reminder, wait and sharing."""

    at: time
    workdays: frozenset[int]
    tz: str | None  # None: follow Slack's zone
    nudges: bool
    wait: Wait
    in_digest: bool


def save_settings(
    person: Person, chosen: PersonalSettings, slack_tz: str | None, session: Session, services: Services
) -> None:
    """Keep the person's own settings and re-plan what is pending, at once: a prompt due later
    today comes at the new time, reminders turned off are withdrawn, check-ins are timed again.
    `slack_tz`: Slack's zone, asked before anything was written, for someone going back to it."""
    now = services.now()
    enrolment.set_schedule(
        person,
        services.defaults,
        now,
        at=chosen.at,
        workdays=chosen.workdays,
        tz=chosen.tz,
        slack_tz=slack_tz,
    )
    person.nudges, person.checkin_after, person.in_digest = chosen.nudges, chosen.wait.value, chosen.in_digest
    if not person.nudges:
        skip_pending_prompts(
            session,
            person,
            before=None,
            reason="the person turned reminders off",
            kinds=(DeliveryKind.NUDGE,),
        )
    recheck_checkins(session, person, now)


def settings_form(person: Person | None, services: Services) -> dict[str, Any]:
    """The person's settings form, filled in from what is stored (someone new sees the defaults)."""
    defaults = services.defaults
    schedule = schedule_for(person, defaults) if person is not None else None
    return settings_modal(
        prompt_time=schedule.at if schedule else defaults.prompt_time,
        workdays=schedule.workdays if schedule else defaults.workdays,
        tz=(person.tz if person is not None else None) or "UTC",
        follows_slack_tz=person.follows_slack_tz if person is not None else True,
        nudges=person.nudges if person is not None else True,
        wait=default_wait(person, services),
        in_digest=person.in_digest if person is not None else True,
    )


def default_wait(person: Person | None, services: Services) -> Wait:
    """The person's own wait before a check-in, or LOOPS_CHECKIN_AFTER."""
    if person is not None and person.checkin_after:
        try:
            return parse_wait(person.checkin_after)
        except ValueError:
            pass
    return services.settings.loops_checkin_after


def _day(day: date) -> str:
    return f"{day:%A %-d %B}"
