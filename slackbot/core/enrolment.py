"""Who gets the morning prompt, and when next: the rules for start, stop, pause, resume and moves.

These functions change a person's fields and nothing else (no session, no Slack), so
the same rules serve `/loops`, the Home tab, the channel sync and profile changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol

from slackbot.core.schedule import PromptSchedule, format_workdays, parse_workdays, zone


class Schedulable(Protocol):
    tz: str | None
    follows_slack_tz: bool
    prompt_time: time | None
    workdays: str | None
    enrolled: bool
    enrolled_by: str | None
    opted_out: bool
    paused_until: date | None
    welcome_back: bool
    deactivated: bool
    blocked_reason: str | None
    next_prompt_at: datetime | None


@dataclass(frozen=True)
class Defaults:
    """The workspace's defaults from settings (LOOPS_PROMPT_TIME, LOOPS_WORKDAYS, LOOPS_CATCH_UP)."""

    prompt_time: time
    workdays: frozenset[int]
    catch_up: timedelta = timedelta(hours=2)


def schedule_for(person: Schedulable, defaults: Defaults) -> PromptSchedule:
    workdays = parse_workdays(person.workdays) if person.workdays else defaults.workdays
    return PromptSchedule(zone(person.tz), person.prompt_time or defaults.prompt_time, workdays)


def reschedule(
    person: Schedulable, defaults: Defaults, now: datetime, *, fresh: bool = False
) -> datetime | None:
    """Point `next_prompt_at` at the next prompt to plan (None when nobody should be asked).

    For someone already being prompted, that is the first one after `now - catch_up`: a
    prompt that came due moments ago and was not planned yet (the tick runs every 30 s,
    or the clock was down) must not be skipped by a schedule change. Planning sends it if
    it is still inside the catch-up window, and never twice for a local date (deliveries
    are keyed by it). Someone new (`fresh`) starts from the next prompt after now.
    """
    if not person.enrolled or person.deactivated or person.blocked_reason:
        person.next_prompt_at = None
    else:
        since = now if fresh else now - defaults.catch_up
        person.next_prompt_at = schedule_for(person, defaults).next_after(since)
    return person.next_prompt_at


def enrol(person: Schedulable, defaults: Defaults, now: datetime, *, by: str) -> datetime | None:
    """Start prompting; asking again is harmless and clears an earlier failure to reach them."""
    fresh = not person.enrolled
    if fresh:
        person.enrolled_by = by
    person.enrolled = True
    person.opted_out = False
    person.blocked_reason = None
    return reschedule(person, defaults, now, fresh=fresh)


def unenrol(person: Schedulable, *, opted_out: bool) -> None:
    """Stop prompting; `opted_out` (the person asked) keeps the channel sync from re-enrolling."""
    person.enrolled = False
    person.enrolled_by = None
    person.opted_out = person.opted_out or opted_out
    person.next_prompt_at = None


def pause(person: Schedulable, resume_on: date) -> None:
    """No prompts on local dates before `resume_on`; planning ends the pause when it arrives."""
    person.paused_until = resume_on
    person.welcome_back = False


def resume(person: Schedulable, defaults: Defaults, now: datetime) -> datetime | None:
    if person.paused_until is not None:
        person.paused_until = None
        person.welcome_back = True
    return reschedule(person, defaults, now)


def refresh_profile(
    person: Schedulable, defaults: Defaults, now: datetime, *, tz: str | None, deleted: bool
) -> bool:
    """Take a new time zone or (de)activation from Slack; True when the schedule moved.

    A zone the person set themselves (`/loops settings`) is kept whatever Slack says.

    A prompt already sent for a local date is never sent again for that date (deliveries
    are keyed by it), so a move across the date line cannot double a day's prompt.
    """
    changed = False
    if tz and tz != person.tz and person.follows_slack_tz:
        person.tz = tz
        changed = True
    if deleted != person.deactivated:
        person.deactivated = deleted
        if not deleted:
            person.blocked_reason = None  # back from deactivation: try them again
        changed = True
    if changed:
        reschedule(person, defaults, now)
    return changed


def set_schedule(
    person: Schedulable,
    defaults: Defaults,
    now: datetime,
    *,
    at: time,
    workdays: frozenset[int],
    tz: str | None = None,
    slack_tz: str | None = None,
) -> None:
    """A person's own prompt time, workdays and zone (`tz`; None: follow Slack's, `slack_tz`).

    Rescheduling starts from `now - catch_up`, as for any change: a prompt moved to a time
    that passed moments ago still comes today, and a local date keeps at most one prompt.
    """
    person.prompt_time = at
    person.workdays = format_workdays(workdays)
    if tz is not None:
        person.tz, person.follows_slack_tz = tz, False
    else:
        person.follows_slack_tz = True
        if slack_tz:
            person.tz = slack_tz
    reschedule(person, defaults, now)
