"""Schedule maths as properties: any zone, time and workdays; DST days; moving across the world."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slackbot.core.schedule import Decision, PromptSchedule, nudge_due, plan_prompts

ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))

zones = st.sampled_from(ZONES).map(ZoneInfo)
clock_times = st.times().map(lambda t: t.replace(second=0, microsecond=0))
workday_sets = st.frozensets(st.integers(0, 6), min_size=1)
instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)


def local_reading(schedule: PromptSchedule, due: datetime) -> tuple[date, time]:
    local = due.astimezone(schedule.tz)
    return local.date(), local.time()


@settings(max_examples=400)
@given(zones, clock_times, workday_sets, instants)
def test_next_prompt_is_the_first_workday_at_that_local_time(
    tz: ZoneInfo, at: time, workdays: frozenset[int], after: datetime
) -> None:
    schedule = PromptSchedule(tz, at, workdays)
    due = schedule.next_after(after)
    assert due > after
    day, reading = local_reading(schedule, due)
    assert day.weekday() in workdays
    if reading != at:
        # Only when `at` does not exist that day (a DST gap): the prompt comes just after the jump.
        naive = datetime.combine(day, at)
        assert naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive
    # No workday between `after` and `due` had its prompt skipped.
    first = schedule.local_date(after)
    for offset in range((day - first).days):
        earlier = first + timedelta(days=offset)
        if earlier.weekday() in workdays:
            assert schedule.on(earlier) <= after


@settings(max_examples=200)
@given(zones, clock_times, workday_sets, instants)
def test_successive_prompts_fall_on_successive_local_dates(
    tz: ZoneInfo, at: time, workdays: frozenset[int], after: datetime
) -> None:
    schedule = PromptSchedule(tz, at, workdays)
    dates = [schedule.local_date(due) for due in schedule.between(after, after + timedelta(days=21))]
    assert dates == sorted(set(dates)), "never two prompts on one local date"
    expected = [
        d
        for d in (schedule.local_date(after) + timedelta(days=n) for n in range(23))
        if d.weekday() in workdays and after < schedule.on(d) <= after + timedelta(days=21)
    ]
    assert dates == expected, "never a workday without its prompt"


def ticks_every(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    out, moment = [], start
    while moment <= end:
        out.append(moment)
        moment += step
    return out


def simulate(schedule: PromptSchedule, start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    """A clock that plans on every tick, as the clock process does."""
    next_due = schedule.next_after(start)
    sent: list[datetime] = []
    for now in ticks_every(start, end, step):
        plan = plan_prompts(schedule, next_due, now, catch_up=timedelta(hours=2), paused_until=None)
        sent += [o.due for o in plan.occurrences if o.decision is Decision.SEND]
        next_due = plan.next_due
    return sent


@pytest.mark.parametrize(
    ("zone", "change"),
    [
        ("America/New_York", date(2026, 3, 8)),
        ("America/New_York", date(2026, 11, 1)),
        ("Europe/Berlin", date(2026, 3, 29)),
        ("Europe/Berlin", date(2026, 10, 25)),
        ("Australia/Sydney", date(2026, 4, 5)),
        ("Australia/Sydney", date(2026, 10, 4)),
    ],
)
@pytest.mark.parametrize("at", [time(9, 30), time(2, 30), time(1, 30), time(0, 0)])
def test_dst_days_neither_skip_nor_double(zone: str, change: date, at: time) -> None:
    every_day = frozenset(range(7))
    schedule = PromptSchedule(ZoneInfo(zone), at, every_day)
    # Ticks every 5 minutes from local noon two days before the change to local noon three days after.
    start = datetime.combine(change - timedelta(days=2), time(12), tzinfo=ZoneInfo(zone)).astimezone(UTC)
    end = datetime.combine(change + timedelta(days=3), time(12), tzinfo=ZoneInfo(zone)).astimezone(UTC)
    sent = simulate(schedule, start, end, timedelta(minutes=5))
    days = [schedule.local_date(due) for due in sent]
    assert days == [change + timedelta(days=n) for n in range(-1, 4)], days


@given(instants, st.integers(min_value=0, max_value=48 * 60), st.integers(min_value=0, max_value=60 * 24 * 3))
def test_within_catch_up_sent_beyond_it_missed(
    after: datetime, catch_up_minutes: int, late_minutes: int
) -> None:
    schedule = PromptSchedule(ZoneInfo("Europe/Berlin"), time(9, 30), frozenset(range(7)))
    due = schedule.next_after(after)
    now = due + timedelta(minutes=late_minutes)
    plan = plan_prompts(schedule, due, now, catch_up=timedelta(minutes=catch_up_minutes), paused_until=None)
    for occurrence in plan.occurrences:
        late = now - occurrence.due
        assert occurrence.decision is (
            Decision.SEND if late <= timedelta(minutes=catch_up_minutes) else Decision.MISSED
        )
    assert plan.next_due > now
    assert len({o.local_date for o in plan.occurrences}) == len(plan.occurrences)


def test_a_pause_skips_its_days_and_ends_with_welcome_back() -> None:
    schedule = PromptSchedule(ZoneInfo("UTC"), time(9, 30), frozenset(range(7)))
    start = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    plan = plan_prompts(
        schedule,
        start,
        start + timedelta(days=3, minutes=1),
        catch_up=timedelta(days=5),
        paused_until=date(2026, 12, 3),
    )
    assert [(o.local_date.day, o.decision) for o in plan.occurrences] == [
        (1, Decision.PAUSED),
        (2, Decision.PAUSED),
        (3, Decision.SEND),
        (4, Decision.SEND),
    ]
    assert plan.pause_ended


def test_nudges_never_come_after_the_working_day() -> None:
    schedule = PromptSchedule(ZoneInfo("Asia/Kolkata"), time(9, 30), frozenset(range(5)))
    due = schedule.on(date(2026, 12, 1))
    assert nudge_due(due, schedule, after=timedelta(hours=3), day_end=time(18)) == due + timedelta(hours=3)
    assert nudge_due(due, schedule, after=timedelta(hours=9), day_end=time(18)) is None
    assert nudge_due(due, schedule, after=timedelta(0), day_end=time(18)) is None
    late = PromptSchedule(ZoneInfo("Asia/Kolkata"), time(17, 0), frozenset(range(5)))
    assert nudge_due(late.on(date(2026, 12, 1)), late, after=timedelta(hours=3), day_end=time(18)) is None
