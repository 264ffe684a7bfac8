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
from tests.support.story import FRIDAY, enrol, only_prompt


@pytest.fixture
def team(make_bot: BotFactory) -> Bot:
    bot = make_bot()
    bot.services.clock = lambda: FRIDAY
    return bot


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


def prompted(team: Bot, name: str = "ana", tz: str = "Europe/Berlin") -> tuple[str, Message]:
    """A person enrolled and prompted on Friday 27 November at 09:30 Berlin time."""
    user = enrol(team, name, tz)
    team.tick(datetime(2026, 11, 27, 8, 30, tzinfo=UTC))
    return user, only_prompt(team, user)


def loop_roots(team: Bot, user_id: str) -> list[Message]:
    return [m for m in team.dm(user_id) if (m.text or "").startswith("Loop #")]


def test_something_broken_opens_a_modal_and_submitting_opens_a_loop(team: Bot) -> None:
    ana, prompt = prompted(team)
    reply = team.sender.click(ana, prompt, action_id="prompt_broken")
    assert reply.status == 200
    (modal,) = team.fake.views_of(ana)
    assert modal.payload["callback_id"] == "loop_answer"
    reply = team.sender.submit_view(
        ana,
        modal.id,
        {
            "what.text": "Checkout fails after the address step",
            "for_whom.text": "new customers on mobile",
            "evidence.text": "Support tickets 4411, 4420",
        },
    )
    assert reply.status == 200
    team.settle()
    assert team.fake.views_of(ana) == [], "the modal closed"
    (loop,) = team.loops(ana)
    assert (loop.number, loop.what, loop.for_whom, loop.state) == (
        1,
        "Checkout fails after the address step",
        "new customers on mobile",
        "open",
    )
    (root,) = loop_roots(team, ana)
    assert root.text == "Loop #1: Checkout fails after the address step — new customers on mobile"
    assert (loop.channel, loop.thread_ts) == (root.channel, root.ts), "the loop's story lives in this thread"
    assert "Support tickets 4411, 4420" in json.dumps(root.blocks)
    answered = team.fake.message(prompt.channel, prompt.ts)
    assert "Noted; it's a loop now." in json.dumps(answered.blocks)
    assert "prompt_broken" not in json.dumps(answered.blocks), (
        "the answered prompt has no answer buttons left"
    )
    assert "Loop #1" in json.dumps(answered.blocks), "the prompt now lists the open loop"


def test_empty_and_oversized_fields_get_inline_errors_and_store_nothing(team: Bot) -> None:
    ana, prompt = prompted(team)
    team.sender.click(ana, prompt, action_id="prompt_broken")
    (modal,) = team.fake.views_of(ana)
    reply = team.sender.submit_view(ana, modal.id, {"what.text": "   ", "for_whom.text": "x" * 3001})
    assert reply.status == 200
    errors = team.fake.view_errors(modal.id)
    assert set(errors) == {"what", "for_whom"}
    assert "3,001 characters" in errors["for_whom"]
    assert team.fake.views_of(ana) != [], "the modal stays open to be fixed"
    assert team.loops(ana) == []
    team.sender.submit_view(ana, modal.id, {"what.text": "x" * 3000, "for_whom.text": "y" * 3000})
    team.settle()
    assert len(team.loops(ana)) == 1, "exactly at the limit is fine"


def test_a_reply_in_the_prompts_thread_opens_a_loop(team: Bot) -> None:
    ana, prompt = prompted(team)
    _, reply = team.sender.user_message(
        ana, "Search returns nothing for accented names\nfor: users in France", thread_ts=prompt.ts
    )
    assert reply.status == 200
    team.settle()
    (loop,) = team.loops(ana)
    assert (loop.what, loop.for_whom) == ("Search returns nothing for accented names", "users in France")
    thread = team.dm(ana, thread_ts=prompt.ts)
    assert "Opened *Loop #1*" in thread[-1].text
    assert len(loop_roots(team, ana)) == 1
    assert team.deliveries(ana, "prompt")[0].answer == "loop"


def test_for_whom_can_follow_in_a_second_reply(team: Bot) -> None:
    ana, prompt = prompted(team)
    team.sender.user_message(ana, "Exports time out", thread_ts=prompt.ts)
    team.settle()
    assert "Who is it broken for?" in team.dm(ana, thread_ts=prompt.ts)[-1].text
    team.sender.user_message(ana, "for whom: finance admins", thread_ts=prompt.ts)
    team.settle()
    (loop,) = team.loops(ana)
    assert loop.for_whom == "finance admins"


def test_replies_in_a_loops_thread_are_its_story_stored_once(team: Bot) -> None:
    ana, prompt = prompted(team)
    team.sender.user_message(ana, "Exports time out\nfor: finance", thread_ts=prompt.ts)
    team.settle()
    (root,) = loop_roots(team, ana)
    message, _ = team.sender.user_message(ana, "Happens only above 10k rows", thread_ts=root.ts)
    event = {
        "type": "message",
        "channel": message.channel,
        "channel_type": "im",
        "user": ana,
        "text": message.text,
        "ts": message.ts,
        "thread_ts": root.ts,
    }
    # Slack delivers the same message again with a new event id (and again as a retry).
    team.sender.event(event)
    team.sender.event(event, event_id="Ev0RETRY", retry_num=1)
    team.settle()
    from sqlalchemy import select

    from slackbot.store.models import Entry

    with team.database.session() as session:
        stories = session.scalars(select(Entry.text).where(Entry.kind == "reply")).all()
    assert stories == ["Happens only above 10k rows"]


def test_a_reply_to_something_not_ours_is_answered_politely(team: Bot) -> None:
    ana, _ = prompted(team)
    own, _ = team.sender.user_message(ana, "note to self")
    team.settle()
    team.sender.user_message(ana, "and another thing", thread_ts=own.ts)
    team.settle()
    notes = [m.text for m in team.dm(ana, thread_ts=own.ts) if m.bot_id]
    assert notes, "the person is told where replies go"
    assert all("I keep everything in threads" in n for n in notes)
    assert team.loops(ana) == []


def test_markup_in_answers_is_shown_back_escaped(team: Bot) -> None:
    ana, prompt = prompted(team)
    team.sender.user_message(ana, "<!channel> R&D build <@U0BOSS> is red\nfor: <!here>", thread_ts=prompt.ts)
    team.settle()
    (loop,) = team.loops(ana)
    assert loop.what == "<!channel> R&D build <@U0BOSS> is red", "stored as typed"
    (root,) = loop_roots(team, ana)
    said_back = [m.text for m in team.dm(ana, thread_ts=prompt.ts) if m.bot_id]
    shown = json.dumps([root.text, root.blocks, said_back])
    assert "&lt;!channel&gt; R&amp;D build &lt;@U0BOSS&gt; is red" in shown
    assert "<!channel>" not in shown
    assert "<!here>" not in shown
    assert "<@U0BOSS>" not in shown


def test_nothing_today_and_skip_today_answer_the_prompt(team: Bot) -> None:
    ana, prompt = prompted(team)
    team.sender.click(ana, prompt, action_id="prompt_nothing")
    team.settle()
    assert team.deliveries(ana, "prompt")[0].answer == "nothing"
    assert "Nothing broken today" in json.dumps(team.fake.message(prompt.channel, prompt.ts).blocks)
    ben, ben_prompt = prompted(team, "ben", "Europe/Paris")
    team.sender.click(ben, ben_prompt, action_id="prompt_skip")
    team.settle()
    assert team.deliveries(ben, "prompt")[0].answer == "skip"


def test_one_nudge_when_unanswered_and_none_once_answered(team: Bot) -> None:
    ana, ana_prompt = prompted(team)
    ben, ben_prompt = prompted(team, "ben", "Europe/Paris")
    team.sender.click(ben, ben_prompt, action_id="prompt_nothing")
    team.settle()
    team.tick(datetime(2026, 11, 27, 11, 29, tzinfo=UTC))
    assert len(team.dm(ana, thread_ts=ana_prompt.ts)) == 1, "not yet"
    team.tick(datetime(2026, 11, 27, 11, 30, tzinfo=UTC))
    team.tick(datetime(2026, 11, 27, 12, 0, tzinfo=UTC))
    nudges = [m for m in team.dm(ana, thread_ts=ana_prompt.ts) if m.ts != ana_prompt.ts]
    assert len(nudges) == 1
    assert "Still there?" in nudges[0].text
    assert team.dm(ben, thread_ts=ben_prompt.ts) == [team.fake.message(ben_prompt.channel, ben_prompt.ts)]
    assert [d.state for d in team.deliveries(ben, "nudge")] == ["skipped"]


def test_no_nudge_after_the_working_day_and_none_when_turned_off(make_bot: BotFactory) -> None:
    late = make_bot(loops_prompt_time="16:30", loops_day_end="18:00")
    late.services.clock = lambda: FRIDAY
    ana = enrol(late, "ana", "Europe/Berlin")
    late.tick(datetime(2026, 11, 27, 15, 30, tzinfo=UTC))
    assert len(late.prompts(ana)) == 1
    assert late.deliveries(ana, "nudge") == [], "16:30 + 3h is after 18:00"


def test_nudges_can_be_turned_off(make_bot: BotFactory) -> None:
    quiet = make_bot(loops_nudge_after="0")
    quiet.services.clock = lambda: FRIDAY
    ana = enrol(quiet, "ana", "Europe/Berlin")
    quiet.tick(datetime(2026, 11, 27, 8, 30, tzinfo=UTC))
    quiet.tick(datetime(2026, 11, 27, 12, 0, tzinfo=UTC))
    assert quiet.deliveries(ana, "nudge") == []


def test_a_prompt_inside_the_catch_up_window_is_still_sent(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")  # due 08:30 UTC
    # The clock was down since before 08:30 and comes back at 10:29.
    team.tick(datetime(2026, 11, 27, 10, 29, tzinfo=UTC))
    assert len(team.prompts(ana)) == 1, "1 h 59 late is inside the 2 h window"
    (prompt,) = team.deliveries(ana, "prompt")
    assert prompt.state == "sent"


def test_a_prompt_later_than_the_catch_up_window_is_skipped(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    team.tick(datetime(2026, 11, 27, 10, 31, tzinfo=UTC))
    assert team.prompts(ana) == []
    (missed,) = team.deliveries(ana, "prompt")
    assert missed.state == "missed"
    assert team.person(ana).next_prompt_at == datetime(2026, 11, 30, 8, 30, tzinfo=UTC)


def test_pause_and_resume(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    said = json.dumps(team.command(ana, "/loops pause 3 days"))
    assert "Monday 30 November" in said
    team.tick(datetime(2026, 11, 27, 8, 30, tzinfo=UTC))
    assert team.prompts(ana) == [], "paused on Friday"
    team.tick(datetime(2026, 11, 30, 8, 30, tzinfo=UTC))
    (back,) = team.prompts(ana)
    assert "Welcome back" in back.text
    team.tick(datetime(2026, 12, 1, 8, 30, tzinfo=UTC))
    assert "Welcome back" not in team.prompts(ana)[-1].text


def test_an_open_ended_pause_lasts_until_resume(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    assert "until you say `/loops resume`" in json.dumps(team.command(ana, "/loops pause"))
    for day in (27, 30):
        team.tick(datetime(2026, 11, day, 8, 30, tzinfo=UTC))
    assert team.prompts(ana) == []
    team.services.clock = lambda: datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert "Welcome back" in json.dumps(team.command(ana, "/loops resume"))
    team.tick(datetime(2026, 12, 1, 8, 30, tzinfo=UTC))
    (back,) = team.prompts(ana)
    assert "Welcome back" in back.text


def test_bad_pause_text_is_refused_and_changes_nothing(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    said = json.dumps(team.command(ana, "/loops pause until yesterday-ish"))
    assert "couldn't read that pause" in said
    assert team.person(ana).paused_until is None


def test_stop_ends_prompts_and_start_brings_them_back(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    team.command(ana, "/loops stop")
    team.tick(datetime(2026, 11, 27, 8, 30, tzinfo=UTC))
    assert team.prompts(ana) == []
    assert team.person(ana).opted_out
    team.command(ana, "/loops start")
    team.tick(datetime(2026, 11, 30, 8, 30, tzinfo=UTC))
    assert len(team.prompts(ana)) == 1


def test_open_loops_are_reviewed_under_the_prompt(team: Bot) -> None:
    ana, prompt = prompted(team)
    for n in range(6):
        team.sender.user_message(ana, f"Problem {n}\nfor: someone", thread_ts=prompt.ts)
    team.settle()
    team.tick(datetime(2026, 11, 30, 8, 30, tzinfo=UTC))
    monday = team.prompts(ana)[-1]
    shown = json.dumps(monday.blocks)
    assert [f"Problem {n}" in shown for n in range(6)] == [False, True, True, True, True, True], (
        "5, newest first"
    )
    assert "3 days open" in shown
    team.sender.click(ana, monday, action_id="loop_drop", value=str(team.loops(ana)[5].id))
    team.settle()
    assert team.loops(ana)[5].state == "dropped"
    assert "Problem 5" not in json.dumps(team.fake.message(monday.channel, monday.ts).blocks)


def test_someone_elses_loop_cannot_be_touched(team: Bot) -> None:
    ana, ana_prompt = prompted(team)
    team.sender.user_message(ana, "Ana's problem\nfor: her users", thread_ts=ana_prompt.ts)
    team.settle()
    ben, _ = prompted(team, "ben", "Europe/Paris")
    (anas_loop,) = team.loops(ana)
    # Ben forges a click carrying Ana's loop id.
    body = {
        "type": "block_actions",
        "user": {"id": ben, "team_id": team.fake.team_id},
        "team": {"id": team.fake.team_id},
        "api_app_id": team.fake.app_id,
        "trigger_id": "1.2.3",
        "response_url": f"{team.fake.base_url}response/none",
        "container": {"type": "message", "channel_id": team.fake.dm_channel_id(ben), "message_ts": "1.0"},
        "actions": [
            {"action_id": "loop_drop", "block_id": "x", "value": str(anas_loop.id), "type": "button"}
        ],
    }
    from urllib.parse import urlencode

    reply = team.sender.post(urlencode({"payload": json.dumps(body)}))
    assert reply.status == 200
    assert team.loops(ana)[0].state == "open"


def test_answers_never_wait_for_slack(team: Bot) -> None:
    """Slack hangs on every post for 5 s; the app still answers its requests within 3 s."""
    ana, prompt = prompted(team)
    for method in ("chat.postMessage", "chat.update"):
        team.fake.faults.add(method=method, kind="timeout", seconds=5)
    _, reply = team.sender.user_message(ana, "Exports time out\nfor: finance", thread_ts=prompt.ts)
    assert reply.status == 200
    assert reply.slack_error is None, "answered within Slack's 3 seconds"
    assert len(team.loops(ana)) == 1, "stored before the answer"
    team.settle()
    team.fake.faults.clear()
    team.tick(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    (loop,) = team.loops(ana)
    assert loop.thread_ts is not None, "the clock posted what Slack would not take then"


def test_start_when_slack_will_not_say_the_time_zone(team: Bot) -> None:
    ana = team.fake.add_user(name="ana", tz="Europe/Berlin")
    team.fake.faults.add(method="users.info", kind="timeout", seconds=5, times=1)
    reply = team.sender.command(ana.id, "/loops", "start")
    assert reply.slack_error is None
    assert "using UTC for now" in reply.text
    assert team.person(ana.id).enrolled


def home(team: Bot, user_id: str) -> str:
    view = team.fake.home_view(user_id)
    assert view is not None
    return json.dumps(view.view, ensure_ascii=False)


def test_the_home_tab_switches_the_prompt_on_and_off(team: Bot) -> None:
    ana = team.fake.add_user(name="ana", tz="Europe/Berlin")
    team.sender.open_home(ana.id)
    team.settle()
    assert "Morning prompt: off" in home(team, ana.id)
    view = team.fake.home_view(ana.id)
    assert view is not None
    team.sender.click_in_view(ana.id, view, action_id="home_start")
    team.settle()
    assert team.person(ana.id).enrolled
    assert "Morning prompt: on." in home(team, ana.id)
    assert "09:30 (Europe/Berlin)" in home(team, ana.id)
    view = team.fake.home_view(ana.id)
    assert view is not None
    team.sender.click_in_view(ana.id, view, action_id="home_pause_week")
    team.settle()
    assert "Morning prompt: paused" in home(team, ana.id)
    assert team.person(ana.id).paused_until is not None
    view = team.fake.home_view(ana.id)
    assert view is not None
    team.sender.click_in_view(ana.id, view, action_id="home_stop")
    team.settle()
    assert "Morning prompt: off" in home(team, ana.id)
    assert not team.person(ana.id).enrolled


def test_the_home_tab_lists_open_loops(team: Bot) -> None:
    ana, prompt = prompted(team)
    team.sender.user_message(ana, "Exports time out\nfor: finance", thread_ts=prompt.ts)
    team.settle()
    team.sender.open_home(ana)
    team.settle()
    assert "Loop #1: Exports time out — finance" in home(team, ana)


# A schedule change between a prompt's time and the tick that plans it must not skip it.
def test_start_again_just_after_the_prompt_time_keeps_todays_prompt(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    team.services.clock = lambda: datetime(2026, 11, 27, 8, 30, 10, tzinfo=UTC)  # before the next tick
    team.command(ana, "/loops start")
    team.tick(datetime(2026, 11, 27, 8, 30, 30, tzinfo=UTC))
    team.tick(datetime(2026, 11, 27, 9, 30, tzinfo=UTC))
    assert len(team.prompts(ana)) == 1


def test_a_time_zone_change_while_the_clock_was_down_keeps_the_catch_up_prompt(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    team.services.clock = lambda: datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # due 08:30, clock down
    moved = team.fake.update_user(ana, tz="Europe/Paris")
    team.sender.event({"type": "user_change", "user": moved.to_api()})
    team.tick(datetime(2026, 11, 27, 9, 30, tzinfo=UTC))  # back, inside the 2 h window
    assert len(team.prompts(ana)) == 1


def test_moving_east_before_the_old_zones_prompt_still_gets_one_that_day(make_bot: BotFactory) -> None:
    bot = make_bot()
    bot.services.clock = lambda: datetime(2026, 11, 26, 20, 0, tzinfo=UTC)
    ben = enrol(bot, "ben", "America/Los_Angeles")  # Friday's prompt: 17:30 UTC
    bot.services.clock = lambda: datetime(2026, 11, 27, 5, 0, tzinfo=UTC)  # Fri 10:30 in Kolkata
    moved = bot.fake.update_user(ben, tz="Asia/Kolkata")
    bot.sender.event({"type": "user_change", "user": moved.to_api()})
    for hour in (5, 6, 12, 18, 23):
        bot.tick(datetime(2026, 11, 27, hour, 1, tzinfo=UTC))
    (friday,) = bot.prompts(ben)
    assert bot.deliveries(ben, "prompt")[0].key == "2026-11-27"
    assert friday.ts


def test_a_late_nudge_is_not_sent_after_the_working_day(make_bot: BotFactory) -> None:
    bot = make_bot(loops_prompt_time="14:30", loops_day_end="18:00")
    bot.services.clock = lambda: FRIDAY
    ana = enrol(bot, "ana", "Europe/Berlin")
    bot.tick(datetime(2026, 11, 27, 13, 30, tzinfo=UTC))  # 14:30 in Berlin; the nudge is due 17:30
    prompt = only_prompt(bot, ana)
    bot.tick(datetime(2026, 11, 27, 18, 0, tzinfo=UTC))  # the clock is back at 19:00 in Berlin
    assert [m for m in bot.dm(ana, thread_ts=prompt.ts) if m.ts != prompt.ts] == []
    (nudge,) = bot.deliveries(ana, "nudge")
    assert (nudge.state, nudge.last_error) == ("missed", "the working day was over")


def test_a_click_is_answered_within_3_seconds_while_slack_hangs(team: Bot) -> None:
    ana, prompt = prompted(team)
    team.fake.faults.add(method="views.open", kind="timeout", seconds=5)
    reply = team.sender.click(ana, prompt, action_id="prompt_broken")
    assert reply.status == 200
    assert reply.slack_error is None
    team.settle()
    said = [m.text for m in team.fake.ephemeral_for(ana)]
    assert any("couldn't get an answer from Slack" in s for s in said), said


def test_still_broken_is_noted_in_the_loops_thread_and_shipped_opens_the_shipped_modal(team: Bot) -> None:
    ana, prompt = prompted(team)
    team.sender.user_message(ana, "Exports time out\nfor: finance", thread_ts=prompt.ts)
    team.settle()
    team.tick(datetime(2026, 11, 30, 8, 30, tzinfo=UTC))
    monday = team.prompts(ana)[-1]
    team.services.clock = lambda: datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    team.sender.click(ana, monday, action_id="loop_still_broken")
    team.settle()
    (loop,) = team.loops(ana)
    assert loop.thread_ts is not None
    notes = [m.text for m in team.dm(ana, thread_ts=loop.thread_ts) if m.ts != loop.thread_ts]
    assert notes == ["Still broken after 3 days."]
    assert "Noted: Loop #1. Still broken after 3 days." in [m.text for m in team.fake.ephemeral_for(ana)]
    team.sender.click(ana, monday, action_id="loop_shipped")
    team.settle()
    (modal,) = team.fake.views_of(ana)
    assert modal.payload["callback_id"] == "shipped"
    (select,) = [b for b in modal.payload["blocks"] if b.get("block_id") == "shipped_loop"]
    assert select["element"]["initial_option"]["value"] == str(loop.id)
    assert team.loops(ana)[0].state == "open", "opening the modal changes nothing"


def test_pause_and_resume_the_same_morning_keep_the_days_prompt(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")  # due 08:30 UTC
    team.fake.faults.add(method="chat.postMessage", kind="server_error", status=503, times=1)
    team.tick(datetime(2026, 11, 27, 8, 30, tzinfo=UTC))
    (prompt,) = team.deliveries(ana, "prompt")
    assert (prompt.state, team.prompts(ana)) == ("pending", []), "Slack failed: the prompt waits for a retry"
    team.services.clock = lambda: datetime(2026, 11, 27, 8, 31, tzinfo=UTC)
    team.command(ana, "/loops pause")
    (prompt,) = team.deliveries(ana, "prompt")
    assert prompt.state == "skipped", "a pause withdraws the prompt not yet sent"
    team.services.clock = lambda: datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    team.command(ana, "/loops resume")
    team.tick(datetime(2026, 11, 27, 9, 1, tzinfo=UTC))
    (back,) = team.prompts(ana)
    assert "What's broken right now" in back.text
    team.tick(datetime(2026, 11, 27, 9, 5, tzinfo=UTC))
    assert len(team.prompts(ana)) == 1, "brought back once, not doubled"


def test_a_withdrawn_prompt_past_the_catch_up_window_stays_withdrawn(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    team.fake.faults.add(method="chat.postMessage", kind="server_error", status=503, times=1)
    team.tick(datetime(2026, 11, 27, 8, 30, tzinfo=UTC))
    team.services.clock = lambda: datetime(2026, 11, 27, 8, 31, tzinfo=UTC)
    team.command(ana, "/loops stop")
    team.services.clock = lambda: datetime(2026, 11, 27, 10, 45, tzinfo=UTC)  # 2 h 15 after 08:30
    team.command(ana, "/loops start")
    team.tick(datetime(2026, 11, 27, 10, 46, tzinfo=UTC))
    assert team.prompts(ana) == [], "too late to ask this morning's question"
    (prompt,) = team.deliveries(ana, "prompt")
    assert prompt.state == "skipped"


def test_a_known_person_using_loops_again_after_a_reinstall_brings_the_prompts_back(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    assert team.sender.event({"type": "app_uninstalled"}).status == 200
    team.tick(datetime(2026, 11, 27, 8, 30, tzinfo=UTC))
    assert team.prompts(ana) == [], "nothing is sent to an uninstalled workspace"
    said = json.dumps(team.command(ana, "/loops start"))  # reinstalled: Slack sends her command again
    assert "You're already getting the morning prompt" in said
    team.tick(datetime(2026, 11, 30, 8, 30, tzinfo=UTC))
    assert len(team.prompts(ana)) == 1, "Monday's prompt comes"
