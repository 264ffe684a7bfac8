"""`/loops open`, `closed`, `search` and `month` end to end, with More paging, on both databases.

Long histories are stored through the models (what years of use would leave); every
question and click goes over HTTP to the real app, and answers are read from the emulator.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from slackbot.fakeslack.state import Message
from slackbot.store.figures import store_figures
from slackbot.store.loops import add_entry
from slackbot.store.models import Loop, Person, PersonFigures
from tests.support.bot import Bot, BotFactory
from tests.support.history import NOW, history
from tests.support.story import (
    FRIDAY,
    MONDAY,
    WEDNESDAY_DUE,
    answer_yes_and_close,
    at,
    enrol,
    ship_quick,
    with_loop,
)
from tests.support.waiting import until


@pytest.fixture
def team(make_bot: BotFactory) -> Bot:
    bot = make_bot()
    bot.services.clock = lambda: FRIDAY
    return bot


def add_story(team: Bot, person_id: int, loop_id: int, text: str) -> None:
    """One more entry, stored the way the app stores every entry (with its words)."""
    with team.database.session() as session:
        loop = session.get(Loop, loop_id)
        assert loop is not None and loop.person_id == person_id
        add_entry(session, loop, "reply", text, slack_ts="t:1", at=datetime.now(UTC))
        session.commit()


def ephemeral(team: Bot, user: str) -> Message:
    return team.fake.ephemeral_for(user)[-1]


def text_of(message: dict[str, Any] | Message) -> str:
    blocks = message.blocks if isinstance(message, Message) else message["blocks"]
    return json.dumps(blocks, ensure_ascii=False)


def numbers_in(message: dict[str, Any] | Message) -> list[int]:
    """The loop numbers a list shows, in order."""
    blocks = message.blocks if isinstance(message, Message) else message["blocks"]
    found = []
    for block in blocks or []:
        text = (block.get("text") or {}).get("text", "")
        if text.startswith("• *Loop #"):
            found.append(int(text.split("#", 1)[1].split(":", 1)[0]))
    return found


def all_pages(team: Bot, user: str, typed: str) -> tuple[list[int], list[dict[str, Any] | Message]]:
    """Ask, then press More until it is gone; every page must fit Slack's limits."""
    first = team.command(user, typed)
    pages: list[dict[str, Any] | Message] = [first]
    shown = numbers_in(first)
    message = ephemeral(team, user)
    while "history_more" in text_of(message):
        reply = team.sender.click(user, message, action_id="history_more")
        assert reply.status == 200
        team.settle()
        message = ephemeral(team, user)  # replaced in place
        pages.append(message)
        shown += numbers_in(message)
        assert len(pages) < 50, "More must end"
    for page in pages:
        blocks = page.blocks if isinstance(page, Message) else page["blocks"]
        assert blocks is not None and len(blocks) <= 50
        assert all(len((b.get("text") or {}).get("text", "")) <= 3000 for b in blocks)
    return shown, pages


def test_open_and_closed_list_every_loop_once_a_page_at_a_time(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    history(team, ana, 70)
    at(team, NOW)
    opened, pages = all_pages(team, ana, "/loops open")
    assert opened == list(range(69, 0, -2)), "every open loop, newest first, each once"
    assert len(pages) == 3
    assert "Open loops (1–15 of 35)" in text_of(pages[0]) and "Open loops (31–35 of 35)" in text_of(pages[2])
    closed, _ = all_pages(team, ana, "/loops closed")
    assert closed == list(range(70, 0, -2))
    assert "Shipped fix 70, it got better 70." in text_of(team.command(ana, "/loops closed"))


def test_more_pages_only_the_clickers_own_loops(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    ben = enrol(team, "ben", "Europe/Berlin")
    history(team, ana, 40, closed_every=1000, owner="ana")
    history(team, ben, 20, closed_every=1000, owner="ben")
    at(team, NOW)
    team.command(ben, "/loops open")
    page = ephemeral(team, ben)
    # ben forges his More button to go on from number 1,000,000 of a search: he still
    # gets only his own loops (a button's value is his to craft, never the scope).
    for block in page.blocks or []:
        for element in block.get("elements", []):
            if element.get("action_id") == "history_more":
                element["value"] = json.dumps({"text": "search problem", "before": 10**6, "shown": 0})
    team.sender.click(ben, page, action_id="history_more")
    team.settle()
    shown = ephemeral(team, ben)
    assert numbers_in(shown)[:3] == [20, 19, 18]
    assert "ana problem" not in text_of(shown) and "ben problem" in text_of(shown)
    for value in ("{}", "not json", json.dumps({"text": "settings", "before": 1, "shown": 0})):
        for block in shown.blocks or []:
            for element in block.get("elements", []):
                if element.get("action_id") == "history_more":
                    element["value"] = value
        reply = team.sender.click(ben, shown, action_id="history_more")
        assert reply.status == 200
        team.settle()
        assert "That list has changed" in json.dumps(team.fake.ephemeral_for(ben)[-1].text)


def test_search_finds_words_anywhere_as_plain_text(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    ben = enrol(team, "ben", "Europe/Berlin")
    history(team, ana, 40, word="Checkout_100%")
    history(team, ben, 40, word="checkout")
    at(team, NOW)
    found, _ = all_pages(team, ana, "/loops search CHECKOUT_100%")
    assert found == [35, 28, 21, 14, 7]
    # A word matches the start of a word, in any case: `check` finds checkout, `100%` finds 100.
    assert numbers_in(team.command(ana, "/loops search check")) == [35, 28, 21, 14, 7]
    assert numbers_in(team.command(ana, "/loops search 100%")) == [35, 28, 21, 14, 7]
    # `%`, `_`, quotes and SQL are not words: never wildcards, never code.
    assert "What should I look for?" in text_of(team.command(ana, "/loops search _ %"))
    assert "None of your loops mention" in text_of(team.command(ana, "/loops search ' OR 1=1 --"))
    assert numbers_in(team.command(ana, "/loops search heckout")) == [], "the start of a word, not its middle"
    # Words in a loop's story count, not only its title; all words must be there.
    with team.database.session() as session:
        third = session.query(Loop).filter_by(person_id=team.person(ana).id, number=3).one()
        person_id, loop_id = third.person_id, third.id
    at(team, NOW)
    add_story(team, person_id, loop_id, "Tried the BACKUP provider")
    assert numbers_in(team.command(ana, "/loops search backup problem")) == [3]
    assert numbers_in(team.command(ana, "/loops search backup people 12")) == []
    assert numbers_in(team.command(ana, "/loops search problem people 12")) == [12]
    shown = text_of(team.command(ana, "/loops search <!channel> *bold*"))
    assert "&lt;!channel&gt;" in shown and "<!channel>" not in shown
    assert "What should I look for?" in text_of(team.command(ana, "/loops search"))


def test_month_shows_what_shipped_and_what_changed(team: Bot) -> None:
    ana, loop = with_loop(team)
    ship_quick(team, ana)
    team.tick(WEDNESDAY_DUE)
    at(team, WEDNESDAY_DUE + timedelta(hours=1))
    answer_yes_and_close(team, ana, loop)
    november = text_of(team.command(ana, "/loops month 2026-11"))
    assert "November 2026" in november
    assert "You shipped *1* thing, opened 1 loop and closed 0." in november
    assert "I shipped Retry the SMS provider after 10 s, OTP in 20 s. Loop closed." in november
    assert "closed 1." in text_of(team.command(ana, "/loops month"))  # December: closed on the 2nd
    assert "Nothing shipped that month" in text_of(team.command(ana, "/loops month october"))
    assert "Which month?" in text_of(team.command(ana, "/loops month 2026-13"))
    assert "Which month?" in text_of(team.command(ana, "/loops month someday"))


def test_someone_new_gets_how_to_start_and_a_mistake_its_own_answer(team: Bot) -> None:
    newcomer = team.fake.add_user(name="cy").id
    at(team, MONDAY)
    assert "No loops yet" in text_of(team.command(newcomer, "/loops open"))
    assert "Which month?" in text_of(team.command(newcomer, "/loops month never"))
    with team.database.session() as session:
        assert session.query(Person).count() == 0, "asking stores nobody"


def test_the_clock_keeps_todays_figures_and_a_change_makes_them_worked_out_again(team: Bot) -> None:
    ana, loop = with_loop(team)
    ship_quick(team, ana)
    team.tick(WEDNESDAY_DUE)  # the check-in is asked; the clock works out ana's figures

    def stored() -> tuple[int | None, int]:
        with team.database.session() as session:
            person = session.get(Person, team.person(ana).id)
            assert person is not None
            kept = session.get(PersonFigures, person.id)
            return (kept.version if kept else None), person.figures_version

    kept, current = stored()
    assert kept == current, "kept for the version the ships are at"
    at(team, WEDNESDAY_DUE + timedelta(hours=1))
    answer_yes_and_close(team, ana, loop)
    kept, current = stored()
    assert kept is not None and kept < current, "the answer moved the ships on"
    assert "outcome watched: 1 of 1 ship (100%)" in text_of(team.command(ana, "/loops")), "worked out again"
    team.tick(WEDNESDAY_DUE + timedelta(hours=2))
    kept, current = stored()
    assert kept == current
    assert "outcome watched: 1 of 1 ship (100%)" in text_of(team.command(ana, "/loops"))


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_clock_processes_working_out_one_persons_figures_at_once_both_finish(team: Bot) -> None:
    """PostgreSQL lets two ticks both find ana's figures missing: the second waits for the
    first's row and writes over it, rather than failing its tick on the primary key."""
    ana, _ = with_loop(team)
    ship_quick(team, ana)
    errors: list[BaseException] = []

    def second_tick() -> None:
        try:
            with team.database.transaction() as session:
                store_figures(session, WEDNESDAY_DUE, 10)
        except BaseException as error:  # asserted below, in the test's thread
            errors.append(error)

    def waiting_on_a_lock() -> bool:
        with team.database.engine.connect() as connection:
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar()
        return bool(waiting)

    second = threading.Thread(target=second_tick)
    with team.database.transaction() as first:
        assert store_figures(first, WEDNESDAY_DUE, 10) == 1
        first.flush()  # the row is written now, before the second looks (as an ORM add would not be)
        second.start()
        until(waiting_on_a_lock)
    second.join(timeout=30)
    assert not second.is_alive() and errors == []
    with team.database.session() as session:
        person = session.get(Person, team.person(ana).id)
        kept = session.get(PersonFigures, team.person(ana).id)
        assert person is not None and kept is not None and kept.version == person.figures_version
