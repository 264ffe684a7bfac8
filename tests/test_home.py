"""The App Home tab as a dashboard, end to end through the emulator, on both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient

from slackbot.fakeslack.state import View
from slackbot.store.models import Loop
from tests.support.bot import Bot, BotFactory
from tests.support.history import history
from tests.support.story import WEDNESDAY_DUE, at, checkins, enrol, ship_quick, with_loop

MONDAY_23 = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)  # 09:30 in Berlin


@pytest.fixture
def team(make_bot: BotFactory) -> Bot:
    bot = make_bot()
    bot.services.clock = lambda: MONDAY_23 - timedelta(days=3)
    return bot


def home_blocks(team: Bot, user: str) -> list[dict[str, Any]]:
    view = team.fake.home_view(user)
    assert view is not None
    blocks: list[dict[str, Any]] = view.payload["blocks"]
    return blocks


def tab(team: Bot, user: str) -> View:
    view = team.fake.home_view(user)
    assert view is not None
    return view


def block(blocks: list[dict[str, Any]], block_id: str) -> dict[str, Any]:
    (found,) = [b for b in blocks if b.get("block_id") == block_id]
    return found


def test_the_last_four_weeks_read_as_squares(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    for day, press in enumerate(["prompt_nothing", "prompt_skip", None, "reply"]):
        team.tick(MONDAY_23 + timedelta(days=day))
        prompt = team.prompts(ana)[-1]
        if press == "reply":
            team.sender.user_message(ana, "Exports time out\nfor: finance", thread_ts=prompt.ts)
        elif press is not None:
            team.sender.click(ana, prompt, action_id=press)
        team.settle()
    at(team, MONDAY_23 + timedelta(days=4, hours=-4))  # Friday 06:30 in Berlin: not asked yet
    team.sender.open_home(ana)
    team.settle()
    squares = block(home_blocks(team, ana), "squares")["text"]["text"]
    # Before she started: no prompt; then nothing broken, skipped, missed, answered, and today.
    assert "`23 Nov` ⬜🟨🟥🟩🔲" in squares
    assert "`02 Nov` ▫️▫️▫️▫️▫️" in squares and squares.count("\n") == 4


def test_the_dashboard_has_figures_with_their_trend_and_settings(team: Bot) -> None:
    ana, loop = with_loop(team)
    ship_quick(team, ana)
    team.sender.open_home(ana)
    team.settle()
    blocks = home_blocks(team, ana)
    assert "Last 90 days" in block(blocks, "figures")["text"]["text"]
    assert "Trend: not enough ships in the 90 days before to compare." in json.dumps(blocks)
    switches = block(blocks, "switch_actions")["elements"]
    assert [b["text"]["text"] for b in switches][-1] == "Settings"
    team.sender.click_in_view(ana, tab(team, ana), action_id="home_settings")
    team.settle()
    (modal,) = team.fake.views_of(ana)
    assert modal.payload["callback_id"] == "settings"
    # Each open loop: shipped a fix, drop (with Slack's confirmation) and a link to its thread.
    buttons = block(blocks, f"home_loop_actions_{loop.id}")["elements"]
    assert buttons[1]["confirm"]["title"]["text"] == "Drop Loop #1?"
    slack = WebClient(token=team.fake.bot_token, base_url=team.fake.api_url)
    link = slack.chat_getPermalink(channel=str(loop.channel), message_ts=str(loop.thread_ts))
    assert buttons[2]["url"] == link["permalink"]
    reply = team.sender.click_in_view(ana, tab(team, ana), action_id=buttons[2]["action_id"])
    assert reply.status == 200


def test_the_tab_is_redrawn_when_the_persons_loops_change(team: Bot) -> None:
    ben, _ = with_loop(team, "ben")
    ana, loop = with_loop(team)
    team.sender.open_home(ana)
    team.settle()
    assert "shipped · check-in" not in json.dumps(home_blocks(team, ana))
    ship_quick(team, ana)  # a command, not a click on the tab
    assert "shipped · check-in on Wed 2 Dec" in json.dumps(home_blocks(team, ana), ensure_ascii=False)
    team.tick(WEDNESDAY_DUE)  # the clock asks the check-in: the tab says it waits on her
    assert len(checkins(team, ana, loop)) == 1
    assert "Waiting on you" in json.dumps(home_blocks(team, ana))
    # Dropping from the tab takes the loop off it.
    at(team, WEDNESDAY_DUE + timedelta(hours=1))
    team.sender.click_in_view(ana, tab(team, ana), action_id="loop_drop")
    team.settle()
    shown = json.dumps(home_blocks(team, ana))
    assert "Loop #1" not in shown and "None. When something" in shown
    with team.database.session() as session:
        found = session.get(Loop, loop.id)
        assert found is not None and found.state == "dropped"
    # Someone who never opened the tab gets no views.publish for their changes.
    ship_quick(team, ben)
    assert team.fake.home_view(ben) is None


def test_a_long_history_stays_inside_slacks_block_limit(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    history(team, ana, 600, closed_every=3)
    at(team, datetime(2026, 12, 2, 12, 0, tzinfo=UTC))
    team.sender.open_home(ana)
    team.settle()
    blocks = home_blocks(team, ana)
    assert len(blocks) <= 100
    assert "…and 390 more, older: `/loops open` lists them all." in json.dumps(blocks, ensure_ascii=False)
