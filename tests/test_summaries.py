"""`/loops` rendered ahead by the clock: answered in the ack, and never older than what it shows.

Every question goes over HTTP to the real app; whether the answer came in the ack (kept) or
through the response_url after it (built) is read from the wire.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, text

from slackbot.core.loops import age_in_days
from slackbot.fakeslack import FakeSlack
from slackbot.outbox.summary import holds_until, render_due_summaries, summary_answer
from slackbot.store.history import OpenLoop, Summary
from slackbot.store.models import Loop, Person, PersonSummary, Workspace
from slackbot.store.summaries import due_summaries, keep_summary
from tests.support.bot import Bot, BotFactory
from tests.test_history import text_of
from tests.test_leaving import installed_with_oauth, uninstall
from tests.test_prompt import FRIDAY
from tests.test_shipped import MONDAY, at, ship_quick, with_loop


@pytest.fixture
def team(make_bot: BotFactory) -> Bot:
    bot = make_bot()
    bot.services.clock = lambda: FRIDAY
    return bot


def ask(team: Bot, user: str) -> tuple[dict[str, Any], bool]:
    """`/loops` as the person sees it, and whether it came in the ack (a kept summary)."""
    reply = team.sender.command(user, "/loops", "")
    assert reply.status == 200, reply.text
    team.settle()
    if reply.text:
        body: dict[str, Any] = reply.json()
        assert not team.fake.response_url_posts(reply.extra["response_url"]), "answered once"
        return body, True
    (posted,) = team.fake.response_url_posts(reply.extra["response_url"])
    return posted, False


def built_now(team: Bot, user: str, now: datetime) -> dict[str, Any]:
    with team.database.session() as session:
        person = session.get(Person, team.person(user).id)
        assert person is not None
        return summary_answer(session, person, now)


def test_the_clock_renders_the_summary_and_loops_answers_it_in_the_ack(team: Bot) -> None:
    ana, _ = with_loop(team)
    ship_quick(team, ana)
    later = MONDAY + timedelta(minutes=10)
    report = team.tick(later)
    assert report.summaries >= 1
    at(team, later + timedelta(minutes=1))
    body, kept = ask(team, ana)
    assert kept, "a summary the clock rendered is answered in the ack"
    assert body["response_type"] == "ephemeral"
    assert text_of(body) == text_of(built_now(team, ana, later + timedelta(minutes=1))), "as built now"
    assert "shipped · check-in on Wed 2 Dec" in text_of(body)


def test_a_change_after_the_render_is_shown_at_once(team: Bot) -> None:
    ana, _ = with_loop(team)
    team.tick(FRIDAY)  # renders ana's summary: one loop, broken
    at(team, FRIDAY)
    before, kept = ask(team, ana)
    assert kept and "broken" in text_of(before) and "shipped" not in text_of(before)
    ship_quick(team, ana)  # no tick since: the kept summary no longer holds
    after, kept = ask(team, ana)
    assert not kept, "built after the ack, from what is stored now"
    assert "shipped · check-in on Wed 2 Dec" in text_of(after)
    team.tick(MONDAY + timedelta(minutes=1))
    again, kept = ask(team, ana)
    assert kept and text_of(again) == text_of(after)


def test_a_kept_summary_ends_when_a_shown_loops_age_moves_on(team: Bot) -> None:
    ana, loop = with_loop(team)
    rendered_at = loop.opened_at + timedelta(hours=1)
    team.tick(rendered_at)
    at(team, rendered_at)
    first, kept = ask(team, ana)
    assert kept and "opened today" in text_of(first)
    at(team, loop.opened_at + timedelta(days=1, seconds=1))
    aged, kept = ask(team, ana)
    assert not kept, "a day after it opened, the kept 'opened today' no longer holds"
    assert "opened today" not in text_of(aged) and "1 day" in text_of(aged)


def test_a_summary_rendered_before_a_change_is_not_kept(team: Bot) -> None:
    """The version is read before the rows: a change committed in between wins."""
    ana, loop = with_loop(team)
    person_id = team.person(ana).id
    with team.database.session() as session:
        due = {person.id: version for person, version in due_summaries(session, FRIDAY, 100)}
    assert person_id in due, "the loop was opened after the tick that rendered"
    with team.database.transaction() as session:
        changed = session.get(Loop, loop.id)
        assert changed is not None
        changed.next_step = "ask the SMS provider"  # what the summary shows beside it
    with team.database.transaction() as session:
        stale = {"text": "stale"}
        assert not keep_summary(session, person_id, due[person_id], None, stale, FRIDAY + timedelta(1))
    with team.database.session() as session:
        kept = session.get(PersonSummary, person_id)
        assert kept is not None and kept.rendered_version != kept.version and kept.body is None
    assert render_due_summaries(team.database, FRIDAY, 100) >= 1
    with team.database.session() as session:
        kept = session.get(PersonSummary, person_id)
        assert kept is not None and kept.rendered_version == kept.version
        assert kept.body is not None and "next: ask the SMS provider" in kept.body


def test_a_kept_summary_is_read_only_in_the_zone_it_was_rendered_in(team: Bot) -> None:
    ana, _ = with_loop(team)
    ship_quick(team, ana)
    team.tick(MONDAY + timedelta(minutes=10))
    at(team, MONDAY + timedelta(minutes=11))
    _, kept = ask(team, ana)
    assert kept
    with team.database.transaction() as session:
        person = session.get(Person, team.person(ana).id)
        assert person is not None
        person.tz = "Pacific/Kiritimati"  # as the daily zone resync would store it
    moved, kept = ask(team, ana)
    assert not kept, "built again in the new zone"
    assert text_of(moved) == text_of(built_now(team, ana, MONDAY + timedelta(minutes=11)))
    team.tick(MONDAY + timedelta(minutes=12))
    _, kept = ask(team, ana)
    assert kept, "rendered again in the new zone"


def test_each_person_is_answered_their_own_kept_summary(team: Bot) -> None:
    ana, _ = with_loop(team, "ana")
    ben, _ = with_loop(team, "ben")
    ship_quick(team, ana)
    team.tick(MONDAY + timedelta(minutes=10))
    at(team, MONDAY + timedelta(minutes=11))
    anas, kept = ask(team, ana)
    assert kept and "shipped · check-in on Wed 2 Dec" in text_of(anas)
    bens, kept = ask(team, ben)
    assert kept and "shipped" not in text_of(bens) and "broken" in text_of(bens)


def test_the_ack_of_a_kept_summary_is_the_one_bolt_would_send(team: Bot) -> None:
    """The web gate answers a kept summary before Bolt: the same JSON, keys and content type
    that Bolt's `ack(response_type="ephemeral", text=..., blocks=...)` sends."""
    ana, _ = with_loop(team)
    team.tick(FRIDAY)
    at(team, FRIDAY)
    reply = team.sender.command(ana, "/loops", "  ")  # blanks are still the plain summary
    assert reply.status == 200 and reply.headers["content-type"] == "application/json;charset=utf-8"
    body = reply.json()
    assert set(body) == {"response_type", "text", "blocks"} and body["response_type"] == "ephemeral"
    assert text_of(body) == text_of(built_now(team, ana, FRIDAY))
    team.settle()
    assert not team.fake.response_url_posts(reply.extra["response_url"]), "answered once, in the ack"


def test_an_uninstalled_workspace_is_not_answered_from_its_kept_summary(team: Bot) -> None:
    """Slack sends a person's command only to an installed app: the first one after an
    uninstall goes the way that marks the install back, and is built from what is stored."""
    ana, _ = with_loop(team)
    team.tick(FRIDAY)
    at(team, FRIDAY)
    _, kept = ask(team, ana)
    assert kept
    uninstall(team)
    with team.database.session() as session:
        assert session.scalars(select(Workspace)).one().uninstalled_at is not None
    after, kept = ask(team, ana)
    assert not kept and "OTP SMS arrive late" in text_of(after)
    with team.database.session() as session:
        assert session.scalars(select(Workspace)).one().uninstalled_at is None, "installed again"
    _, kept = ask(team, ana)
    assert kept, "its summary holds again"


def test_with_oauth_an_uninstalled_workspace_gets_bolts_refusal_not_its_kept_summary(
    make_bot: BotFactory, fake: FakeSlack
) -> None:
    team = installed_with_oauth(make_bot, fake)
    ana, _ = with_loop(team, "ana")
    team.tick(FRIDAY)
    at(team, FRIDAY)
    _, kept = ask(team, ana)
    assert kept
    uninstall(team)
    reply = team.sender.command(ana, "/loops", "")
    assert (reply.status, reply.text) == (200, ""), "nothing of the kept summary in the ack"
    team.settle()
    (said,) = team.fake.response_url_posts(reply.extra["response_url"])
    assert "isn't installed in this workspace" in said["text"] and "OTP SMS" not in json.dumps(said)


ZONES = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"])
MOMENTS = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))


@given(
    now=MOMENTS,
    zone=ZONES,
    ages=st.lists(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)), max_size=5),
)
def test_a_summary_holds_until_the_first_moment_it_would_read_differently(
    now: datetime, zone: str, ages: list[timedelta]
) -> None:
    tz = ZoneInfo(zone)
    opened = [now - age for age in ages]
    summary = Summary(open=[OpenLoop(Loop(number=n, opened_at=at)) for n, at in enumerate(opened, 1)])
    until = holds_until(summary, tz, now)
    assert until > now
    just_before = until - timedelta(microseconds=1)
    assert just_before.astimezone(tz).date() == now.astimezone(tz).date()
    assert just_before.date() == now.date()
    assert all(age_in_days(at, just_before) == age_in_days(at, now) for at in opened)
    # ...and at `until` itself something it shows has moved on.
    assert (
        until.astimezone(tz).date() != now.astimezone(tz).date()
        or until.date() != now.date()
        or any(age_in_days(at, until) != age_in_days(at, now) for at in opened)
    )


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_kept_read_on_a_dropped_connection_is_built_instead_and_the_next_is_kept(team: Bot) -> None:
    """The ack's read has no pre-ping: a connection the server dropped fails once, is thrown
    away, and that answer is built after the ack."""
    ana, _ = with_loop(team)
    team.tick(FRIDAY)
    at(team, FRIDAY)
    first, kept = ask(team, ana)
    assert kept  # the quick reads' pool holds a connection now
    with team.database.engine.connect() as connection:
        dropped = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
    assert dropped
    built, kept = ask(team, ana)
    assert not kept and text_of(built) == text_of(first)
    again, kept = ask(team, ana)
    assert kept and text_of(again) == text_of(first)
