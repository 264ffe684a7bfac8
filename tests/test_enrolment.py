"""The enrolment rules on their own (core, no database): who is prompted, and when next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from slackbot.core import enrolment
from slackbot.core.enrolment import Defaults

DEFAULTS = Defaults(prompt_time=time(9, 30), workdays=frozenset(range(5)), catch_up=timedelta(hours=2))
FRIDAY_10_00_BERLIN = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@dataclass
class Someone:
    tz: str | None = "Europe/Berlin"
    follows_slack_tz: bool = True
    prompt_time: time | None = None
    workdays: str | None = None
    enrolled: bool = False
    enrolled_by: str | None = None
    opted_out: bool = False
    paused_until: date | None = None
    welcome_back: bool = False
    deactivated: bool = False
    blocked_reason: str | None = None
    next_prompt_at: datetime | None = None


def next_prompt(person: Someone) -> datetime | None:
    """Read after a call that changed it (a plain attribute read would stay narrowed by mypy)."""
    return person.next_prompt_at


def test_someone_new_starts_with_the_next_prompt_after_now() -> None:
    person = Someone()
    first = enrolment.enrol(person, DEFAULTS, FRIDAY_10_00_BERLIN, by="self")
    assert first == datetime(2026, 11, 30, 8, 30, tzinfo=UTC), "Friday's 09:30 has passed: Monday"
    assert (person.enrolled, person.enrolled_by) == (True, "self")


def test_someone_already_enrolled_keeps_a_prompt_that_just_came_due() -> None:
    person = Someone(enrolled=True, enrolled_by="channel")
    enrolment.enrol(person, DEFAULTS, FRIDAY_10_00_BERLIN, by="self")
    assert person.next_prompt_at == datetime(2026, 11, 27, 8, 30, tzinfo=UTC), (
        "half an hour ago, in the window"
    )
    assert person.enrolled_by == "channel", "who enrolled them first is kept"


def test_stop_opts_out_and_start_clears_it() -> None:
    person = Someone(enrolled=True)
    enrolment.unenrol(person, opted_out=True)
    assert (person.enrolled, person.opted_out, person.next_prompt_at) == (False, True, None)
    enrolment.enrol(person, DEFAULTS, FRIDAY_10_00_BERLIN, by="self")
    assert not person.opted_out


def test_resume_after_a_pause_says_welcome_back() -> None:
    person = Someone(enrolled=True)
    enrolment.pause(person, date(2026, 12, 7))
    assert (person.paused_until, person.welcome_back) == (date(2026, 12, 7), False)
    enrolment.resume(person, DEFAULTS, FRIDAY_10_00_BERLIN)
    assert (person.paused_until, person.welcome_back) == (None, True)


def test_deactivation_stops_prompts_and_reactivation_clears_a_block() -> None:
    person = Someone(enrolled=True, next_prompt_at=FRIDAY_10_00_BERLIN)
    assert enrolment.refresh_profile(person, DEFAULTS, FRIDAY_10_00_BERLIN, tz=None, deleted=True)
    assert person.next_prompt_at is None
    person.blocked_reason = "user_disabled"
    assert enrolment.refresh_profile(person, DEFAULTS, FRIDAY_10_00_BERLIN, tz=None, deleted=False)
    assert vars(person)["blocked_reason"] is None
    assert next_prompt(person) is not None
    assert not enrolment.refresh_profile(
        person, DEFAULTS, FRIDAY_10_00_BERLIN, tz="Europe/Berlin", deleted=False
    )


def test_a_persons_own_time_and_workdays_win_over_the_defaults() -> None:
    person = Someone(enrolled=True)
    enrolment.set_schedule(person, DEFAULTS, FRIDAY_10_00_BERLIN, at=time(11, 0), workdays=frozenset({0, 4}))
    assert person.workdays == "mon,fri"
    assert person.next_prompt_at == datetime(2026, 11, 27, 10, 0, tzinfo=UTC), "11:00 Berlin today, a Friday"
    schedule = enrolment.schedule_for(person, DEFAULTS)
    assert schedule.next_after(datetime(2026, 11, 27, 10, 0, tzinfo=UTC)) == datetime(
        2026, 11, 30, 10, 0, tzinfo=UTC
    )


def test_a_zone_the_person_set_is_kept_whatever_slack_says() -> None:
    person = Someone(enrolled=True)
    enrolment.set_schedule(
        person, DEFAULTS, FRIDAY_10_00_BERLIN, at=time(9, 30), workdays=frozenset(range(5)), tz="Asia/Tokyo"
    )
    assert not enrolment.refresh_profile(
        person, DEFAULTS, FRIDAY_10_00_BERLIN, tz="Europe/Paris", deleted=False
    )
    assert person.tz == "Asia/Tokyo"
    enrolment.set_schedule(
        person,
        DEFAULTS,
        FRIDAY_10_00_BERLIN,
        at=time(9, 30),
        workdays=frozenset(range(5)),
        slack_tz="Europe/Paris",
    )
    assert (person.tz, person.follows_slack_tz) == ("Europe/Paris", True)
    assert enrolment.refresh_profile(person, DEFAULTS, FRIDAY_10_00_BERLIN, tz="Europe/Rome", deleted=False)
    assert person.tz == "Europe/Rome"
