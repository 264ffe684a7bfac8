"""A person's days, loops and shipments, driven through the real app.

The fixed days the stories happen on; enrolling and the one morning prompt; a loop opened by
answering in the prompt's thread; a fix shipped with `/shipped`, its check-in found in the
loop's thread and answered. The app's clock is set with `at`; ticks run as `slackbot tick --at`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from slackbot.fakeslack.state import Message, View
from slackbot.store.models import Loop, Shipment
from tests.support.bot import Bot

# Friday 27 November 2026, 07:00 UTC: 08:00 in Berlin, 02:00 in New York.
FRIDAY = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
WEDNESDAY_DUE = datetime(2026, 12, 2, 8, 30, tzinfo=UTC)  # 09:30 in Berlin: two workdays later


def enrol(bot: Bot, name: str, tz: str) -> str:
    user = bot.fake.add_user(name=name, tz=tz)
    said = json.dumps(bot.command(user.id, "/loops start"))
    assert "You're in" in said
    return user.id


def only_prompt(bot: Bot, user_id: str) -> Message:
    prompts = bot.prompts(user_id)
    assert len(prompts) == 1, [p.text for p in prompts]
    return prompts[0]


def at(bot: Bot, moment: datetime) -> None:
    bot.services.clock = lambda: moment


def with_loop(team: Bot, name: str = "ana", tz: str = "Europe/Berlin") -> tuple[str, Loop]:
    """A person prompted on Friday 27 November who answered in the thread: Loop #1."""
    user = enrol(team, name, tz)
    team.tick(datetime(2026, 11, 27, 8, 30, tzinfo=UTC))
    prompt = only_prompt(team, user)
    team.sender.user_message(user, "OTP SMS arrive late\nfor: new sign-ups in India", thread_ts=prompt.ts)
    team.settle()
    (loop,) = team.loops(user)
    assert loop.thread_ts is not None
    return user, loop


def thread(team: Bot, user: str, loop: Loop) -> list[Message]:
    """The loop's thread after its root message, oldest first."""
    assert loop.thread_ts is not None
    return [m for m in team.dm(user, thread_ts=loop.thread_ts) if m.ts != loop.thread_ts]


def checkins(team: Bot, user: str, loop: Loop) -> list[Message]:
    return [
        m for m in thread(team, user, loop) if m.metadata and (m.text or "").startswith(("Check", "Checking"))
    ]


def shipments(team: Bot, user: str) -> list[Shipment]:
    with team.database.session() as session:
        person = team.person(user)
        return list(
            session.scalars(select(Shipment).where(Shipment.person_id == person.id).order_by(Shipment.id))
        )


def ship_quick(team: Bot, user: str, number: int = 1) -> dict[str, Any]:
    at(team, MONDAY)
    return team.command(
        user, f"/shipped #{number} Retry the SMS provider after 10 s expect: OTP arrives within a minute"
    )


def answer(
    team: Bot, user: str, message: Message, action_id: str, values: dict[str, Any]
) -> tuple[View, int]:
    """Press an answer button, fill in the form that opens, submit it."""
    reply = team.sender.click(user, message, action_id=action_id)
    assert reply.status == 200
    team.settle()
    modal = team.fake.views_of(user)[-1]
    assert modal.payload["callback_id"] == "checkin_answer"
    submitted = team.sender.submit_view(user, modal.id, values)
    team.settle()
    return modal, submitted.status


def answer_yes_and_close(team: Bot, user: str, loop: Loop, happened: str = "OTP in 20 s") -> None:
    """The loop's one check-in, answered *Yes, it changed* with the loop closed."""
    (question,) = checkins(team, user, loop)
    values = {"checkin_happened.text": happened, "checkin_closed.text": ["close"]}
    answer(team, user, question, "checkin_changed", values)
