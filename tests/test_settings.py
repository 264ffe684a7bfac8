"""`/loops settings`: a person's own schedule, saved and re-planned at once, with inline errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time

import pytest

from tests.support.bot import Bot, BotFactory
from tests.support.story import FRIDAY, at, enrol, ship_quick, shipments, with_loop


@pytest.fixture
def team(make_bot: BotFactory) -> Bot:
    bot = make_bot()
    bot.services.clock = lambda: FRIDAY
    return bot


def open_settings(team: Bot, user: str) -> str:
    team.command(user, "/loops settings")
    (modal,) = team.fake.views_of(user)
    assert modal.payload["callback_id"] == "settings"
    return modal.id


def test_the_form_shows_what_is_set_now(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    blocks = json.dumps(team.fake.view(open_settings(team, ana)).payload["blocks"])
    assert '"initial_time": "09:30"' in blocks
    assert "follow Slack (now Europe/Berlin)" in blocks
    assert blocks.count('"value": "mon"') == 2, "Monday is offered and ticked"
    assert blocks.count('"value": "sat"') == 1, "Saturday is offered, not ticked"


def test_a_new_time_and_workdays_move_todays_prompt_without_doubling_it(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")  # Friday 08:00 in Berlin; prompt due 09:30
    view = open_settings(team, ana)
    values = {
        "settings_prompt_time.text": "10:15",
        "settings_workdays.text": ["mon", "tue", "wed", "thu", "fri"],
    }
    assert team.sender.submit_view(ana, view, values).status == 200
    team.settle()
    person = team.person(ana)
    assert person.prompt_time == time(10, 15)
    assert person.next_prompt_at == datetime(2026, 11, 27, 9, 15, tzinfo=UTC)
    assert any("Saved: your next prompt comes" in m.text for m in team.dm(ana))
    team.tick(datetime(2026, 11, 27, 8, 30, tzinfo=UTC))
    assert team.prompts(ana) == [], "not at the old time"
    team.tick(datetime(2026, 11, 27, 9, 15, tzinfo=UTC))
    team.tick(datetime(2026, 11, 27, 9, 16, tzinfo=UTC))
    assert len(team.prompts(ana)) == 1, "at the new time, once"


def test_moving_the_prompt_to_a_time_that_just_passed_still_asks_today_once(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    at(team, datetime(2026, 11, 27, 8, 15, tzinfo=UTC))  # 09:15 in Berlin
    view = open_settings(team, ana)
    team.sender.submit_view(ana, view, {"settings_prompt_time.text": "09:00"})
    team.settle()
    team.tick(datetime(2026, 11, 27, 8, 16, tzinfo=UTC))
    team.tick(datetime(2026, 11, 27, 8, 30, tzinfo=UTC))  # the old 09:30
    assert len(team.prompts(ana)) == 1


def test_bad_settings_are_refused_inline_and_change_nothing(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    view = open_settings(team, ana)
    # (Slack itself refuses to submit without a workday ticked.)
    reply = team.sender.submit_view(ana, view, {"settings_tz.text": "Mars/Olympus_Mons"})
    errors = reply.json()["errors"]
    assert set(errors) == {"settings_tz"}, errors
    assert "Mars/Olympus_Mons" in errors["settings_tz"]
    person = team.person(ana)
    assert (person.prompt_time, person.workdays, person.tz) == (None, None, "Europe/Berlin")


def test_a_zone_set_here_stays_when_slack_says_otherwise_until_cleared(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    team.sender.submit_view(ana, open_settings(team, ana), {"settings_tz.text": "Asia/Tokyo"})
    team.settle()
    assert team.person(ana).next_prompt_at == datetime(2026, 11, 30, 0, 30, tzinfo=UTC)  # Mon 09:30 Tokyo
    team.fake.update_user(ana, tz="Europe/Paris")
    team.sender.user_change(ana)
    team.settle()
    assert team.person(ana).tz == "Asia/Tokyo"
    team.sender.submit_view(ana, open_settings(team, ana), {"settings_tz.text": ""})
    team.settle()
    person = team.person(ana)
    assert (person.tz, person.follows_slack_tz) == ("Europe/Paris", True), "back to Slack's zone, asked now"


def test_reminders_off_means_no_nudge(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    team.sender.submit_view(ana, open_settings(team, ana), {"settings_nudges.text": []})
    team.settle()
    team.tick(datetime(2026, 11, 27, 8, 30, tzinfo=UTC))
    team.tick(datetime(2026, 11, 27, 11, 30, tzinfo=UTC))
    assert not [m for m in team.fake.messages() if "Still there?" in (m.text or "")]
    assert team.deliveries(ana, "nudge") == []


def test_my_own_check_in_wait_is_what_shipped_uses(team: Bot) -> None:
    ana, _ = with_loop(team)
    team.sender.submit_view(ana, open_settings(team, ana), {"settings_checkin_after.text": "workdays:5"})
    team.settle()
    said = json.dumps(ship_quick(team, ana))
    assert "Mon 7 Dec" in said, said
    assert str(shipments(team, ana)[0].checkin_on) == "2026-12-07", "five workdays from Monday 30 Nov"
