"""Check-in timing and `/shipped` text as properties: waits, workdays, zones, pauses, escaping."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from slackbot.core.parse import escape, parse_shipped
from slackbot.core.schedule import PromptSchedule
from slackbot.core.shipments import (
    LONGEST_WAIT_DAYS,
    Wait,
    add_workdays,
    checkin_date,
    checkin_moment,
    first_workday_from,
    parse_wait,
)

# Zones whose clocks jump: half-hour DST (Lord Howe), a skipped date (Apia, 2011-12-30), none (Kolkata).
NAMED_ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Apia",
)
ALL_ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))

zones = st.one_of(st.sampled_from(NAMED_ZONES), st.sampled_from(ALL_ZONES)).map(ZoneInfo)
workday_sets = st.frozensets(st.integers(0, 6), min_size=1)
days = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))
waits = st.one_of(
    st.integers(1, LONGEST_WAIT_DAYS).map(lambda n: Wait(workdays=n)),
    st.integers(1, LONGEST_WAIT_DAYS // 7).map(lambda n: Wait(weeks=n)),
)


def in_range(wait: Wait) -> bool:
    return (1 <= wait.workdays <= LONGEST_WAIT_DAYS and wait.weeks == 0) or (
        wait.workdays == 0 and 1 <= wait.weeks * 7 <= LONGEST_WAIT_DAYS
    )


# Waits: `2 workdays`, `2`, `3 wd`, `1 week`, `2w`, and the modal's `workdays:2` / `weeks:2`.


@pytest.mark.parametrize(
    ("text", "wait"),
    [
        ("2 workdays", Wait(workdays=2)),
        ("1 workday", Wait(workdays=1)),
        ("2", Wait(workdays=2)),
        ("3 wd", Wait(workdays=3)),
        ("1 week", Wait(weeks=1)),
        ("2 weeks", Wait(weeks=2)),
        ("2w", Wait(weeks=2)),
        ("workdays:2", Wait(workdays=2)),
        ("weeks:2", Wait(weeks=2)),
        ("  2 Weeks ", Wait(weeks=2)),
        ("366", Wait(workdays=366)),
        ("52 weeks", Wait(weeks=52)),
    ],
)
def test_wait_examples(text: str, wait: Wait) -> None:
    assert parse_wait(text) == wait


@pytest.mark.parametrize(
    "text",
    ["2 days", "0", "x", "", "367", "53 weeks", "workdays:0", "weeks:53", "-1", "1.5", "2 workdays 3"],
)
def test_not_a_wait(text: str) -> None:
    with pytest.raises(ValueError, match="wait"):
        parse_wait(text)


@given(waits, st.booleans())
def test_a_wait_reads_back_from_its_value_and_its_label(wait: Wait, shout: bool) -> None:
    """The modal stores `value` and shows `label`; either must give the same wait back."""
    assert parse_wait(wait.value) == wait
    assert parse_wait(wait.label) == wait
    label = wait.label.upper() if shout else f"  {wait.label}\t"
    assert parse_wait(label) == wait


@given(st.integers(0, 999), st.sampled_from(["", " workdays", "wd", " weeks", "w"]))
def test_a_wait_is_accepted_exactly_within_a_year(n: int, unit: str) -> None:
    """Longer than LONGEST_WAIT_DAYS, or zero, is refused; everything between is read as typed."""
    weeks = unit.strip().startswith("we") or unit == "w"
    length = n * 7 if weeks else n
    if 1 <= length <= LONGEST_WAIT_DAYS:
        assert parse_wait(f"{n}{unit}") == (Wait(weeks=n) if weeks else Wait(workdays=n))
    else:
        with pytest.raises(ValueError, match="wait"):
            parse_wait(f"{n}{unit}")


@settings(max_examples=200)
@given(st.one_of(st.text(), st.text(alphabet="0123456789 :wdeksoryaW\t")))
def test_any_text_is_a_wait_in_range_or_a_value_error(text: str) -> None:
    """Settings and modal submissions are user input: a bad one must be a ValueError, never a crash."""
    try:
        wait = parse_wait(text)
    except ValueError:
        return
    assert in_range(wait)


# Workdays: counted strictly after the day, in the person's own workdays.


def workdays_between(after: date, until: date, workdays: frozenset[int]) -> int:
    """Workdays in (after, until], counted one by one."""
    return sum((after + timedelta(days=n)).weekday() in workdays for n in range(1, (until - after).days + 1))


@given(days, st.integers(1, 400), workday_sets)
def test_add_workdays_lands_on_the_count_th_workday_after(
    day: date, count: int, workdays: frozenset[int]
) -> None:
    result = add_workdays(day, count, workdays)
    assert result > day
    assert result.weekday() in workdays
    assert workdays_between(day, result, workdays) == count


@given(days, st.integers(0, 400))
def test_with_every_day_a_workday_workdays_are_days(day: date, count: int) -> None:
    assert add_workdays(day, count, frozenset(range(7))) == day + timedelta(days=count)


def test_a_saturday_ship_plus_one_workday_is_monday() -> None:
    assert add_workdays(date(2026, 12, 5), 1, frozenset(range(5))) == date(2026, 12, 7)
    with pytest.raises(ValueError, match="workday"):
        add_workdays(date(2026, 12, 5), 1, frozenset())


@given(days, waits, workday_sets)
def test_checkin_date_follows_the_wait(start: date, wait: Wait, workdays: frozenset[int]) -> None:
    """Workday waits count workdays; week waits go to the first workday on or after the weeks."""
    asked = checkin_date(start, wait, workdays)
    assert asked.weekday() in workdays
    if wait.workdays:
        assert asked == add_workdays(start, wait.workdays, workdays)
    else:
        landing = start + timedelta(days=7 * wait.weeks)
        assert asked >= landing
        assert workdays_between(landing - timedelta(days=1), asked, workdays) == 1


# When a check-in goes out: on a workday in the person's zone, between prompt time and day end.


@st.composite
def schedules_and_day_ends(draw: st.DrawFn) -> tuple[PromptSchedule, time]:
    # Prompt times just after midnight put the moment before them on the previous local date.
    at = draw(st.one_of(st.times(), st.times(max_value=time(1))))
    day_end = draw(st.times(min_value=at))
    return PromptSchedule(draw(zones), at, draw(workday_sets)), day_end


@st.composite
def moments_near(draw: st.DrawFn, anchor: datetime) -> datetime:
    """Any instant, or (more often) one within days of `anchor`, where the edges are."""
    near = anchor + timedelta(seconds=draw(st.integers(-3 * 86400, 10 * 86400)))
    just_before = anchor - timedelta(seconds=draw(st.integers(1, 3 * 3600)))
    anywhere = draw(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)))
    return draw(st.sampled_from([near, near, just_before, anywhere.replace(tzinfo=UTC)]))


def in_working_day(schedule: PromptSchedule, instant: datetime, day_end: time) -> bool:
    local = instant.astimezone(schedule.tz)
    return local.weekday() in schedule.workdays and schedule.at <= local.time() <= day_end


@settings(max_examples=200)
@given(schedules_and_day_ends(), days, st.data())
@example(
    (PromptSchedule(ZoneInfo("America/New_York"), time(2, 30), frozenset({6})), time(2, 45)),
    date(2026, 3, 8),
    None,
).via("a prompt inside the spring-forward gap, a day that ends before the jump lands")
@example(
    (PromptSchedule(ZoneInfo("Pacific/Apia"), time(9), frozenset({4})), time(17)),
    date(2011, 12, 30),
    None,
).via("a due date Samoa skipped")
def test_a_checkin_goes_out_only_in_the_working_day_and_otherwise_waits_for_later(
    schedule_and_end: tuple[PromptSchedule, time], due_on: date, data: st.DataObject | None
) -> None:
    schedule, day_end = schedule_and_end
    nows = [schedule.on(due_on) - timedelta(minutes=1), schedule.on(due_on)]
    if data is not None:
        nows = [data.draw(moments_near(schedule.on(due_on)))]
    for now in nows:
        moment = checkin_moment(due_on, schedule, now, day_end=day_end, paused_until=None)
        if now < schedule.on(due_on):
            assert not moment.send_now and moment.at == schedule.on(due_on), "never early, never late"
        elif moment.send_now:
            assert in_working_day(schedule, now, day_end)
        else:
            assert moment.at > now, "a postponed check-in must wait for a later instant, not loop"


@settings(max_examples=200)
@given(schedules_and_day_ends(), days, st.integers(1, 400), st.data())
def test_a_paused_person_is_asked_on_their_first_workday_back(
    schedule_and_end: tuple[PromptSchedule, time], due_on: date, paused_days: int, data: st.DataObject
) -> None:
    schedule, day_end = schedule_and_end
    paused_until = due_on + timedelta(days=paused_days)
    back = schedule.on(first_workday_from(paused_until, schedule.workdays))
    now = data.draw(st.one_of(moments_near(back), moments_near(schedule.on(due_on))))
    moment = checkin_moment(due_on, schedule, now, day_end=day_end, paused_until=paused_until)
    if moment.send_now:
        assert now >= back
        assert in_working_day(schedule, now, day_end)
    else:
        assert moment.at > now
    if now < back:
        assert not moment.send_now and moment.at == back, "look again when they are back, not later"


def test_paused_until_resumed_looks_again_tomorrow() -> None:
    schedule = PromptSchedule(ZoneInfo("Europe/Berlin"), time(9, 30), frozenset(range(5)))
    now = datetime(2026, 12, 8, 12, tzinfo=UTC)
    moment = checkin_moment(date(2026, 12, 1), schedule, now, day_end=time(18), paused_until=date.max)
    assert not moment.send_now and moment.at == now + timedelta(days=1)


@settings(max_examples=200)
@given(schedules_and_day_ends(), days, st.data())
@example(
    (PromptSchedule(ZoneInfo("Australia/Lord_Howe"), time(2), frozenset({6})), time(2, 15)),
    date(2026, 10, 4),
    None,
).via("Lord Howe's half-hour jump swallows the whole working day")
def test_waiting_until_the_moment_always_ends_in_a_send(
    schedule_and_end: tuple[PromptSchedule, time], due_on: date, data: st.DataObject | None
) -> None:
    """Never postponed forever, never skipped: following `at` reaches a send within days."""
    schedule, day_end = schedule_and_end
    due = schedule.on(due_on)
    now = due - timedelta(hours=1) if data is None else data.draw(moments_near(due))
    start = max(now, due)
    # A day whose prompt time is pushed past day end by a DST jump may be lost; never two in a row.
    latest = schedule.next_after(schedule.next_after(start))
    for _ in range(20):
        moment = checkin_moment(due_on, schedule, now, day_end=day_end, paused_until=None)
        if moment.send_now:
            break
        assert moment.at > now
        now = moment.at
    else:
        pytest.fail(f"still not sent after 20 looks, at {now.isoformat()}")
    assert due <= now <= latest


# `/shipped #12 what expect: change`.

# The label as the help describes it: the test's own pattern, not the parser's.
LABEL = re.compile(r"(?i)\bexpect(?:ed|ing)?\s*:")
plain_words = (
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ", min_size=1)
    .filter(lambda s: bool(s.strip()))
    .filter(lambda s: "expect" not in s.lower())
)
loop_numbers = st.integers(min_value=1, max_value=999_999_999)


@st.composite
def labels(draw: st.DrawFn) -> str:
    word = draw(st.sampled_from(["expect", "expected", "expecting"]))
    cased = "".join(c.upper() if draw(st.booleans()) else c for c in word)
    return cased + draw(st.sampled_from([":", " :", ":  "]))


@given(loop_numbers, plain_words, labels(), plain_words)
def test_shipped_reads_back_number_what_and_expected(n: int, what: str, label: str, expected: str) -> None:
    parsed = parse_shipped(f"#{n} {what} {label} {expected}")
    assert (parsed.loop_number, parsed.what, parsed.expected) == (n, what.strip(), expected.strip())
    assert parsed.quick


@given(plain_words, labels(), plain_words)
def test_without_a_number_the_modal_opens(what: str, label: str, expected: str) -> None:
    parsed = parse_shipped(f"{what} {label} {expected}")
    assert (parsed.loop_number, parsed.what, parsed.expected) == (None, what.strip(), expected.strip())
    assert not parsed.quick


@given(loop_numbers, plain_words)
def test_without_an_expectation_the_modal_opens(n: int, what: str) -> None:
    parsed = parse_shipped(f"  #{n}  {what}")
    assert (parsed.loop_number, parsed.what, parsed.expected) == (n, what.strip(), None)
    assert not parsed.quick


@pytest.mark.parametrize(
    ("text", "number", "what", "expected"),
    [
        ("#12 Retry on 504 expect: fewer timeouts", 12, "Retry on 504", "fewer timeouts"),
        ("#12 Retry on 504 — Expected: fewer timeouts", 12, "Retry on 504", "fewer timeouts"),
        ("#12", 12, "", None),
        ("#12abc fix", None, "#12abc fix", None),
        ("#1234567890 fix", None, "#1234567890 fix", None),
        ("fix # 12", None, "fix # 12", None),
        ("#3 &lt;b&gt; expect: x", 3, "<b>", "x"),
        ("#3 R&amp;D &amp;lt;b expect: &gt; 1", 3, "R&D &lt;b", "> 1"),
        ("#3 fix; expect: x", 3, "fix", "x"),
        ("unexpected: nothing", None, "unexpected: nothing", None),
        ("", None, "", None),
    ],
)
def test_shipped_examples(text: str, number: int | None, what: str, expected: str | None) -> None:
    parsed = parse_shipped(text)
    assert (parsed.loop_number, parsed.what, parsed.expected) == (number, what, expected)


@given(loop_numbers, plain_words, plain_words)
def test_shipped_stores_what_was_typed_not_slacks_escaping(n: int, what: str, expected: str) -> None:
    """Slack sends `&lt;b&gt;` for a typed `<b>`; a typed `&amp;` must survive as `&amp;`."""
    typed = f"#{n} {what} <b>&amp;x expect: {expected} > 1 & <2>"
    parsed = parse_shipped(escape(typed))
    assert parsed.loop_number == n
    assert parsed.what == f"{what} <b>&amp;x".strip()
    assert parsed.expected == f"{expected} > 1 & <2>".strip()


@settings(max_examples=200)
@given(st.one_of(st.text(), st.text(alphabet="#12 expectdEXPCT:&;ltgamp<>-—\n")))
def test_shipped_never_crashes_and_what_holds_no_label(text: str) -> None:
    parsed = parse_shipped(text)
    assert LABEL.search(parsed.what) is None, "the first `expect:` ends what shipped"
    assert parsed.what == parsed.what.strip()
    assert parsed.expected is None or (parsed.expected and parsed.expected == parsed.expected.strip())
    assert parsed.quick == (parsed.loop_number is not None and bool(parsed.what) and bool(parsed.expected))
