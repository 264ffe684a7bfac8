"""The morning prompt end to end: enrol, tick, answer, nudge, pause; over HTTP, on both databases.

The app's clock is set to a known Friday so that weekends and first-prompt times are
known; ticks run the same pass as `slackbot tick --at`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from slackbot.fakeslack.state import Message
from tests.support.bot import Bot, BotFactory

# Friday 27 November 2026, 07:00 UTC: 08:00 in Berlin, 02:00 in New York.
FRIDAY = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)


@pytest.fixture
def team(make_bot: BotFactory) -> Bot:
    bot = make_bot()
    bot.services.clock = lambda: FRIDAY
    return bot


def enrol(bot: Bot, name: str, tz: str) -> str:
    user = bot.fake.add_user(name=name, tz=tz)
    said = json.dumps(bot.command(user.id, "/loops start"))
    assert "You're in" in said
    return user.id


def only_prompt(bot: Bot, user_id: str) -> Message:
    prompts = bot.prompts(user_id)
    assert len(prompts) == 1, [p.text for p in prompts]
    return prompts[0]


def test_start_says_when_the_first_prompt_comes(team: Bot) -> None:
    ana = team.fake.add_user(name="ana", tz="Europe/Berlin")
    said = json.dumps(team.command(ana.id, "/loops start"))
    assert "Friday 27 November at 09:30 (Europe/Berlin)" in said
    person = team.person(ana.id)
    assert person.enrolled
    assert person.tz == "Europe/Berlin"
    assert person.next_prompt_at == datetime(2026, 11, 27, 8, 30, tzinfo=UTC)
    again = json.dumps(team.command(ana.id, "/loops start"))
    assert "already" in again


def test_two_zones_each_prompted_once_at_their_own_time(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")  # due 08:30 UTC
    ben = enrol(team, "ben", "America/New_York")  # due 14:30 UTC
    team.tick(datetime(2026, 11, 27, 8, 29, tzinfo=UTC))
    assert team.prompts(ana) == []
    team.tick(datetime(2026, 11, 27, 8, 30, tzinfo=UTC))
    team.tick(datetime(2026, 11, 27, 8, 30, tzinfo=UTC))
    team.tick(datetime(2026, 11, 27, 8, 31, tzinfo=UTC))
    only_prompt(team, ana)
    assert team.prompts(ben) == []
    team.tick(datetime(2026, 11, 27, 14, 30, tzinfo=UTC))
    only_prompt(team, ben)
    only_prompt(team, ana)


def test_no_prompts_at_the_weekend(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    team.tick(datetime(2026, 11, 27, 8, 30, tzinfo=UTC))
    for day in (28, 29):  # Saturday, Sunday
        team.tick(datetime(2026, 11, day, 8, 30, tzinfo=UTC))
        team.tick(datetime(2026, 11, day, 12, 0, tzinfo=UTC))
    assert len(team.prompts(ana)) == 1
    assert team.person(ana).next_prompt_at == datetime(2026, 11, 30, 8, 30, tzinfo=UTC)
    team.tick(datetime(2026, 11, 30, 8, 30, tzinfo=UTC))
    assert len(team.prompts(ana)) == 2


def test_the_prompt_asks_the_question_with_three_answers(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    team.tick(datetime(2026, 11, 27, 8, 30, tzinfo=UTC))
    prompt = only_prompt(team, ana)
    assert "What's broken right now, and for whom?" in prompt.text
    labels = [e["text"]["text"] for b in prompt.blocks or [] if b["type"] == "actions" for e in b["elements"]]
    assert labels == ["Something's broken", "Nothing today", "Skip today"]
    assert prompt.metadata is not None
    assert prompt.metadata["event_type"] == "loops_delivery"
