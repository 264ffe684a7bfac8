"""A burst on the embedded default: 200 people say `/loops start` at once to the real WSGI app on SQLite.

Not timed (bench/burst.py measures); this proves that nobody gets the apology and that
everybody is really enrolled when readers and writers arrive together.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from slackbot.blocks.errors import APOLOGY, DATABASE_DOWN, SLACK_DOWN
from slackbot.store.models import Person
from tests.support.bot import Bot

PEOPLE = 200


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_200_people_start_at_once_and_all_are_enrolled(bot: Bot) -> None:
    users = [bot.fake.add_user(name=f"p{i}", tz="Europe/Berlin") for i in range(PEOPLE)]
    ready = threading.Barrier(PEOPLE)

    def start(user_id: str) -> tuple[int, str]:
        ready.wait(timeout=30)
        reply = bot.sender.command(user_id, "/loops", "start")
        return reply.status, reply.text

    with ThreadPoolExecutor(max_workers=PEOPLE) as pool:
        answers = list(pool.map(start, [u.id for u in users]))
    bot.settle()
    statuses = [status for status, _ in answers]
    said = [json.loads(text)["text"] if text else "" for _, text in answers]
    assert statuses == [200] * PEOPLE
    apologies = [
        text for text in said if any(sorry in text for sorry in (APOLOGY, DATABASE_DOWN, SLACK_DOWN))
    ]
    assert apologies == []
    assert all("You're in" in text for text in said), {text for text in said if "You're in" not in text}
    with bot.database.session() as session:
        enrolled = session.scalar(select(func.count()).select_from(Person).where(Person.enrolled.is_(True)))
    assert enrolled == PEOPLE
