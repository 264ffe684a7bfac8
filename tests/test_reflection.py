"""The monthly reflection end to end: once a month, at prompt time, through the outbox."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from slackbot.core.reflection import REFLECTION_DAYS, reflection_month
from slackbot.fakeslack.state import Message
from slackbot.store.models import Delivery, Reflection
from tests.support.bot import Bot, BotFactory
from tests.support.processes import tick_process
from tests.support.story import FRIDAY, at, checkins, enrol, ship_quick, with_loop

TUESDAY_1ST = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)  # 09:30 in Berlin: December's first workday


@pytest.fixture
def team(make_bot: BotFactory) -> Bot:
    bot = make_bot()
    bot.services.clock = lambda: FRIDAY
    return bot


def reflections(team: Bot, user: str) -> list[Message]:
    return [m for m in team.dm(user) if (m.text or "").startswith(("Last month", "Nothing shipped"))]


@given(st.dates(min_value=date(1971, 1, 1), max_value=date(9998, 12, 31)))
def test_a_prompt_in_a_months_first_week_looks_back_on_the_month_before(day: date) -> None:
    looked = reflection_month(day)
    if day.day > REFLECTION_DAYS:
        assert looked is None
        return
    assert looked is not None
    year, month = (int(part) for part in looked.split("-"))
    before = day.replace(day=1) - timedelta(days=1)
    assert (year, month) == (before.year, before.month)


def test_the_first_workday_brings_last_months_ships_once(team: Bot) -> None:
    ana, loop = with_loop(team)
    ship_quick(team, ana)  # Monday 30 November; the check-in is due Wednesday
    team.tick(TUESDAY_1ST)
    team.tick(TUESDAY_1ST + timedelta(minutes=1))
    team.tick(TUESDAY_1ST + timedelta(days=1))  # the second workday: no second reflection
    (message,) = reflections(team, ana)
    blocks = json.dumps(message.blocks, ensure_ascii=False)
    assert "Last month you shipped 1 thing." in blocks
    assert "*Loop #1*: I shipped Retry the SMS provider after 10 s; check-in on Wed 2 Dec." in blocks
    assert "What's one thing that changed because of something you shipped?" in blocks
    # Check it now: the check-in form with the answer chosen inside; saving answers the check-in.
    at(team, TUESDAY_1ST + timedelta(days=1, hours=1))
    team.sender.click(ana, message, action_id="checkin_now")
    team.settle()
    (modal,) = team.fake.views_of(ana)
    assert modal.payload["title"]["text"] == "Check it now"
    team.sender.submit_view(
        ana,
        modal.id,
        {
            "checkin_which.text": "changed",
            "checkin_happened.text": "OTP in 20 s",
            "checkin_closed.text": ["close"],
        },
    )
    team.settle()
    assert team.loops(ana)[0].state == "closed"
    assert len(checkins(team, ana, loop)) <= 1, "the check-in asked on Wednesday is not asked again"
    # The question: answered in a form, kept, shown in /loops month, and the DM says so.
    team.sender.click(ana, message, action_id="reflection_answer")
    team.settle()
    form = team.fake.views_of(ana)[-1]
    assert form.payload["callback_id"] == "reflection"
    answer = {"reflection_changed.text": "Sign-ups in India stopped failing <!channel>"}
    team.sender.submit_view(ana, form.id, answer)
    team.sender.resend_last_interaction()  # Slack retried: kept once
    team.settle()
    with team.database.session() as session:
        kept = session.scalars(select(Reflection)).all()
        assert [(r.month, r.text) for r in kept] == [
            ("2026-11", "Sign-ups in India stopped failing <!channel>")
        ]
    november = json.dumps(team.command(ana, "/loops month 2026-11"), ensure_ascii=False)
    assert "Sign-ups in India stopped failing &lt;!channel&gt;" in november
    (redrawn,) = reflections(team, ana)
    assert "reflection_answer" not in json.dumps(redrawn.blocks) and "Kept." in json.dumps(redrawn.blocks)
    # Her data, to take with her: the reflection is in the export too.
    team.command(ana, "/loops export")
    (exported,) = [f for f in team.fake.files() if f.completed and f.name.endswith(".json")]
    data = json.loads(exported.data or b"")
    kept_text = "Sign-ups in India stopped failing <!channel>"
    assert [(r["month"], r["what_changed"]) for r in data["reflections"]] == [("2026-11", kept_text)]


def test_nothing_shipped_gets_a_short_note_and_a_stopped_person_nothing(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    ben = enrol(team, "ben", "Europe/Berlin")
    team.command(ben, "/loops stop")
    team.tick(TUESDAY_1ST)
    (note,) = reflections(team, ana)
    assert (note.text or "").startswith("Nothing shipped in November that Loops knows of.")
    assert "checkin_now" not in json.dumps(note.blocks)
    assert reflections(team, ben) == []


def test_someone_elses_reflection_cannot_be_answered(team: Bot) -> None:
    ana, _ = with_loop(team)
    ben = team.fake.add_user(name="ben", tz="Europe/Berlin").id  # never asked for a reflection
    ship_quick(team, ana)
    team.tick(TUESDAY_1ST)
    (message,) = reflections(team, ana)
    # ben presses the button on ana's reflection (a crafted click): a month he was never asked about.
    reply = team.sender.click(ben, message, action_id="reflection_answer")
    assert reply.status == 200
    team.settle()
    assert team.fake.views_of(ben) == []
    assert "I couldn't find that" in (team.fake.ephemeral_for(ben)[-1].text or "")
    with team.database.session() as session:
        assert session.scalars(select(Reflection)).all() == []


def test_two_tick_processes_send_one_reflection(team: Bot, tmp_path: Path) -> None:
    users = [enrol(team, f"p{n}", "Europe/Berlin") for n in range(6)]
    hold = team.fake.faults.add(method="chat.postMessage", kind="hold")
    ticks = [tick_process(team, TUESDAY_1ST + timedelta(seconds=n), tmp_path) for n in range(2)]
    try:
        team.fake.wait_for(lambda fake: len(fake.calls()) >= 1, timeout=120)
    finally:
        hold.release()
    outputs = [t.communicate(timeout=180)[0].decode() for t in ticks]
    assert [t.returncode for t in ticks] == [0, 0], outputs
    again = tick_process(team, TUESDAY_1ST + timedelta(hours=2), tmp_path)
    assert again.communicate(timeout=180) and again.returncode == 0
    assert [len(reflections(team, user)) for user in users] == [1] * len(users)
    with team.database.session() as session:
        rows = session.scalars(select(Delivery).where(Delivery.kind == "reflection")).all()
        assert sorted((r.key, r.state) for r in rows) == [("2026-11", "sent")] * len(users)
