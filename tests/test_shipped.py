"""`/shipped` and the post-ship check-in end to end, over HTTP, on both databases.

The story: a morning answer opens a loop; `/shipped` links a fix to it; the clock ticks
day by day; the check-in arrives in the loop's thread on the right local day; each
answer moves the loop on; the thread reads as the loop's story.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from slackbot.store import export as store_export
from slackbot.store.models import CheckIn, Delivery, Entry, Loop, Person
from tests.support.bot import Bot, BotFactory
from tests.support.story import (
    FRIDAY,
    MONDAY,
    WEDNESDAY_DUE,
    answer,
    answer_yes_and_close,
    at,
    checkins,
    enrol,
    ship_quick,
    shipments,
    thread,
    with_loop,
)


@pytest.fixture
def team(make_bot: BotFactory) -> Bot:
    bot = make_bot()
    bot.services.clock = lambda: FRIDAY
    return bot


def entries(team: Bot, loop: Loop) -> list[tuple[str, str]]:
    with team.database.session() as session:
        rows = session.scalars(select(Entry).where(Entry.loop_id == loop.id).order_by(Entry.id))
        return [(e.kind, e.text) for e in rows]


def fresh(team: Bot, loop: Loop) -> Loop:
    with team.database.session() as session:
        found = session.get(Loop, loop.id)
        assert found is not None
        session.expunge(found)
        return found


def test_the_whole_loop_problem_ship_checkin_outcome_next(team: Bot) -> None:
    ana, loop = with_loop(team)
    said = json.dumps(ship_quick(team, ana))
    assert "Noted for" in said and "Wed 2 Dec" in said, said
    assert fresh(team, loop).state == "shipped"
    notes = [m.text for m in thread(team, ana, loop)]
    assert notes == ["Shipped: Retry the SMS provider after 10 s. I'll check back on Wed 2 Dec."], notes

    # Tuesday, and Wednesday just before 09:30 Berlin: nothing yet.
    for moment in (datetime(2026, 12, 1, 8, 30, tzinfo=UTC), WEDNESDAY_DUE - timedelta(minutes=1)):
        team.tick(moment)
        assert checkins(team, ana, loop) == []
    team.tick(WEDNESDAY_DUE)
    team.tick(WEDNESDAY_DUE + timedelta(seconds=30))
    (question,) = checkins(team, ana, loop)
    assert question.reply_broadcast, "a reply deep in a thread would not notify the person"
    text = json.dumps(question.blocks)
    assert "Did the behaviour change? Did the metric move? Did users do what you hoped?" in text
    assert "Retry the SMS provider after 10 s" in text and "OTP arrives within a minute" in text
    labels = [
        e["text"]["text"] for b in question.blocks or [] if b["type"] == "actions" for e in b["elements"]
    ]
    assert labels == ["Yes, it changed", "No change", "Can't tell yet", "It got worse"]

    at(team, WEDNESDAY_DUE + timedelta(hours=1))
    _, status = answer(
        team,
        ana,
        question,
        "checkin_no_change",
        {
            "checkin_happened.text": "Median OTP time still 4 min (provider dashboard)",
            "checkin_next.text": "Add a second SMS provider as fallback",
        },
    )
    assert status == 200
    assert team.fake.views_of(ana) == [], "the form closed"
    now = fresh(team, loop)
    assert (now.state, now.next_step) == ("continued", "Add a second SMS provider as fallback")
    outcome = thread(team, ana, loop)[-1].text
    assert outcome == (
        "No change: I shipped Retry the SMS provider after 10 s, Median OTP time still 4 min "
        "(provider dashboard), next: Add a second SMS provider as fallback."
    )
    redrawn = team.fake.message(question.channel, question.ts)
    assert "Answered: *No change*" in json.dumps(redrawn.blocks)
    assert not [b for b in redrawn.blocks or [] if b["type"] == "actions"], "no buttons once answered"
    (shipment,) = shipments(team, ana)
    assert (shipment.state, shipment.outcome) == ("answered", "no_change")

    # Thursday's prompt carries the loop on with its next step.
    team.tick(datetime(2026, 12, 3, 8, 30, tzinfo=UTC))
    thursday = team.prompts(ana)[-1]
    assert "*Next:* Add a second SMS provider as fallback" in json.dumps(thursday.blocks)
    kinds = [kind for kind, _ in entries(team, loop)]
    assert kinds == ["answer", "shipped", "checkin", "continued"], kinds


def test_yes_and_closed_closes_the_loop(team: Bot) -> None:
    ana, loop = with_loop(team)
    ship_quick(team, ana)
    team.tick(WEDNESDAY_DUE)
    (question,) = checkins(team, ana, loop)
    _, status = answer(
        team,
        ana,
        question,
        "checkin_changed",
        {
            "checkin_happened.text": "OTP median 20 s; tickets down from 38 to 3",
            "checkin_closed.text": ["close"],
        },
    )
    assert status == 200
    assert fresh(team, loop).state == "closed"
    last = thread(team, ana, loop)[-1].text
    assert last == (
        "Yes, it changed: I shipped Retry the SMS provider after 10 s, "
        "OTP median 20 s; tickets down from 38 to 3. Loop closed."
    )


def test_yes_without_closing_needs_a_next_step(team: Bot) -> None:
    ana, loop = with_loop(team)
    ship_quick(team, ana)
    team.tick(WEDNESDAY_DUE)
    (question,) = checkins(team, ana, loop)
    team.sender.click(ana, question, action_id="checkin_changed")
    team.settle()
    (modal,) = team.fake.views_of(ana)
    reply = team.sender.submit_view(ana, modal.id, {"checkin_happened.text": "Better"})
    assert reply.json() == {
        "response_action": "errors",
        "errors": {"checkin_next": "Please fill in what's next."},
    }
    assert fresh(team, loop).state == "shipped", "nothing was stored"
    assert len(thread(team, ana, loop)) == 2


def test_cant_tell_asks_again_and_twice_asks_what_would_make_it_tellable(team: Bot) -> None:
    ana, loop = with_loop(team)
    ship_quick(team, ana)
    team.tick(WEDNESDAY_DUE)
    (first,) = checkins(team, ana, loop)
    at(team, WEDNESDAY_DUE + timedelta(hours=1))
    answer(
        team,
        ana,
        first,
        "checkin_cant_tell",
        {
            "checkin_happened.text": "Only 12 sign-ups so far",
            "checkin_next.text": "Wait for more data",
            "checkin_ask_again.text": "workdays:1",
        },
    )
    assert "I'll ask again on Thu 3 Dec." in thread(team, ana, loop)[-1].text
    assert fresh(team, loop).state == "continued"
    team.tick(datetime(2026, 12, 3, 8, 30, tzinfo=UTC))
    second = checkins(team, ana, loop)[-1]
    assert second.text.startswith("Checking in again")
    assert "tellable" not in json.dumps(second.blocks)
    at(team, datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    answer(
        team,
        ana,
        second,
        "checkin_cant_tell",
        {
            "checkin_happened.text": "Still few",
            "checkin_next.text": "Wait",
            "checkin_ask_again.text": "workdays:1",
        },
    )
    team.tick(datetime(2026, 12, 4, 8, 30, tzinfo=UTC))
    third = checkins(team, ana, loop)[-1]
    assert "What would make it tellable?" in json.dumps(third.blocks)
    team.sender.click(ana, third, action_id="checkin_cant_tell")
    team.settle()
    (modal,) = team.fake.views_of(ana)
    assert "checkin_tellable" in [b.get("block_id") for b in modal.payload["blocks"]]
    with team.database.session() as session:
        asks = session.scalars(select(CheckIn.ask).order_by(CheckIn.ask)).all()
    assert list(asks) == [1, 2, 3]


def test_another_persons_crafted_click_and_submission_change_nothing(team: Bot) -> None:
    ana, loop = with_loop(team)
    ben = enrol(team, "ben", "Europe/Berlin")
    ship_quick(team, ana)
    team.tick(WEDNESDAY_DUE)
    (question,) = checkins(team, ana, loop)
    # Ben replays Ana's button (same value) from a message of his own.
    reply = team.sender.click(ben, question, action_id="checkin_changed")
    assert reply.status == 200
    team.settle()
    assert team.fake.views_of(ben) == []
    said = [m.text for m in team.fake.ephemeral_for(ben)] + [m.text for m in team.dm(ben)]
    assert any("couldn't find that" in s for s in said), said
    # And links a shipment to Ana's loop number: it reads as a loop that does not exist.
    mine = json.dumps(team.command(ben, "/shipped #1 Something expect: else"))
    nothing = json.dumps(team.command(ben, "/shipped #99 Something expect: else"))
    assert "You have no Loop #1." in mine
    assert mine.replace("#1", "#N") == nothing.replace("#99", "#N")
    assert fresh(team, loop).state == "shipped" and len(shipments(team, ana)) == 1


def test_double_click_and_double_submission_store_one_answer(team: Bot) -> None:
    ana, loop = with_loop(team)
    ship_quick(team, ana)
    team.tick(WEDNESDAY_DUE)
    (question,) = checkins(team, ana, loop)
    team.sender.click(ana, question, action_id="checkin_no_change")
    team.sender.resend_last_interaction()  # the double click: the form opens from either
    team.settle()
    modal = team.fake.views_of(ana)[-1]
    values = {"checkin_happened.text": "Flat", "checkin_next.text": "Try another fix"}
    assert team.sender.submit_view(ana, modal.id, values).status == 200
    assert team.sender.resend_last_interaction().status == 200  # the same submission, sent twice
    team.settle()
    with team.database.session() as session:
        answered = session.scalars(select(CheckIn).where(CheckIn.answered_at.is_not(None))).all()
        outcomes = session.scalars(select(Delivery).where(Delivery.kind == "outcome")).all()
    assert len(answered) == 1 and len(outcomes) == 1
    assert [kind for kind, _ in entries(team, loop)].count("checkin") == 1
    assert len([m for m in thread(team, ana, loop) if m.text.startswith("No change")]) == 1


def test_a_shipment_modal_submitted_twice_records_one_shipment(team: Bot) -> None:
    ana, loop = with_loop(team)
    at(team, MONDAY)
    team.command(ana, "/shipped Retry the SMS provider")
    (modal,) = team.fake.views_of(ana)
    values = {"shipped_expected.text": "OTP within a minute", "shipped_loop.text": str(loop.id)}
    assert team.sender.submit_view(ana, modal.id, values).status == 200
    assert team.sender.resend_last_interaction().status == 200
    team.settle()
    assert len(shipments(team, ana)) == 1
    assert [m.text for m in thread(team, ana, loop)] == [
        "Shipped: Retry the SMS provider. I'll check back on Wed 2 Dec."
    ]


def test_an_unlinked_shipment_opens_a_new_loop_with_the_shipment_as_its_first_step(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    at(team, MONDAY)
    team.command(ana, "/shipped Dark mode for the dashboard")
    (modal,) = team.fake.views_of(ana)
    (select_block,) = [b for b in modal.payload["blocks"] if b.get("block_id") == "shipped_loop"]
    assert select_block["element"]["initial_option"]["value"] == "none", "no loops: not linked"
    team.sender.submit_view(
        ana, modal.id, {"shipped_expected.text": "Fewer eye-strain complaints from night shifts"}
    )
    team.settle()
    (loop,) = team.loops(ana)
    assert (loop.number, loop.what, loop.state) == (1, "Dark mode for the dashboard", "shipped")
    assert [m.text for m in thread(team, ana, loop)] == [
        "Shipped: Dark mode for the dashboard. I'll check back on Wed 2 Dec."
    ]
    assert [kind for kind, _ in entries(team, loop)] == ["shipped"]


def test_the_quick_path_escapes_what_it_shows_and_keeps_long_text_whole(team: Bot) -> None:
    ana, loop = with_loop(team)
    at(team, MONDAY)
    long = "x" * 5000
    said = team.command(ana, f"/shipped #1 <!channel> & <@U999> fix {long} expect: fewer &lt;errors&gt;")
    shown = json.dumps(said)
    assert "<!channel>" not in shown and "&lt;!channel&gt; &amp; &lt;@U999&gt;" in shown
    assert "shortened here; all 5,025 characters are kept" in shown
    (shipment,) = shipments(team, ana)
    assert shipment.what == f"<!channel> & <@U999> fix {long}", "stored as typed, whole"
    assert shipment.expected_change == "fewer <errors>"
    note = thread(team, ana, loop)[0]
    assert "<!channel>" not in json.dumps(note.blocks) and "<@U999>" not in json.dumps(note.blocks)


def test_a_long_shipped_text_is_kept_whole_through_the_modal(team: Bot) -> None:
    ana, loop = with_loop(team)
    at(team, MONDAY)
    long = "Rewrote the OTP pipeline. " * 200  # 5,200 characters: more than a modal input holds
    team.command(ana, f"/shipped {long}")
    (modal,) = team.fake.views_of(ana)
    assert "You typed 5,199 characters" in json.dumps(modal.payload["blocks"])
    team.sender.submit_view(
        ana, modal.id, {"shipped_expected.text": "OTP in a minute", "shipped_loop.text": str(loop.id)}
    )
    team.settle()
    (shipment,) = shipments(team, ana)
    assert shipment.what == long.strip() and shipment.state == "waiting"


def test_bad_input_to_shipped_gets_a_clear_message_and_changes_nothing(team: Bot) -> None:
    ana, loop = with_loop(team)
    at(team, MONDAY)
    assert "You have no Loop #7." in json.dumps(team.command(ana, "/shipped #7 Thing expect: other"))
    # The modal path checks each field inline (Slack itself refuses an empty required input).
    team.command(ana, "/shipped #1")
    (modal,) = team.fake.views_of(ana)
    reply = team.sender.submit_view(
        ana,
        modal.id,
        {"shipped_what.text": "  ", "shipped_expected.text": " \n ", "shipped_on_date.text": "2026-11-29"},
    )
    errors = reply.json()["errors"]
    assert set(errors) == {"shipped_what", "shipped_expected"}
    reply = team.sender.submit_view(
        ana,
        modal.id,
        {"shipped_what.text": "A", "shipped_expected.text": "B", "shipped_on_date.text": "2026-11-29"},
    )
    assert reply.json() == {
        "response_action": "errors",
        "errors": {"shipped_on_date": "Pick a day after today."},
    }
    assert shipments(team, ana) == [] and fresh(team, loop).state == "open"


def test_a_closed_loop_takes_no_shipment(team: Bot) -> None:
    ana, loop = with_loop(team)
    ship_quick(team, ana)
    team.tick(WEDNESDAY_DUE)
    answer_yes_and_close(team, ana, loop, "Fixed")
    said = json.dumps(team.command(ana, "/shipped #1 More expect: more"))
    assert "Loop #1 is closed." in said
    assert len(shipments(team, ana)) == 1


def test_a_check_in_counts_workdays_over_the_weekend(team: Bot) -> None:
    ana, loop = with_loop(team)
    at(team, datetime(2026, 11, 27, 16, 0, tzinfo=UTC))  # Friday 17:00 in Berlin
    said = json.dumps(team.command(ana, "/shipped #1 Retry expect: OTP in a minute"))
    assert "Tue 1 Dec" in said
    for moment in (
        datetime(2026, 11, 28, 8, 30, tzinfo=UTC),
        datetime(2026, 11, 29, 8, 30, tzinfo=UTC),
        datetime(2026, 11, 30, 8, 30, tzinfo=UTC),
    ):
        team.tick(moment)
    assert checkins(team, ana, loop) == []
    team.tick(datetime(2026, 12, 1, 8, 30, tzinfo=UTC))
    assert len(checkins(team, ana, loop)) == 1


def test_a_paused_person_is_asked_on_their_first_workday_back(team: Bot) -> None:
    ana, loop = with_loop(team)
    ship_quick(team, ana)
    team.command(ana, "/loops pause until 2026-12-04")
    team.tick(WEDNESDAY_DUE)
    team.tick(datetime(2026, 12, 3, 8, 30, tzinfo=UTC))
    assert checkins(team, ana, loop) == []
    team.tick(datetime(2026, 12, 4, 8, 30, tzinfo=UTC))  # Friday: the pause is over
    assert len(checkins(team, ana, loop)) == 1


def test_resuming_early_brings_a_held_check_in_back_on_its_day(team: Bot) -> None:
    ana, loop = with_loop(team)
    ship_quick(team, ana)
    team.command(ana, "/loops pause")
    team.tick(WEDNESDAY_DUE)
    assert checkins(team, ana, loop) == []
    at(team, WEDNESDAY_DUE + timedelta(hours=1))
    team.command(ana, "/loops resume")
    team.tick(WEDNESDAY_DUE + timedelta(hours=1, seconds=30))
    assert len(checkins(team, ana, loop)) == 1


def test_a_time_zone_move_between_ship_and_check_in_asks_at_the_new_local_time(team: Bot) -> None:
    ana, loop = with_loop(team)
    ship_quick(team, ana)
    team.fake.update_user(ana, tz="America/New_York")
    team.sender.user_change(ana)
    team.settle()
    team.tick(WEDNESDAY_DUE)  # 09:30 in Berlin is 03:30 in New York
    assert checkins(team, ana, loop) == []
    team.tick(datetime(2026, 12, 2, 14, 29, tzinfo=UTC))
    assert checkins(team, ana, loop) == []
    team.tick(datetime(2026, 12, 2, 14, 30, tzinfo=UTC))  # 09:30 in New York
    assert len(checkins(team, ana, loop)) == 1


def test_a_check_in_missed_while_the_clock_was_down_goes_out_later_that_working_day(team: Bot) -> None:
    ana, loop = with_loop(team)
    ship_quick(team, ana)
    team.tick(datetime(2026, 12, 2, 13, 0, tzinfo=UTC))  # 14:00 in Berlin: the clock was down all morning
    assert len(checkins(team, ana, loop)) == 1


def test_a_check_in_missed_until_evening_waits_for_the_next_prompt_time(team: Bot) -> None:
    ana, loop = with_loop(team)
    ship_quick(team, ana)
    team.tick(datetime(2026, 12, 2, 19, 0, tzinfo=UTC))  # 20:00 in Berlin: the working day is over
    assert checkins(team, ana, loop) == []
    team.tick(datetime(2026, 12, 3, 8, 29, tzinfo=UTC))
    assert checkins(team, ana, loop) == []
    team.tick(datetime(2026, 12, 3, 8, 30, tzinfo=UTC))
    assert len(checkins(team, ana, loop)) == 1


def test_an_unanswered_check_in_waits_on_the_prompt_then_becomes_an_unwatched_ship(team: Bot) -> None:
    ana, loop = with_loop(team)
    ship_quick(team, ana)
    team.tick(WEDNESDAY_DUE)
    (question,) = checkins(team, ana, loop)
    # Wednesday's prompt is answered with a second problem, so Thursday's has an open loop too.
    team.sender.user_message(ana, "Search is slow\nfor: everyone", thread_ts=team.prompts(ana)[-1].ts)
    team.settle()
    team.tick(datetime(2026, 12, 3, 8, 30, tzinfo=UTC))
    thursday = team.prompts(ana)[-1]
    blocks = json.dumps(thursday.blocks)
    assert "*Waiting on you*" in blocks and "Yes, it changed" in blocks
    assert blocks.index("Waiting on you") < blocks.index("Still open") < blocks.index("Search is slow")
    # Ten workdays after it was asked (Wed 2 Dec): Wed 16 Dec, at the prompt time.
    day = datetime(2026, 12, 4, 8, 30, tzinfo=UTC)
    while day < datetime(2026, 12, 16, 8, 30, tzinfo=UTC):
        team.tick(day)
        day += timedelta(days=1)
    assert shipments(team, ana)[0].state == "waiting"
    team.tick(datetime(2026, 12, 16, 8, 30, tzinfo=UTC))
    (shipment,) = shipments(team, ana)
    assert shipment.state == "unwatched" and shipment.unwatched_at is not None
    notice = thread(team, ana, loop)[-1].text
    assert notice.startswith("Unwatched ship: Loop #1")
    team.tick(datetime(2026, 12, 17, 8, 30, tzinfo=UTC))
    later = json.dumps(team.prompts(ana)[-1].blocks)
    assert "1 unwatched ship" in later and "Waiting on you" not in later
    # Answering late still counts: the ship is watched after all.
    at(team, datetime(2026, 12, 17, 9, 0, tzinfo=UTC))
    answer(
        team,
        ana,
        question,
        "checkin_no_change",
        {"checkin_happened.text": "Flat", "checkin_next.text": "Retry"},
    )
    assert shipments(team, ana)[0].state == "answered"


def test_answering_from_the_morning_prompt_redraws_it(team: Bot) -> None:
    ana, loop = with_loop(team)
    ship_quick(team, ana)
    team.tick(WEDNESDAY_DUE)
    team.tick(datetime(2026, 12, 3, 8, 30, tzinfo=UTC))
    thursday = team.prompts(ana)[-1]
    at(team, datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    answer(
        team,
        ana,
        thursday,
        "checkin_worse",
        {"checkin_happened.text": "Timeouts doubled", "checkin_next.text": "Roll back"},
    )
    redrawn = team.fake.message(thursday.channel, thursday.ts)
    assert "Waiting on you" not in json.dumps(redrawn.blocks)
    assert "*Next:* Roll back" in json.dumps(redrawn.blocks)
    assert thread(team, ana, loop)[-1].text.startswith("It got worse: I shipped Retry the SMS provider")


@pytest.mark.parametrize("fault", ["server_error", "ratelimited"])
def test_a_check_in_survives_5xx_and_429_and_is_posted_once(team: Bot, fault: str) -> None:
    ana, loop = with_loop(team)
    ship_quick(team, ana)
    team.fake.faults.add(method="chat.postMessage", kind=fault, times=2, commit=fault == "server_error")
    team.tick(WEDNESDAY_DUE)
    for minutes in (1, 2, 4, 8):
        team.tick(WEDNESDAY_DUE + timedelta(minutes=minutes))
    assert len(checkins(team, ana, loop)) == 1
    (delivery,) = team.deliveries(ana, "checkin")
    assert delivery.state == "sent"


def test_edit_from_the_quick_confirmation_changes_the_note_and_the_day(team: Bot) -> None:
    ana, loop = with_loop(team)
    ship_quick(team, ana)
    confirmation = team.fake.ephemeral_for(ana)[-1]

    def edit(values: dict[str, Any]) -> None:
        team.sender.click(ana, confirmation, action_id="shipment_edit")
        team.settle()
        (modal,) = team.fake.views_of(ana)
        blocks = json.dumps(modal.payload["blocks"])
        assert "shipped_loop" not in blocks, "an edit keeps the loop"
        team.sender.submit_view(ana, modal.id, values)
        team.settle()

    edit({"shipped_what.text": "Retry after 5 s"})  # the text only: the day stays
    (shipment,) = shipments(team, ana)
    assert (shipment.what, shipment.checkin_on) == ("Retry after 5 s", date(2026, 12, 2))
    assert thread(team, ana, loop)[0].text == "Shipped: Retry after 5 s. I'll check back on Wed 2 Dec."
    edit({"shipped_wait.text": "workdays:5"})
    (shipment,) = shipments(team, ana)
    assert (shipment.what, shipment.checkin_on) == ("Retry after 5 s", date(2026, 12, 7))
    assert thread(team, ana, loop)[0].text == "Shipped: Retry after 5 s. I'll check back on Mon 7 Dec."
    team.tick(WEDNESDAY_DUE)
    assert checkins(team, ana, loop) == []
    team.tick(datetime(2026, 12, 7, 8, 30, tzinfo=UTC))
    assert len(checkins(team, ana, loop)) == 1


def test_the_home_tab_offers_shipped_a_fix_and_lists_waiting_check_ins(team: Bot) -> None:
    ana, loop = with_loop(team)
    team.sender.open_home(ana)
    team.settle()
    home = team.fake.home_view(ana)
    assert home is not None
    (buttons,) = [
        b["elements"] for b in home.payload["blocks"] if b.get("block_id") == f"home_loop_actions_{loop.id}"
    ]
    assert [b["text"]["text"] for b in buttons] == ["Shipped a fix", "Drop", "Open thread"]
    team.sender.click_in_view(ana, home, action_id="loop_shipped")
    team.settle()
    (modal,) = team.fake.views_of(ana)
    (select_block,) = [b for b in modal.payload["blocks"] if b.get("block_id") == "shipped_loop"]
    assert select_block["element"]["initial_option"]["value"] == str(loop.id)
    team.sender.close_view(ana, modal.id)
    ship_quick(team, ana)
    team.tick(WEDNESDAY_DUE)
    team.sender.open_home(ana)
    team.settle()
    home = team.fake.home_view(ana)
    assert home is not None and "Waiting on you" in json.dumps(home.payload["blocks"])


def summary(team: Bot, user: str) -> str:
    return json.dumps(team.command(user, "/loops")["blocks"], ensure_ascii=False)


def test_loops_says_where_each_loop_stands_and_what_changed(team: Bot) -> None:
    newcomer = team.fake.add_user(name="cy").id
    assert "No loops yet" in json.dumps(team.command(newcomer, "/loops"))
    ana, loop = with_loop(team)
    assert "_opened today_ · broken" in summary(team, ana)
    ship_quick(team, ana)
    assert "shipped · check-in on Wed 2 Dec" in summary(team, ana)
    team.tick(WEDNESDAY_DUE)
    waiting = summary(team, ana)
    assert "*waiting on you*" in waiting
    assert "outcome watched: –" in waiting, "a check-in still waiting counts neither way"
    at(team, WEDNESDAY_DUE + timedelta(days=1))
    answer_yes_and_close(team, ana, loop)
    shown = summary(team, ana)
    assert "*Open*: none." in shown
    assert "Shipped Retry the SMS provider after 10 s, OTP in 20 s." in shown
    # Opened Fri 07:00 UTC, shipped Mon 09:00 (3.08 days); answered Thu 08:30 (2.98 days later).
    assert "Problem → ship: median 3.1 days" in shown
    assert "ship → known outcome: median 3 days" in shown
    assert "outcome watched: 1 of 1 ship (100%)" in shown


def test_loops_counts_an_unwatched_ship_as_not_watched(team: Bot) -> None:
    ana, _ = with_loop(team)
    ship_quick(team, ana)
    team.tick(WEDNESDAY_DUE)
    team.tick(datetime(2026, 12, 16, 8, 30, tzinfo=UTC))
    at(team, datetime(2026, 12, 16, 9, 0, tzinfo=UTC))
    shown = summary(team, ana)
    assert "*unwatched ship*" in shown and "1 unwatched ship" in shown
    assert "outcome watched: 0 of 1 ship (0%)" in shown
    other = enrol(team, "ben", "Europe/Berlin")
    assert "No loops yet" in json.dumps(team.command(other, "/loops")), "only ever the caller's own"


def test_a_long_slack_outage_at_check_in_time_delays_the_check_in_and_never_drops_it(team: Bot) -> None:
    ana, loop = with_loop(team)
    ship_quick(team, ana)
    storm = team.fake.faults.add(method="chat.postMessage", kind="server_error", status=503)
    moment = WEDNESDAY_DUE
    for minutes in (0, 1, 2, 4, 8, 16, 32):  # six attempts with backoff: about a quarter of an hour
        moment = WEDNESDAY_DUE + timedelta(minutes=minutes)
        team.tick(moment)
    assert checkins(team, ana, loop) == []
    (delivery,) = team.deliveries(ana, "checkin")
    assert delivery.state == "pending", "a check-in has no tomorrow to come back on: it waits"
    assert delivery.ready_at > moment + timedelta(minutes=30), "and tries again in an hour"
    team.fake.faults.remove(storm)
    team.tick(moment + timedelta(hours=1, minutes=1))
    assert len(checkins(team, ana, loop)) == 1
    team.tick(datetime(2026, 12, 16, 10, 0, tzinfo=UTC))
    assert shipments(team, ana)[0].state == "unwatched", "and its give-up clock runs from then"


def test_editing_keeps_a_long_text_whole_and_counts_a_new_wait_from_the_ship(team: Bot) -> None:
    ana, _ = with_loop(team)
    at(team, MONDAY)
    long = "y" * 5000
    team.command(ana, f"/shipped #1 {long} expect: x")
    confirmation = team.fake.ephemeral_for(ana)[-1]
    at(team, MONDAY + timedelta(days=1))  # Tuesday: the edit comes a day after the ship
    team.sender.click(ana, confirmation, action_id="shipment_edit")
    team.settle()
    (modal,) = team.fake.views_of(ana)
    team.sender.submit_view(ana, modal.id, {"shipped_wait.text": "workdays:3"})
    team.settle()
    (shipment,) = shipments(team, ana)
    assert shipment.what == long, "left as the modal showed it, the whole text stays"
    assert shipment.checkin_on == date(2026, 12, 3), "three workdays from Monday's ship: Thursday"


def test_a_picked_day_off_moves_to_the_next_workday_and_says_so(team: Bot) -> None:
    ana, loop = with_loop(team)
    at(team, MONDAY)
    team.command(ana, "/shipped Retry")
    (modal,) = team.fake.views_of(ana)
    values = {
        "shipped_expected.text": "OTP fast",
        "shipped_loop.text": str(loop.id),
        "shipped_on_date.text": "2026-12-05",
    }
    team.sender.submit_view(ana, modal.id, values)
    team.settle()
    assert thread(team, ana, loop)[0].text == "Shipped: Retry. I'll check back on Mon 7 Dec."
    team.tick(datetime(2026, 12, 7, 8, 30, tzinfo=UTC))
    assert len(checkins(team, ana, loop)) == 1


def test_editing_after_the_check_in_was_asked_redraws_it_and_keeps_its_day(team: Bot) -> None:
    ana, loop = with_loop(team)
    ship_quick(team, ana)
    confirmation = team.fake.ephemeral_for(ana)[-1]
    team.tick(WEDNESDAY_DUE)
    (question,) = checkins(team, ana, loop)
    team.sender.click(ana, confirmation, action_id="shipment_edit")
    team.settle()
    (modal,) = team.fake.views_of(ana)
    blocks = json.dumps(modal.payload["blocks"])
    assert "shipped_wait" not in blocks and "asked already" in blocks
    team.sender.submit_view(ana, modal.id, {"shipped_what.text": "Retry after 5 s"})
    team.settle()
    redrawn = team.fake.message(question.channel, question.ts)
    assert "Retry after 5 s" in json.dumps(redrawn.blocks)
    assert shipments(team, ana)[0].checkin_on == date(2026, 12, 2)


def test_loops_n_tells_the_whole_story_with_a_link_to_its_thread(team: Bot) -> None:
    ana, loop = with_loop(team)
    ship_quick(team, ana)
    team.tick(WEDNESDAY_DUE)
    at(team, WEDNESDAY_DUE + timedelta(hours=1))
    (question,) = checkins(team, ana, loop)
    answer(
        team,
        ana,
        question,
        "checkin_no_change",
        {"checkin_happened.text": "Flat", "checkin_next.text": "Try B"},
    )
    story = json.dumps(team.command(ana, "/loops 1")["blocks"], ensure_ascii=False)
    order = [
        "Opened: OTP SMS arrive late",
        "Shipped: Retry",
        "Check-in answered: No change",
        "Next step: Try B",
    ]
    positions = [story.find(words) for words in order]
    assert -1 not in positions and positions == sorted(positions), story
    assert "*Fri 27 Nov* · Opened" in story and "*Wed 2 Dec* · Check-in answered" in story
    assert "Open the loop's thread>" in story and "/archives/" in story
    ben = enrol(team, "ben", "Europe/Berlin")
    theirs = json.dumps(team.command(ben, "/loops 1"))
    nothing = json.dumps(team.command(ben, "/loops 2"))
    assert "You have no Loop #1." in theirs
    assert theirs.replace("#1", "#N") == nothing.replace("#2", "#N")


def test_a_thread_note_whose_loop_root_slack_refused_ends_instead_of_waiting_forever(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    at(team, MONDAY)
    team.fake.faults.add(method="chat.postMessage", kind="error", error="invalid_blocks", times=1)
    team.command(ana, "/shipped Dark mode")
    (modal,) = team.fake.views_of(ana)
    team.sender.submit_view(ana, modal.id, {"shipped_expected.text": "Fewer complaints"})
    team.settle()
    team.tick(MONDAY + timedelta(minutes=2))
    (root,) = team.deliveries(ana, "loop_root")
    (note,) = team.deliveries(ana, "shipment")
    assert (root.state, note.state) == ("failed", "skipped"), (root.last_error, note.last_error)


def test_cant_tell_then_silence_is_an_unwatched_ship_in_loops(team: Bot) -> None:
    ana, loop = with_loop(team)
    at(team, MONDAY)
    team.command(ana, "/shipped #1 Retry v1..v2 expect: OTP in a minute")
    team.tick(WEDNESDAY_DUE)
    (question,) = checkins(team, ana, loop)
    at(team, WEDNESDAY_DUE + timedelta(hours=1))
    answer(
        team,
        ana,
        question,
        "checkin_cant_tell",
        {
            "checkin_happened.text": "Too few",
            "checkin_next.text": "Wait",
            "checkin_ask_again.text": "workdays:1",
        },
    )
    team.tick(datetime(2026, 12, 3, 8, 30, tzinfo=UTC))  # the re-ask
    at(team, datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    assert "next: Wait · *waiting on you*" in summary(team, ana)
    team.tick(datetime(2026, 12, 17, 8, 30, tzinfo=UTC))  # ten workdays after the re-ask
    at(team, datetime(2026, 12, 17, 9, 0, tzinfo=UTC))
    shown = summary(team, ana)
    assert "next: Wait · *unwatched ship*" in shown
    assert "outcome watched: 0 of 1 ship (0%)" in shown, "an earlier can't-tell does not make it watched"


def test_export_uploads_my_own_history_as_csv_and_json(team: Bot) -> None:
    ana, loop = with_loop(team)
    ben, _ = with_loop(team, "ben", "Europe/Berlin")
    at(team, MONDAY)
    team.command(ana, '/shipped #1 =HYPERLINK("http://x") fix expect: fewer tickets')
    said = json.dumps(team.command(ana, "/loops export"))
    assert "arrives in our DM" in said
    files = {f.name: f for f in team.fake.files() if f.completed}
    assert set(files) == {"loops-2026-11-30.csv", "loops-2026-11-30.json"}
    assert all(f.channels == [team.fake.dm_channel_id(ana)] for f in files.values())
    data = json.loads(files["loops-2026-11-30.json"].data or b"")
    assert data["exported_for"] == ana
    (exported,) = data["loops"]
    assert exported["what"] == "OTP SMS arrive late" and exported["state"] == "shipped"
    assert [e["kind"] for e in exported["entries"]] == ["answer", "shipped"]
    (shipment,) = exported["shipments"]
    assert shipment["checkins"][0]["due_on"] == "2026-12-02"
    rows = list(csv.DictReader(io.StringIO((files["loops-2026-11-30.csv"].data or b"").decode())))
    assert len(rows) == 1 and rows[0]["number"] == "1"
    assert rows[0]["last_shipped"].startswith("'=HYPERLINK"), "a formula is written as text"
    assert ben not in json.dumps(data), "only the caller's own history"
    assert exported["number"] == loop.number


def test_an_export_the_database_fails_while_writing_is_said_in_the_dm(team: Bot) -> None:
    ana, _ = with_loop(team)
    with team.database.engine.begin() as connection:  # reading the history fails
        connection.execute(text("ALTER TABLE entry RENAME TO moved_away"))
    try:
        said = json.dumps(team.command(ana, "/loops export"))
        team.settle()
    finally:
        with team.database.engine.begin() as connection:
            connection.execute(text("ALTER TABLE moved_away RENAME TO entry"))
    assert "arrives in our DM" in said
    assert any("export couldn't be made" in (m.text or "") for m in team.dm(ana))
    assert not [f for f in team.fake.files() if f.completed]
    again = json.dumps(team.command(ana, "/loops export"))
    assert "arrives in our DM" in again, "the claim was let go"


def exported(team: Bot, user: str) -> dict[str, list[Any]]:
    """The export files in the person's DM, by suffix, oldest first."""
    found: dict[str, list[Any]] = {".csv": [], ".json": []}
    for file in team.fake.files():
        if file.completed and file.channels == [team.fake.dm_channel_id(user)]:
            found[".csv" if file.name.endswith(".csv") else ".json"].append(file)
    return found


def test_one_export_at_a_time_and_a_long_history_comes_whole(
    team: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small batches, so a few loops cross batch boundaries as thousands would.
    monkeypatch.setattr(store_export, "LOOP_BATCH", 2)
    monkeypatch.setattr(store_export, "ENTRY_BATCH", 3)
    ana, _ = with_loop(team)
    ben, _ = with_loop(team, "ben", "Europe/Berlin")
    at(team, MONDAY)
    team.command(ana, "/shipped #1 Retry the provider expect: fewer tickets")
    with team.database.transaction() as session:
        person = session.get(Person, team.person(ana).id)
        assert person is not None
        for number in range(2, 6):
            loop = Loop(
                workspace_id=person.workspace_id, person_id=person.id, number=number, what=f"Problem {number}"
            )
            session.add(loop)
            session.flush()
            session.add_all(
                Entry(
                    loop_id=loop.id,
                    person_id=person.id,
                    kind="answer",
                    text=f"{number}.{n} " + "long " * 400,
                    created_at=MONDAY + timedelta(minutes=n),
                )
                for n in range(number)
            )

    held = team.fake.faults.add("files.getUploadURLExternal", "hold")
    try:
        assert "arrives in our DM" in team.sender.command(ana, "/loops", "export").text
        again = team.sender.command(ana, "/loops", "export")
        assert again.status == 200 and "already on its way" in again.text, again.text
        assert "arrives in our DM" in team.sender.command(ben, "/loops", "export").text, "one each"
    finally:
        held.release()
    team.settle()

    files = exported(team, ana)
    assert (len(files[".csv"]), len(files[".json"])) == (1, 1), "the second request made nothing"
    data = json.loads(files[".json"][0].data or b"")
    assert data["exported_for"] == ana and ben not in json.dumps(data)
    assert [loop["number"] for loop in data["loops"]] == [1, 2, 3, 4, 5]
    assert [e["kind"] for e in data["loops"][0]["entries"]] == ["answer", "shipped"]
    assert data["loops"][0]["shipments"][0]["what"] == "Retry the provider"
    for loop in data["loops"][1:]:
        number = loop["number"]
        assert [e["text"].split()[0] for e in loop["entries"]] == [f"{number}.{n}" for n in range(number)]
        assert all(len(e["text"]) == len(f"{number}.0 ") + 2000 for e in loop["entries"])
    rows = list(csv.DictReader(io.StringIO((files[".csv"][0].data or b"").decode())))
    assert [row["number"] for row in rows] == ["1", "2", "3", "4", "5"]
    assert rows[0]["shipments"] == "1" and rows[0]["last_shipped"] == "Retry the provider"
    assert len(exported(team, ben)[".json"]) == 1

    # Once it has come, the next one may be asked for.
    assert "arrives in our DM" in json.dumps(team.command(ana, "/loops export"))
    assert len(exported(team, ana)[".json"]) == 2
    # An export that died (a crash) holds the next one back for an hour at most.
    for died, said in (
        (MONDAY - timedelta(minutes=59), "already on its way"),
        (MONDAY - timedelta(hours=2), "arrives"),
    ):
        with team.database.transaction() as session:
            session.get_one(Person, team.person(ana).id).export_started_at = died
        assert said in json.dumps(team.command(ana, "/loops export"))
    assert len(exported(team, ana)[".json"]) == 3
