"""One way through every request: `/loops` acknowledged at once and answered on its response_url,
a subcommand table that knows every subcommand, and the one change hook in store."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select

from slackbot.app.listeners.commands import SUBCOMMANDS
from slackbot.core.parse import LOOPS_SUBCOMMANDS
from slackbot.store.changes import changed_people
from slackbot.store.db import Database
from slackbot.store.models import Loop, Person, Shipment
from slackbot.store.people import ensure_person, ensure_workspace
from tests.support.bot import Bot

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def test_every_subcommand_the_help_lists_has_its_handler() -> None:
    assert set(SUBCOMMANDS) == {sub.name for sub in LOOPS_SUBCOMMANDS}


def test_a_plain_loops_is_acknowledged_empty_and_answered_on_its_response_url(bot: Bot) -> None:
    ana = bot.fake.add_user(name="ana", tz="Europe/Berlin")
    for typed in ("", "open", "closed", "search checkout", "month last", "12"):
        reply = bot.sender.command(ana.id, "/loops", typed)
        assert (reply.status, reply.text) == (200, ""), typed
        bot.settle()
        (answer,) = bot.fake.response_url_posts(reply.extra["response_url"])
        assert answer["response_type"] == "ephemeral", typed
        assert answer["text"], typed


def test_a_mistake_in_a_read_is_the_acks_answer_and_nothing_follows(bot: Bot) -> None:
    ana = bot.fake.add_user(name="ana", tz="Europe/Berlin")
    reply = bot.sender.command(ana.id, "/loops", "month 2026-13")
    assert reply.status == 200
    assert "Which month?" in reply.json()["text"]
    bot.settle()
    assert bot.fake.response_url_posts(reply.extra["response_url"]) == []


def test_a_read_stores_nobody_new(bot: Bot) -> None:
    """Asking for a history one does not have writes nothing."""
    ben = bot.fake.add_user(name="ben")
    reply = bot.sender.command(ben.id, "/loops", "open")
    bot.settle()
    (answer,) = bot.fake.response_url_posts(reply.extra["response_url"])
    assert "No loops yet" in json.dumps(answer)
    with bot.database.session() as session:
        assert session.scalars(select(Person)).all() == []


def test_a_changed_shipment_moves_its_persons_figures_on_and_names_them_changed(database: Database) -> None:
    """The one after-flush hook: whose rows changed, and figures that no longer hold."""
    with database.transaction() as session:
        person = ensure_person(session, ensure_workspace(session, "T1"), "U1")
        other = ensure_person(session, ensure_workspace(session, "T1"), "U2")
        loop = Loop(
            workspace_id=person.workspace_id,
            person_id=person.id,
            number=1,
            what="x",
            state="open",
            opened_at=NOW,
        )
        session.add(loop)
        session.flush()
        before = person.figures_version
        shipment = Shipment(workspace_id=loop.workspace_id, person_id=person.id, loop_id=loop.id, what="fix")
        session.add(shipment)
        session.flush()
        assert person.figures_version == before + 1, "moved on in SQL, and read back fresh"
        shipment.watched = True
        session.flush()
        assert person.figures_version == before + 2, "two changes are two"
        assert changed_people(session) == {person.id}, "only the person whose rows changed"
        assert other.figures_version == 0
    with database.session() as session:
        stored = session.get(Person, person.id)
        assert stored is not None and stored.figures_version == before + 2
